/**
 * The addresses known good outlive a restart: the real gateway on 127.0.0.1, stopped and
 * started again on the same SQLite file with the clock moved on; and the saver on its own,
 * on a real SQLite file, for when it writes and what it does when the database is busy.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthFailures, type AuthFailures, type AuthRealm } from '../src/auth-failures.ts';
import { loadKnownGood, startKnownGoodSaver } from '../src/auth-known-good.ts';
import { parseConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { createMetrics } from '../src/metrics.ts';
import { startGateway, type Gateway } from '../src/server.ts';
import { envelope, sessionEvent } from './helpers/caliper-events.ts';
import { makeTempDir } from './helpers/identity-harness.ts';
import { tempStore } from './helpers/temp-store.ts';
import { waitFor } from './helpers/wait-for.ts';

const KEY = 'known-good-key-51e0aa';
const ADMIN_TOKEN = 'known-good-admin-token-3f9c';
const LIMIT = 3;
const HOUR = 3_600_000;
const START = Date.UTC(2026, 5, 1, 8, 0, 0);

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('across a restart of the gateway', () => {
  let clock = START;
  let gateway: Gateway | undefined;
  let lines: Array<Record<string, unknown>> = [];

  async function start(dbPath: string) {
    lines = [];
    const log = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const config = parseConfig({
      DB_PATH: dbPath,
      HOST: '127.0.0.1',
      PORT: '0',
      INGEST_API_KEYS: KEY,
      ADMIN_TOKEN,
      TIMEBACK_BASE_URL: 'http://127.0.0.1:9',
      AUTH_FAILURE_LIMIT: String(LIMIT),
      // The peer is 127.0.0.1: X-Forwarded-For names the client, so one test has many.
      TRUSTED_PROXIES: '127.0.0.1',
    });
    gateway = await startGateway(config, { log, now: () => clock });
  }

  async function stop() {
    await gateway?.close();
    gateway = undefined;
  }

  function databaseFile() {
    const { dir, remove } = makeTempDir('known-good');
    cleanups.push(remove, stop);
    return join(dir, 'gateway.db');
  }

  let sent = 0;
  async function post(from: string, authorization: string) {
    sent += 1;
    const response = await fetch(`${gateway!.url}/caliper`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json', 'x-forwarded-for': from },
      body: JSON.stringify(envelope([sessionEvent({ id: `known-good-event-${sent}` })])),
    });
    await response.body?.cancel();
    return response.status;
  }

  async function admin(from: string, authorization: string) {
    const response = await fetch(`${gateway!.url}/admin/events`, { headers: { authorization, 'x-forwarded-for': from } });
    await response.body?.cancel();
    return response.status;
  }

  /** LIMIT + 1 wrong keys, then the right one: what each got. */
  async function guessesThenRightKey(from: string, send: (from: string, authorization: string) => Promise<number>, right: string) {
    const statuses: number[] = [];
    for (let i = 0; i <= LIMIT; i++) statuses.push(await send(from, `Bearer wrong-${i}`));
    statuses.push(await send(from, `Bearer ${right}`));
    return statuses;
  }
  const exempt = [...Array(LIMIT).fill(401), 429, 200];
  const lockedOut = [...Array(LIMIT).fill(401), 429, 429];

  it('an address that sent a right key within the day is still checked, not refused unheard; one from longer ago is not', async () => {
    const file = databaseFile();
    clock = START;
    await start(file);
    expect(await post('192.0.2.10', KEY)).toBe(200);
    clock = START + 5 * HOUR;
    expect(await post('192.0.2.20', KEY)).toBe(200);
    expect(await admin('192.0.2.30', `Bearer ${ADMIN_TOKEN}`)).toBe(200);
    await stop();

    // 192.0.2.10's right key is now 25 hours old, 192.0.2.20's and the admin's 20.
    clock = START + 25 * HOUR;
    await start(file);
    expect(await guessesThenRightKey('192.0.2.20', post, KEY)).toEqual(exempt);
    expect(await guessesThenRightKey('192.0.2.10', post, KEY)).toEqual(lockedOut);
    expect(await guessesThenRightKey('192.0.2.30', admin, ADMIN_TOKEN)).toEqual(exempt);
    // Known good for admin, not for ingest: the realms are kept apart.
    expect(await guessesThenRightKey('192.0.2.30', post, KEY)).toEqual(lockedOut);
    expect(lines.filter((line) => line.level === 'warn' && String(line.msg).includes('could not'))).toEqual([]);
  });

  it('a first start knows no address, and an address known only before the last day is a stranger after a second restart', async () => {
    const file = databaseFile();
    clock = START;
    await start(file);
    expect(await guessesThenRightKey('198.51.100.7', post, KEY)).toEqual(lockedOut);
    clock += HOUR;
    expect(await post('198.51.100.7', KEY)).toBe(200);
    await stop();

    clock += 12 * HOUR;
    await start(file);
    await stop();
    clock += 12 * HOUR;
    await start(file);
    expect(await guessesThenRightKey('198.51.100.7', post, KEY)).toEqual(lockedOut);
  });

  it('a saved list that cannot be read is logged, and the gateway starts knowing no address', async () => {
    const file = databaseFile();
    clock = START;
    await start(file);
    expect(await post('192.0.2.10', KEY)).toBe(200);
    await stop();
    const damage = new Database(file);
    expect(damage.prepare("UPDATE meta SET value = '{not json' WHERE key = 'auth-known-good-ingest'").run().changes).toBe(1);
    damage.close();
    await start(file);
    expect(lines.find((line) => line.level === 'warn' && line.realm === 'ingest')).toMatchObject({
      msg: 'could not read the addresses that sent a right key before the restart; every address starts a stranger',
    });
    expect(await guessesThenRightKey('192.0.2.10', post, KEY)).toEqual(lockedOut);
  });
});

describe('the saver', () => {
  let clock = START;
  let lines: Array<Record<string, unknown>> = [];
  const log = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });

  function limiter(realm: AuthRealm, knownGood?: Array<[string, number]>, maxKnownGood?: number) {
    return createAuthFailures({
      realm,
      limit: 2,
      windowMs: 60_000,
      now: () => clock,
      log,
      refusals: createMetrics().authRefusals,
      knownGood,
      maxKnownGood,
    });
  }

  function setUp(limiters: AuthFailures[], intervalMs = 3_600_000) {
    clock = START;
    lines = [];
    const temp = tempStore('known-good-saver-');
    const saver = startKnownGoodSaver({ store: temp.store, limiters, log, now: () => clock, intervalMs });
    cleanups.push(temp.cleanup, async () => void (await saver.stop()));
    const row = (realm: AuthRealm) =>
      temp.store.sqlite.prepare<[string], { value: string; updatedAt: number }>('SELECT value, updated_at AS updatedAt FROM meta WHERE key = ?').get(`auth-known-good-${realm}`);
    return { ...temp, saver, row };
  }

  it('writes only when an address is added or its last right key moves on by a step, not for every right key', () => {
    const ingest = limiter('ingest');
    const { saver, row, store } = setUp([ingest]);
    expect(saver.save()).toBe(true);
    expect(row('ingest')).toBeUndefined();

    ingest.check('192.0.2.1', () => true);
    saver.save();
    expect(JSON.parse(row('ingest')!.value)).toEqual([['192.0.2.1', START]]);

    for (let i = 1; i <= 50; i++) {
      clock = START + i * 1000;
      ingest.check('192.0.2.1', () => true);
      ingest.check('198.51.100.1', () => false);
    }
    clock += 1;
    saver.save();
    expect(row('ingest')!.updatedAt).toBe(START);

    clock = START + 10 * 60_000;
    ingest.check('192.0.2.1', () => true);
    ingest.check('192.0.2.2', () => true);
    saver.save();
    expect(row('ingest')).toEqual({ value: JSON.stringify([['192.0.2.1', clock], ['192.0.2.2', clock]]), updatedAt: clock });
    expect(loadKnownGood(store, 'ingest', log)).toEqual([['192.0.2.1', clock], ['192.0.2.2', clock]]);
  });

  it('saves on its timer, and at stop', async () => {
    const ingest = limiter('ingest');
    const admin = limiter('admin');
    const { saver, row } = setUp([ingest, admin], 20);
    ingest.check('192.0.2.1', () => true);
    await waitFor('the timed save', () => row('ingest'));
    expect(row('admin')).toBeUndefined();

    admin.check('192.0.2.9', () => true);
    expect(await saver.stop()).toBe(true);
    expect(JSON.parse(row('admin')!.value)).toEqual([['192.0.2.9', START]]);
  });

  it('when the database is busy, logs it, keeps the addresses and saves them at the next try', () => {
    const ingest = limiter('ingest');
    const { saver, row, file } = setUp([ingest]);
    ingest.check('192.0.2.1', () => true);

    // Another connection holds the write lock, as a command writing beside the gateway would.
    const other = new Database(file);
    cleanups.push(() => void other.close());
    other.exec('BEGIN IMMEDIATE');
    expect(saver.save({ lockWaitMs: 10 })).toBe(false);
    expect(lines.find((line) => line.level === 'warn')).toMatchObject({
      realm: 'ingest',
      msg: 'could not save the addresses that sent a right key: the database is busy; trying again later',
      err: { code: 'SQLITE_BUSY' },
    });
    other.exec('COMMIT');

    expect(row('ingest')).toBeUndefined();
    expect(saver.save({ lockWaitMs: 10 })).toBe(true);
    expect(JSON.parse(row('ingest')!.value)).toEqual([['192.0.2.1', START]]);
  });

  it('at stop, while another connection keeps the write lock, gives up after a bounded wait with the event loop free, and says so', async () => {
    const ingest = limiter('ingest');
    const { saver, row, file } = setUp([ingest]);
    ingest.check('192.0.2.1', () => true);
    expect(saver.save()).toBe(true);
    ingest.check('192.0.2.2', () => true);

    // Held for the whole stop, as a writer that never lets go would: the save cannot land.
    const other = new Database(file);
    cleanups.push(() => void other.close());
    other.exec('BEGIN IMMEDIATE');
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 1);
    const stopped = await saver.stop();
    clearInterval(ticker);

    expect(stopped).toBe(false);
    // The delivery workers still stopping beside it had the event loop meanwhile.
    expect(ticks).toBeGreaterThan(0);
    expect(lines.filter((line) => line.level === 'warn')).toEqual([
      expect.objectContaining({
        realm: 'ingest',
        msg: 'could not save the addresses that sent a right key before stopping: the database is busy; those since the last save are forgotten',
        err: expect.objectContaining({ code: 'SQLITE_BUSY' }),
      }),
    ]);
    other.exec('ROLLBACK');
    // What the last timed save wrote is still there.
    expect(JSON.parse(row('ingest')!.value)).toEqual([['192.0.2.1', START]]);
  });

  it('restores the newest addresses up to the bound, none older than a day, none dated after now', () => {
    clock = START;
    const saved: Array<[string, number]> = [
      ['192.0.2.1', START - 25 * HOUR],
      ['192.0.2.2', START - 3 * HOUR],
      ['192.0.2.3', START - 2 * HOUR],
      ['192.0.2.4', START - 1 * HOUR],
      ['192.0.2.5', START + 5 * HOUR],
    ];
    const restored = limiter('ingest', saved, 3);
    expect(restored.sizes.knownGood).toBe(3);
    expect(restored.knownGoodEntries()).toEqual([
      ['192.0.2.3', START - 2 * HOUR],
      ['192.0.2.4', START - 1 * HOUR],
      ['192.0.2.5', START],
    ]);
    expect(restored.knownGoodVersion).toBe(0);
    // 192.0.2.2 was dropped for the bound: a stranger, refused unheard at its limit.
    restored.check('192.0.2.2', () => false);
    restored.check('192.0.2.2', () => false);
    expect(restored.check('192.0.2.2', () => true)).toMatchObject({ outcome: 'limited' });
    restored.check('192.0.2.3', () => false);
    restored.check('192.0.2.3', () => false);
    expect(restored.check('192.0.2.3', () => true)).toEqual({ outcome: 'accepted' });
  });
});
