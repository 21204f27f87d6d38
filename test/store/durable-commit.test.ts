/**
 * Admins' writes commit with synchronous=FULL even on the service's own connection, which
 * runs NORMAL once the writer thread commits the envelopes. SQLite itself says what was in
 * force: a TEMP trigger (this connection's only) reads pragma_synchronous as each write lands.
 */
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { startTimebackEmulator, type TimebackEmulator } from '../../src/dev/timeback-emulator.ts';
import { createRosterCache } from '../../src/identity/roster-cache.ts';
import { startGateway, type Gateway } from '../../src/server.ts';
import { durably } from '../../src/store/durable-commit.ts';
import type { TempDir } from '../helpers/identity-harness.ts';
import { pipelineEnv, pipelineFolder } from '../helpers/pipeline-gateway.ts';
import { tempStore } from '../helpers/temp-store.ts';
import { insertTranslatedEvents } from '../helpers/translated-events.ts';

const NORMAL = 1;
const FULL = 2;

const level = (sqlite: Database.Database) => sqlite.pragma('synchronous', { simple: true }) as number;

/** Records the synchronous level in force on `sqlite` at each replay and each eviction it writes. */
function watchLevels(sqlite: Database.Database): { replayed(): number[]; evicted(): number[] } {
  sqlite.exec(`
    CREATE TEMP TABLE seen_levels (write TEXT NOT NULL, level INTEGER NOT NULL);
    CREATE TEMP TRIGGER seen_replay AFTER UPDATE OF fate ON main.events
      WHEN new.fate = 'pending' AND old.fate IN ('dead', 'skipped', 'rejected')
      BEGIN INSERT INTO seen_levels SELECT 'replay', synchronous FROM pragma_synchronous; END;
    CREATE TEMP TRIGGER seen_eviction AFTER DELETE ON main.roster_cache
      BEGIN INSERT INTO seen_levels SELECT 'eviction', synchronous FROM pragma_synchronous; END;
  `);
  const read = sqlite.prepare<[string], { level: number }>('SELECT level FROM seen_levels WHERE write = ?');
  return {
    replayed: () => read.all('replay').map((row) => row.level),
    evicted: () => read.all('eviction').map((row) => row.level),
  };
}

describe('durably', () => {
  let db: ReturnType<typeof tempStore>;
  beforeEach(() => {
    db = tempStore('durable-commit-');
  });
  afterEach(() => db.cleanup());

  it('commits with FULL on a NORMAL connection, then puts NORMAL back, also after a throw', () => {
    const { sqlite } = db.store;
    sqlite.pragma('synchronous = NORMAL');
    const seen = watchLevels(sqlite);
    createRosterCache(db.store).put({ externalId: 'kid', platformId: null, outcome: 'not-found', strategy: null, detail: null, learnedAt: 1 });

    expect(durably(sqlite, () => sqlite.transaction(() => sqlite.prepare('DELETE FROM roster_cache').run().changes)())).toBe(1);
    expect(seen.evicted()).toEqual([FULL]);
    expect(level(sqlite)).toBe(NORMAL);

    expect(() =>
      durably(sqlite, () => {
        throw new Error('refused');
      }),
    ).toThrow('refused');
    expect(level(sqlite)).toBe(NORMAL);
  });

  it('leaves a FULL connection FULL, and inside a transaction runs as it is (SQLite refuses the switch there)', () => {
    const { sqlite } = db.store;
    expect(level(sqlite)).toBe(FULL);
    // The level the commit ran at, as it returns it: an assertion inside would pass were it never run.
    expect(durably(sqlite, () => level(sqlite))).toBe(FULL);
    expect(level(sqlite)).toBe(FULL);

    sqlite.pragma('synchronous = NORMAL');
    expect(sqlite.transaction(() => durably(sqlite, () => level(sqlite)))()).toBe(NORMAL);
    expect(level(sqlite)).toBe(NORMAL);
  });
});

describe("the service's admin writes", () => {
  const ADMIN_TOKEN = 'durable-commit-admin-token';
  let temp: TempDir;
  let emulator: TimebackEmulator;
  let gateway: Gateway;

  beforeEach(async () => {
    temp = pipelineFolder('durable-commit');
    emulator = await startTimebackEmulator();
    gateway = await startGateway(parseConfig({ ...pipelineEnv(temp.dir, emulator), ADMIN_TOKEN }));
  });

  afterEach(async () => {
    await gateway.close();
    await emulator.close();
    temp.remove();
  });

  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${gateway.url}/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('are fsynced before the answer though the connection runs NORMAL, which it keeps for the rest', { timeout: 30_000 }, async () => {
    const { sqlite } = gateway.store;
    // The writer thread runs: routine commits on this connection skip the fsync.
    expect(level(sqlite)).toBe(NORMAL);
    const seen = watchLevels(sqlite);
    const dead = insertTranslatedEvents(sqlite, 3, { fate: 'dead', reason: 'http-422' });
    const cache = createRosterCache(gateway.store);
    for (const externalId of ['one', 'two']) {
      cache.put({ externalId, platformId: null, outcome: 'not-found', strategy: null, detail: null, learnedAt: Date.now() });
    }

    const replay = await admin('POST', '/replay', { reason: 'http-422' });
    expect(replay.status).toBe(200);
    expect(await replay.json()).toMatchObject({ requeued: dead.length });
    expect(seen.replayed()).toEqual(dead.map(() => FULL));

    expect((await admin('DELETE', '/roster-cache/one')).status).toBe(200);
    expect((await admin('DELETE', '/roster-cache')).status).toBe(200);
    expect(seen.evicted()).toEqual([FULL, FULL]);

    expect(level(sqlite)).toBe(NORMAL);
  });
});
