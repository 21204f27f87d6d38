import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordMappingRules } from '../../src/mapping/rules-record.ts';
import { formatStatusReport, statusReport } from '../../src/ops/status-report.ts';
import { openStore, type Store } from '../../src/store/database.ts';
import { lockDatabase, type InstanceLock } from '../../src/store/instance-lock.ts';
import { GAUGE_SQL } from '../../src/store/event-queries.ts';
import { envelopes, events, rosterCache, UNTIL_CONFIGURED, type NewEventRow } from '../../src/store/schema.ts';

const T0 = Date.UTC(2026, 2, 2, 12, 0, 0);
let dir: string;
let store: Store;
/** Held by a test that needs a gateway serving the database, as far as status can tell. */
let served: InstanceLock | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'caliper-gateway-status-'));
  store = openStore(join(dir, 'gateway.db'));
});
afterEach(() => {
  served?.release();
  served = undefined;
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const RETRY_DETAIL = 'identity attempt 2 failed (TimeBack roster failed (HTTP 503)); next at 2026-03-02T12:01:00.000Z';

function seed() {
  const envelopeId = store.db
    .insert(envelopes)
    .values({ sensor: 's', sendTime: 'x', receivedAt: T0 - 60_000, eventCount: 9, storedCount: 9, rejectedCount: 0, duplicateCount: 0, bytes: 1 })
    .returning({ id: envelopes.id })
    .get().id;
  store.db.insert(envelopes).values({ sensor: 's', sendTime: 'x', receivedAt: T0 - 5_000, eventCount: 0, storedCount: 0, rejectedCount: 0, duplicateCount: 0, bytes: 1 }).run();
  let n = 0;
  const event = (fate: NewEventRow['fate'], extra: Partial<NewEventRow> = {}): NewEventRow => ({
    envelopeId,
    sensor: 's',
    sourceId: `e${(n += 1)}`,
    receivedAt: T0 - 30_000,
    fate,
    updatedAt: T0,
    ...extra,
  });
  store.db
    .insert(events)
    .values([
      event('pending', { stage: 'translate', receivedAt: T0 - 90_000, detail: RETRY_DETAIL }),
      event('pending', { stage: 'translate', nextAttemptAt: UNTIL_CONFIGURED, detail: 'waiting: TIMEBACK_APP_ID is not set' }),
      event('pending', { stage: 'deliver' }),
      event('delivered'),
      event('delivered'),
      event('skipped', { reason: 'no-rule' }),
      event('skipped', { reason: 'user-not-in-timeback' }),
      event('rejected', { reason: 'invalid-event' }),
      event('dead', { reason: 'http-400' }),
    ])
    .run();
  store.db
    .insert(rosterCache)
    .values([
      { externalId: 'stu-1', platformId: 'p1', outcome: 'found', learnedAt: T0 },
      { externalId: 'stu-2', platformId: null, outcome: 'not-found', learnedAt: T0 },
    ])
    .run();
}

describe('statusReport', () => {
  it('counts an empty database as zeros', () => {
    expect(statusReport(store, T0)).toEqual({
      at: '2026-03-02T12:00:00.000Z',
      gateway: { serving: false, holder: null },
      total: 0,
      byFate: { pending: 0, delivered: 0, skipped: 0, rejected: 0, dead: 0 },
      byReason: {},
      queueDepth: { translate: 0, deliver: 0 },
      heldUntilConfigured: 0,
      oldestWaiting: null,
      rosterCacheEntries: 0,
      envelopes: { received: 0, lastReceivedAt: null },
      mappingRules: null,
    });
  });

  it('counts by fate, reason and stage, and finds the oldest waiting event', () => {
    seed();
    expect(statusReport(store, T0)).toEqual({
      at: '2026-03-02T12:00:00.000Z',
      gateway: { serving: false, holder: null },
      total: 9,
      byFate: { pending: 3, delivered: 2, skipped: 2, rejected: 1, dead: 1 },
      byReason: { 'dead:http-400': 1, 'rejected:invalid-event': 1, 'skipped:no-rule': 1, 'skipped:user-not-in-timeback': 1 },
      queueDepth: { translate: 2, deliver: 1 },
      heldUntilConfigured: 1,
      oldestWaiting: { seq: 1, stage: 'translate', receivedAt: '2026-03-02T11:58:30.000Z', ageSeconds: 90, detail: RETRY_DETAIL, overdueSeconds: null },
      rosterCacheEntries: 2,
      envelopes: { received: 2, lastReceivedAt: '2026-03-02T11:59:55.000Z' },
      mappingRules: null,
    });
  });

  it('finds the oldest waiting event among older settled ones, through the pending index', () => {
    seed();
    const envelopeId = 1;
    const row = (fate: NewEventRow['fate'], sourceId: string, receivedAt: number, stage: NewEventRow['stage'] = null): NewEventRow =>
      ({ envelopeId, sensor: 's', sourceId, receivedAt, fate, stage, updatedAt: T0 });
    // Settle the seeded pending events; newer arrivals wait, the first of them at deliver.
    store.sqlite.prepare(`UPDATE events SET fate = 'delivered', stage = NULL WHERE fate = 'pending'`).run();
    store.db.insert(events).values([row('pending', 'n1', T0 - 20_000, 'deliver'), row('pending', 'n2', T0 - 10_000, 'translate')]).run();
    expect(statusReport(store, T0)).toMatchObject({
      queueDepth: { translate: 1, deliver: 1 },
      oldestWaiting: { seq: 10, stage: 'deliver', receivedAt: '2026-03-02T11:59:40.000Z', ageSeconds: 20 },
    });
    const plan = (sql: string) => (store.sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((step) => step.detail);
    for (const sql of [GAUGE_SQL.oldestPending, GAUGE_SQL.pendingByStage, GAUGE_SQL.heldUntilConfigured]) {
      expect(plan(sql)).toContainEqual(expect.stringContaining('COVERING INDEX events_pending_due'));
      expect(plan(sql).join(' ')).not.toContain('TEMP B-TREE');
    }
  });

  it('prints a compact table for people', () => {
    seed();
    expect(formatStatusReport(statusReport(store, T0))).toBe(
      [
        'gateway                   not running: no gateway is serving this database; the rows below are as the last one left them',
        'events                    9',
        '  pending                 3',
        '  delivered               2',
        '  skipped                 2',
        '    no-rule               1',
        '    user-not-in-timeback  1',
        '  rejected                1',
        '    invalid-event         1',
        '  dead                    1',
        '    http-400              1',
        'waiting                   translate 2, deliver 1 (1 held until TimeBack is configured)',
        `oldest waiting            #1 (translate), 90 s old: ${RETRY_DETAIL}`,
        'roster cache              2 entries',
        'envelopes                 2 received, last at 2026-03-02T11:59:55.000Z',
        '',
      ].join('\n'),
    );
  });

  it("says when the oldest event's next try is long past: the gateway has paused or is behind, or none runs", async () => {
    seed();
    const detail = 'attempt 1 failed (HTTP 500); next at 2026-03-02T11:58:40.000Z';
    store.sqlite.prepare('UPDATE events SET next_attempt_at = ?, detail = ? WHERE seq = 1').run(T0 - 80_000, detail);
    const lock = await lockDatabase(store.file);
    try {
      const report = statusReport(store, T0);
      expect(report.oldestWaiting).toMatchObject({ seq: 1, detail, overdueSeconds: 80 });
      expect(formatStatusReport(report)).toContain(
        `oldest waiting            #1 (translate), 90 s old: ${detail}; that try is 80 s overdue: the gateway has paused (see /readyz) or is behind\n`,
      );
    } finally {
      lock.release();
    }
    // Stopped, nothing pauses: nothing runs.
    expect(formatStatusReport(statusReport(store, T0))).toContain(`; that try is 80 s overdue: no gateway is serving this database\n`);

    // A try due a moment ago is just the workers' usual lag.
    store.sqlite.prepare('UPDATE events SET next_attempt_at = ? WHERE seq = 1').run(T0 - 2_000);
    expect(statusReport(store, T0).oldestWaiting?.overdueSeconds).toBeNull();
    expect(formatStatusReport(statusReport(store, T0))).not.toContain('overdue');
  });

  it('names the gateway serving the database, from its instance lock', async () => {
    const lock = await lockDatabase(store.file);
    try {
      const report = statusReport(store, T0);
      expect(report.gateway).toEqual({ serving: true, holder: { pid: process.pid, host: hostname(), startedAt: expect.any(String) } });
      expect(formatStatusReport(report)).toMatch(
        new RegExp(`^gateway {2,}serving this database: pid ${process.pid} on ${hostname().replace(/[.]/g, '\\.')}, started \\d{4}-`, 'm'),
      );
    } finally {
      lock.release();
    }
    // Its pid stays in the lock file's header once it lets go: not named then.
    expect(statusReport(store, T0).gateway).toEqual({ serving: false, holder: null });
  });

  it('says the live rules are not the files on disk while a change is refused, and lists why', async () => {
    served = await lockDatabase(store.file);
    expect(statusReport(store, T0).mappingRules).toBeNull();
    const problems = Array.from({ length: 7 }, (_, i) => `forum-event.yaml:${i + 3}: rules[0].skpi: unknown key; did you mean "skip"?`);
    recordMappingRules(store, '/srv/caliper/mappings', { state: 'change-refused', at: '2026-03-02T11:00:00.000Z', activeSince: '2026-03-01T08:00:00.000Z', problems });
    const report = statusReport(store, T0);
    expect(report.mappingRules).toEqual({
      state: 'change-refused',
      at: '2026-03-02T11:00:00.000Z',
      dir: '/srv/caliper/mappings',
      activeSince: '2026-03-01T08:00:00.000Z',
      problems: problems.slice(0, 5),
      moreProblems: 2,
    });
    const table = formatStatusReport(report);
    expect(table).toContain(
      'mapping rules   a change was refused at 2026-03-02T11:00:00.000Z: the gateway runs the rules it loaded at 2026-03-01T08:00:00.000Z, not the files in /srv/caliper/mappings; a restart would start with none\n' +
        '                  forum-event.yaml:3: rules[0].skpi: unknown key; did you mean "skip"?\n',
    );
    expect(table).toContain('  and 2 more (check-mappings lists them all)\n');

    recordMappingRules(store, '/srv/caliper/mappings', { state: 'active', at: '2026-03-02T11:05:00.000Z', rules: 42 });
    expect(formatStatusReport(statusReport(store, T0))).toMatch(/^mapping rules {2,}42 active since 2026-03-02T11:05:00\.000Z \(\/srv\/caliper\/mappings\)$/m);
    expect(formatStatusReport(statusReport(store, T0))).not.toContain('refused');
  });

  it('words the rules as what the last gateway ran when none serves the database', () => {
    const problems = ['forum-event.yaml:3: rules[0].skpi: unknown key; did you mean "skip"?'];
    recordMappingRules(store, '/srv/caliper/mappings', { state: 'active', at: '2026-03-02T11:05:00.000Z', rules: 42 });
    let table = formatStatusReport(statusReport(store, T0));
    expect(table).toMatch(/^mapping rules {2,}none running: the last gateway ran 42 rules, loaded at 2026-03-02T11:05:00\.000Z from \/srv\/caliper\/mappings; the next start loads the files anew$/m);
    expect(table).not.toContain('active since');

    recordMappingRules(store, '/srv/caliper/mappings', { state: 'change-refused', at: '2026-03-02T11:10:00.000Z', activeSince: '2026-03-02T11:05:00.000Z', problems });
    table = formatStatusReport(statusReport(store, T0));
    expect(table).toContain(
      'mapping rules   none running: the last gateway ran the rules it loaded at 2026-03-02T11:05:00.000Z, having refused a change at 2026-03-02T11:10:00.000Z, ' +
        'as the files in /srv/caliper/mappings did not load or failed a fixture; started on them unchanged, a gateway has none and events wait (run check-mappings first)\n' +
        `                  ${problems[0]}\n`,
    );
    expect(table).not.toContain('the gateway runs');

    recordMappingRules(store, '/srv/caliper/mappings', { state: 'none-active', at: '2026-03-02T11:20:00.000Z', problems });
    expect(formatStatusReport(statusReport(store, T0))).toMatch(/^mapping rules {2,}none running: the last gateway had none active \(since 2026-03-02T11:20:00\.000Z\), as the files/m);
  });

  it('says "1 entry", not "1 entries"', () => {
    const report = { ...statusReport(store, T0), rosterCacheEntries: 1 };
    expect(formatStatusReport(report)).toMatch(/^roster cache {2,}1 entry$/m);
  });
});
