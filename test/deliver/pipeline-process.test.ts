/**
 * The whole pipeline in the real gateway process: Learn envelopes through POST /caliper,
 * identity from the emulator's roster, the shipped mapping rules, delivery to the emulator.
 * What delivery promises Learn's admins end to end: every accepted event reaches TimeBack
 * across a kill -9, and a refused event is parked with TimeBack's answer until a replay.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTimebackEmulator, type TimebackEmulator } from '../../src/dev/timeback-emulator.ts';
import { createInputReader } from '../../src/store/input-batches.ts';
import { envelope, sessionEvent } from '../helpers/caliper-events.ts';
import { BIN, killGatewayProcesses, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { makeTempDir, type TempDir } from '../helpers/identity-harness.ts';
import { fateCounts, TEST_APP_ID } from '../helpers/translated-events.ts';
import { waitFor } from '../helpers/wait-for.ts';

const INGEST_KEY = 'ingest-key-for-pipeline-tests';
const ADMIN_TOKEN = 'admin-token-for-pipeline-tests-0123';
const STUDENTS = [
  { externalId: 'jdoe01', platformId: '6e1c0f4a-2b7d-4c58-9a3e-1f0b2c3d4e5f' },
  { externalId: 'asmith02', platformId: '7f2d1a5b-3c8e-4d69-8b4f-2a1c3d4e5f60' },
  { externalId: 'rlopez03', platformId: '8a3e2b6c-4d9f-4e7a-9c5a-3b2d4e5f6071' },
];

let emulator: TimebackEmulator;
let temp: TempDir;
let db: Database.Database | undefined;

beforeEach(async () => {
  emulator = await startTimebackEmulator({
    users: STUDENTS.map((student) => ({ sourcedId: student.platformId, identifier: student.externalId })),
  });
  temp = makeTempDir('pipeline-process');
});

afterEach(async () => {
  await killGatewayProcesses();
  db?.close();
  db = undefined;
  await emulator.close();
  temp.remove();
});

function gateway(env: Record<string, string> = {}): Promise<GatewayProcess> {
  return startGatewayProcess({
    DB_PATH: `${temp.dir}/gateway.db`,
    INGEST_API_KEYS: INGEST_KEY,
    ADMIN_TOKEN,
    TIMEBACK_BASE_URL: emulator.url,
    TIMEBACK_CLIENT_ID: emulator.clientId,
    TIMEBACK_CLIENT_SECRET: emulator.clientSecret,
    TIMEBACK_APP_ID: TEST_APP_ID,
    ROSTER_MATCH: 'identifier',
    DELIVERY_CONCURRENCY: '8',
    DELIVERY_TIMEOUT: '1',
    DELIVERY_BACKOFF_CAP: '1',
    ...env,
  });
}

function database(): Database.Database {
  db ??= new Database(`${temp.dir}/gateway.db`);
  db.pragma('busy_timeout = 5000');
  return db;
}

async function sendEnvelope(gw: GatewayProcess, events: unknown[]): Promise<void> {
  const response = await fetch(`${gw.url}/caliper`, {
    method: 'POST',
    headers: { authorization: `Bearer ${INGEST_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(envelope(events)),
  });
  expect(response.status, await response.text()).toBe(200);
}

/** `perStudent` login events for each student, each with its own id and time. */
function logins(perStudent: number): unknown[] {
  return STUDENTS.flatMap((student, s) =>
    Array.from({ length: perStudent }, (_, i) =>
      sessionEvent({ eventTime: new Date(Date.UTC(2026, 10, 2, 9, s, i)).toISOString() }, student.externalId),
    ),
  );
}

const delivered = () => fateCounts(database()).delivered ?? 0;
const receivedIds = () => emulator.received.map((event) => (event as { id: string }).id);

describe('the pipeline in the gateway process', () => {
  it('delivers every event Learn was told was accepted, across a kill -9 mid-delivery', { timeout: 90_000 }, async () => {
    emulator.latencyMs = 100;
    const first = await gateway();
    for (let i = 0; i < 3; i += 1) await sendEnvelope(first, logins(20));
    await waitFor('delivery under way', () => delivered() >= 10, 30_000);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(fateCounts(database()).pending).toBeGreaterThan(0);

    await gateway();
    await waitFor('all delivered after restart', () => delivered() === 180, 40_000);
    const outputIds = (database().prepare('SELECT output_id AS id FROM events').all() as Array<{ id: string }>).map((r) => r.id);
    expect(new Set(receivedIds())).toEqual(new Set(outputIds));
    const actors = new Set(emulator.received.map((event) => (event as { actor: unknown }).actor));
    expect(actors).toEqual(new Set(STUDENTS.map((student) => `urn:uuid:${student.platformId}`)));
  });

  it('translates and delivers every acknowledged event of 25- and 1,000-event envelopes across a kill -9 during intake', { timeout: 120_000 }, async () => {
    const first = await gateway();
    // 3 envelopes of 1,000 events (4 input batches each) among 12 of 25, 4 in flight at a time;
    // kill -9 as the 6th 200 arrives, with others mid-commit.
    let n = 0;
    const events = (count: number) =>
      Array.from({ length: count }, () => {
        n += 1;
        return sessionEvent({ eventTime: new Date(Date.UTC(2026, 10, 2, 9, 0, 0, n)).toISOString() }, STUDENTS[n % STUDENTS.length]!.externalId);
      });
    const queue = Array.from({ length: 15 }, (_, i) => envelope(events(i % 5 === 1 ? 1_000 : 25)));
    const acknowledged: string[] = [];
    let answered = 0;
    let killed = false;
    const sender = async () => {
      for (let next = queue.shift(); next && !killed; next = queue.shift()) {
        try {
          const response = await fetch(`${first.url}/caliper`, {
            method: 'POST',
            headers: { authorization: `Bearer ${INGEST_KEY}`, 'content-type': 'application/json' },
            body: JSON.stringify(next),
          });
          if (response.status !== 200) throw new Error(`status ${response.status}: ${await response.text()}`);
          for (const event of next.data as Array<{ id: string }>) acknowledged.push(event.id);
          answered += 1;
          if (answered === 6 && !killed) {
            killed = true;
            first.child.kill('SIGKILL');
          }
        } catch (err) {
          if (!killed) throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: 4 }, sender));
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
    expect(acknowledged.length).toBeGreaterThanOrEqual(6 * 25);

    // Every acknowledged event has its input, as received, readable where it is stored.
    const rows = database().prepare('SELECT seq, source_id AS id FROM events').all() as Array<{ seq: number; id: string }>;
    const inputs = createInputReader(database())(rows.map((row) => row.seq));
    const inputIds = new Map(rows.map((row) => [row.id, (JSON.parse(inputs.get(row.seq) ?? 'null') as { id: string } | null)?.id]));
    expect(acknowledged.filter((id) => inputIds.get(id) !== id)).toEqual([]);

    await gateway();
    await waitFor('nothing pending after restart', () => (fateCounts(database()).pending ?? 0) === 0, 90_000);
    // Every stored event (acknowledged or committed as the kill came) translated and delivered.
    expect(fateCounts(database())).toEqual({ delivered: rows.length });
    const outputIds = database().prepare('SELECT output_id FROM events').pluck().all() as string[];
    expect(new Set(receivedIds())).toEqual(new Set(outputIds));
  });

  it('loses nothing to a kill -9 while roster lookups are in flight: the students are looked up again after the restart', { timeout: 60_000 }, async () => {
    const first = await gateway();
    const held = emulator.hold('roster');
    await sendEnvelope(first, logins(3));
    await held.arrived;
    // Learn has its 200; nothing is translated, cached or sent until the roster answers.
    expect(database().prepare(`SELECT fate, stage, count(*) AS n FROM events GROUP BY 1, 2`).all()).toEqual([{ fate: 'pending', stage: 'translate', n: 9 }]);
    first.child.kill('SIGKILL');
    await first.exited;
    // The answers held for the dead gateway are never sent.
    emulator.clearFaults();
    expect(database().prepare('SELECT count(*) AS n FROM roster_cache').get()).toEqual({ n: 0 });
    const lookupsBefore = emulator.count('roster');

    await gateway();
    await waitFor('all delivered after restart', () => delivered() === 9, 30_000);
    expect(fateCounts(database())).toEqual({ delivered: 9 });
    expect(emulator.count('roster')).toBeGreaterThanOrEqual(lookupsBefore + STUDENTS.length);
    // Each event sent once: none had gone out before the kill.
    const outputIds = (database().prepare('SELECT output_id AS id FROM events').all() as Array<{ id: string }>).map((r) => r.id);
    expect(receivedIds().sort()).toEqual(outputIds.sort());
  });

  // A lookup waits on the roster's answer, or first on a token request: either may hang, allowed
  // longer than the whole shutdown, and has to be cut rather than waited for.
  for (const hanging of ['roster', 'token'] as const) {
    it(`on SIGTERM while roster lookups wait on a hanging ${hanging} request, stops within SHUTDOWN_TIMEOUT, exits 0; the students are looked up after the restart`, { timeout: 60_000 }, async () => {
      const first = await gateway({ SHUTDOWN_TIMEOUT: '1', ROSTER_TIMEOUT: '60', TIMEBACK_TOKEN_TIMEOUT: '60' });
      emulator.addFault({ route: hanging, hang: true });
      await sendEnvelope(first, logins(2));
      await waitFor(`a ${hanging} request hanging`, () => emulator.requests.some((r) => r.route === hanging && r.status === 0), 20_000);
      first.child.kill('SIGTERM');
      // serve exits 1 when the shutdown overruns SHUTDOWN_TIMEOUT.
      expect(await first.exited).toEqual({ code: 0, signal: null });
      expect(database().prepare(`SELECT fate, stage, count(*) AS n FROM events GROUP BY 1, 2`).all()).toEqual([{ fate: 'pending', stage: 'translate', n: 6 }]);
      expect(database().prepare('SELECT count(*) AS n FROM roster_cache').get()).toEqual({ n: 0 });

      emulator.clearFaults();
      await gateway();
      await waitFor('all delivered after restart', () => delivered() === 6, 30_000);
      const outputIds = (database().prepare('SELECT output_id AS id FROM events').all() as Array<{ id: string }>).map((r) => r.id);
      expect(receivedIds().sort()).toEqual(outputIds.sort());
    });
  }

  it('parks what TimeBack refuses as dead with its answer, and a replay while serving delivers it once fixed', { timeout: 60_000 }, async () => {
    const refused = STUDENTS[2]!;
    const refusal = { status: 'error', message: `actor urn:uuid:${refused.platformId} is not enrolled` };
    emulator.addFault({ route: 'events', status: 400, body: refusal, when: (body) => body.includes(refused.platformId) });
    const gw = await gateway();
    await sendEnvelope(gw, logins(2));

    await waitFor('settled', () => {
      const counts = fateCounts(database());
      return counts.delivered === 4 && counts.dead === 2;
    }, 30_000);
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const list = (await (await fetch(`${gw.url}/admin/events?fate=dead`, { headers: admin })).json()) as {
      events: Array<{ seq: number; reason: string; lastStatus: number; outputId: string }>;
    };
    expect(list.events).toHaveLength(2);
    expect(list.events[0]).toMatchObject({ reason: 'http-400', lastStatus: 400 });
    const detail = (await (await fetch(`${gw.url}/admin/events/${list.events[0]!.seq}`, { headers: admin })).json()) as {
      lastResponse: string;
      output: { actor: string };
    };
    expect(JSON.parse(detail.lastResponse)).toEqual(refusal);
    expect(detail.output.actor).toBe(`urn:uuid:${refused.platformId}`);

    emulator.clearFaults();
    const replay = await promisify(execFile)(process.execPath, [BIN, 'replay', '--reason', 'http-400'], {
      env: { PATH: process.env.PATH ?? '', DB_PATH: `${temp.dir}/gateway.db`, LOG_LEVEL: 'silent' },
    });
    expect(replay.stdout).toContain('Re-queued 2 events');

    await waitFor('replayed events delivered', () => delivered() === 6, 30_000);
    // Re-translated with the same rule: the same ids TimeBack refused before, each sent once more.
    const deadIds = list.events.map((event) => event.outputId).sort();
    expect(receivedIds().filter((id) => deadIds.includes(id)).sort()).toEqual(deadIds);
    expect(new Set(receivedIds()).size).toBe(6);
  });
});
