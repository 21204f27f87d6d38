import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRosterCache, type RosterCache } from '../../src/identity/roster-cache.ts';
import { ReplayFilterSchema, replayEvents, unreplayedIds } from '../../src/store/replay.ts';
import type { RosterOutcome } from '../../src/store/schema.ts';
import { tempStore } from '../helpers/temp-store.ts';
import { eventStates, insertTranslatedEvents } from '../helpers/translated-events.ts';

let db: ReturnType<typeof tempStore>;
beforeEach(() => {
  db = tempStore('replay-');
});
afterEach(() => db.cleanup());

const NOW = Date.parse('2026-11-02T12:00:00Z');

function seed() {
  const dead400 = insertTranslatedEvents(db.store.sqlite, 2, { fate: 'dead', reason: 'http-400', attempts: 1, firstAttemptAt: NOW - 5_000, receivedAt: NOW - 10_000 });
  const deadAge = insertTranslatedEvents(db.store.sqlite, 1, {
    fate: 'dead',
    reason: 'max-age',
    attempts: 30,
    receivedAt: Date.parse('2026-10-01T00:00:00Z'),
  });
  const skipped = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'skipped', reason: 'user-not-in-timeback', receivedAt: NOW });
  const delivered = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'delivered', deliveredAt: NOW, receivedAt: NOW });
  const pending = insertTranslatedEvents(db.store.sqlite, 1, { attempts: 3, receivedAt: NOW });
  const badOutput = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'rejected', reason: 'invalid-output', receivedAt: NOW });
  const malformed = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'rejected', reason: 'invalid-event', receivedAt: NOW });
  return { dead400, deadAge, skipped, delivered, pending, badOutput, malformed };
}

const state = (seq: number) => eventStates(db.store.sqlite).find((row) => row.seq === seq)!;

describe('replayEvents', () => {
  it('by default re-queues every dead event at the translate stage, due now, with a fresh attempt budget', () => {
    const { dead400, deadAge, skipped, delivered, pending } = seed();
    const replayed = replayEvents(db.store, {}, NOW);

    expect(replayed.map((event) => event.seq)).toEqual([...dead400, ...deadAge].map((event) => event.seq));
    expect(replayed[0]).toMatchObject({ sourceId: dead400[0]!.sourceId, previousFate: 'dead', previousReason: 'http-400' });
    for (const event of [...dead400, ...deadAge]) {
      expect(state(event.seq)).toMatchObject({ fate: 'pending', stage: 'translate', reason: null, attempts: 0, nextAttemptAt: NOW });
      const row = db.store.sqlite.prepare('SELECT first_attempt_at AS f FROM events WHERE seq = ?').get(event.seq) as { f: number | null };
      expect(row.f).toBeNull();
    }
    expect(state(skipped[0]!.seq).fate).toBe('skipped');
    expect(state(delivered[0]!.seq).fate).toBe('delivered');
    expect(state(pending[0]!.seq)).toMatchObject({ fate: 'pending', attempts: 3 });
  });

  it('keeps the last answer for the admin until the next attempt replaces it', () => {
    const { dead400 } = seed();
    db.store.sqlite.prepare(`UPDATE events SET last_status = 400, last_response = 'bad' WHERE seq = ?`).run(dead400[0]!.seq);
    replayEvents(db.store, {}, NOW);
    expect(state(dead400[0]!.seq)).toMatchObject({ lastStatus: 400, lastResponse: 'bad' });
  });

  it('filters by status, reason and receipt time', () => {
    const { dead400, deadAge, skipped } = seed();
    expect(replayEvents(db.store, { status: 'skipped' }, NOW).map((e) => e.seq)).toEqual([skipped[0]!.seq]);
    expect(replayEvents(db.store, { reason: 'max-age' }, NOW).map((e) => e.seq)).toEqual([deadAge[0]!.seq]);
    db.store.sqlite.prepare(`UPDATE events SET fate = 'dead', stage = NULL, reason = 'max-age' WHERE seq = ?`).run(deadAge[0]!.seq);
    expect(replayEvents(db.store, { since: '2026-10-15T00:00:00Z' }, NOW).map((e) => e.seq)).toEqual(dead400.map((e) => e.seq));
  });

  it('looks in every fate when given a reason alone, and takes a date as its midnight UTC', () => {
    const { skipped, badOutput, malformed } = seed();
    // user-not-in-timeback is only ever a skip: an admin should not have to know that.
    expect(replayEvents(db.store, { reason: 'user-not-in-timeback' }, NOW).map((e) => e.seq)).toEqual([skipped[0]!.seq]);
    expect(replayEvents(db.store, { reason: 'invalid-event' }, NOW).map((e) => e.seq)).toEqual([malformed[0]!.seq]);
    expect(replayEvents(db.store, { reason: 'invalid-output', since: '2026-11-03' }, NOW)).toEqual([]);
    expect(replayEvents(db.store, { reason: 'invalid-output', since: '2026-11-02' }, NOW).map((e) => e.seq)).toEqual([badOutput[0]!.seq]);
    expect(ReplayFilterSchema.safeParse({ since: '2026-10-15' }).success).toBe(true);
    expect(ReplayFilterSchema.safeParse({ since: '15/10/2026' }).success).toBe(false);
  });

  it('takes events by seq, Learn id or output id, dead or skipped, and never touches other fates', () => {
    const { dead400, skipped, delivered, pending } = seed();
    const replayed = replayEvents(
      db.store,
      { ids: [dead400[0]!.seq, skipped[0]!.sourceId, dead400[1]!.outputId, delivered[0]!.seq, pending[0]!.outputId] },
      NOW,
    );
    expect(replayed.map((e) => e.seq).sort((a, b) => a - b)).toEqual([dead400[0]!.seq, dead400[1]!.seq, skipped[0]!.seq]);
    expect(state(delivered[0]!.seq).fate).toBe('delivered');
  });

  it('replays rejected events a fixed rule can change, and malformed input only when asked for', () => {
    const { badOutput, malformed } = seed();
    // Not without asking: the default is dead events.
    replayEvents(db.store, {}, NOW);
    expect(state(badOutput[0]!.seq).fate).toBe('rejected');

    const replayed = replayEvents(db.store, { status: 'rejected' }, NOW);
    expect(replayed).toEqual([{ seq: badOutput[0]!.seq, sourceId: badOutput[0]!.sourceId, outputId: badOutput[0]!.outputId, previousFate: 'rejected', previousReason: 'invalid-output' }]);
    expect(state(badOutput[0]!.seq)).toMatchObject({ fate: 'pending', stage: 'translate', reason: null });
    expect(state(malformed[0]!.seq)).toMatchObject({ fate: 'rejected', reason: 'invalid-event' });

    expect(replayEvents(db.store, { status: 'rejected', reason: 'invalid-event' }, NOW).map((e) => e.seq)).toEqual([malformed[0]!.seq]);
  });

  it('replays a malformed event named by id', () => {
    const { malformed } = seed();
    expect(replayEvents(db.store, { ids: [malformed[0]!.seq] }, NOW).map((e) => e.seq)).toEqual([malformed[0]!.seq]);
    expect(state(malformed[0]!.seq)).toMatchObject({ fate: 'pending', stage: 'translate' });
  });

  it('replays large sets in chunks and matches nothing twice', () => {
    insertTranslatedEvents(db.store.sqlite, 2_500, { fate: 'dead', reason: 'http-422' });
    const replayed = replayEvents(db.store, { reason: 'http-422' }, NOW);
    expect(replayed).toHaveLength(2_500);
    expect(new Set(replayed.map((e) => e.seq)).size).toBe(2_500);
    expect(replayEvents(db.store, { reason: 'http-422' }, NOW)).toHaveLength(0);
  });
});

describe('unreplayedIds', () => {
  it('says where each named event that was not re-queued stands', () => {
    const { dead400, deadAge, skipped, delivered, pending } = seed();
    const filter = {
      status: 'dead' as const,
      ids: [dead400[0]!.seq, dead400[1]!.outputId!, skipped[0]!.sourceId, delivered[0]!.seq, pending[0]!.outputId!, deadAge[0]!.sourceId, 'no-such-id', 999_999],
    };
    const replayed = replayEvents(db.store, { ...filter, since: new Date(NOW - 60_000).toISOString() }, NOW);
    expect(replayed.map((e) => e.seq).sort((a, b) => a - b)).toEqual([dead400[0]!.seq, dead400[1]!.seq]);

    const all = ['pending', 'delivered', 'skipped', 'rejected', 'dead'];
    const replayable = ['dead', 'skipped', 'rejected'];
    expect(unreplayedIds(db.store, filter, replayed)).toEqual([
      { id: skipped[0]!.sourceId, fates: ['skipped'], lookedIn: replayable },
      { id: delivered[0]!.seq, fates: ['delivered'], lookedIn: all },
      // A Learn or output id is looked for among the replayable events only (they alone are indexed by it).
      { id: pending[0]!.outputId, fates: [], lookedIn: replayable },
      // Dead, but received before --since.
      { id: deadAge[0]!.sourceId, fates: ['dead'], lookedIn: replayable },
      { id: 'no-such-id', fates: [], lookedIn: replayable },
      { id: 999_999, fates: [], lookedIn: all },
    ]);
  });

  it('has nothing to say without ids, or when every named event was re-queued', () => {
    const { dead400 } = seed();
    const filter = { ids: [dead400[0]!.sourceId, dead400[1]!.seq] };
    expect(unreplayedIds(db.store, filter, replayEvents(db.store, filter, NOW))).toEqual([]);
    expect(unreplayedIds(db.store, {}, [])).toEqual([]);
  });
});

/** Every statement `run` runs on the store, with the plan SQLite chose for it, one step a line. */
function plansOf(run: () => void): Array<{ sql: string; plan: string }> {
  const { sqlite } = db.store;
  const prepare = sqlite.prepare.bind(sqlite);
  const ran: Array<{ sql: string; params: unknown[] }> = [];
  sqlite.prepare = ((sql: string) => {
    const statement = prepare(sql);
    for (const method of ['all', 'get', 'run'] as const) {
      const original = statement[method].bind(statement) as (...params: unknown[]) => unknown;
      (statement as unknown as Record<string, unknown>)[method] = (...params: unknown[]) => {
        ran.push({ sql, params });
        return original(...params);
      };
    }
    return statement;
  }) as typeof sqlite.prepare;
  try {
    run();
  } finally {
    sqlite.prepare = prepare;
  }
  return ran
    .filter(({ sql }) => /\bevents\b/.test(sql))
    .map(({ sql, params }) => ({
      sql,
      plan: (prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((step) => step.detail).join('\n'),
    }));
}

/**
 * A school keeps its skipped events for good by default: a replay must read each match a
 * fixed number of times, not once per chunk, and a named event by its number, not the table.
 */
describe('the query plans of a replay', () => {
  const TABLE_SCAN = /^SCAN events(?! USING)/m;

  it('finds the matches from the (fate, reason) index once, then reads and moves each chunk by rowid, sorting nothing', () => {
    insertTranslatedEvents(db.store.sqlite, 1_200, { fate: 'skipped', reason: 'rule-skips', receivedAt: NOW });
    insertTranslatedEvents(db.store.sqlite, 30, { fate: 'dead', reason: 'http-400', receivedAt: NOW });
    for (const filter of [{}, { status: 'skipped' }, { reason: 'rule-skips' }, { status: 'rejected' }, { status: 'skipped', since: '2026-11-01' }] as const) {
      const statements = plansOf(() => replayEvents(db.store, filter, NOW));
      const [find, ...rest] = statements;
      expect(find!.plan, JSON.stringify(filter)).toMatch(/^SEARCH events USING (COVERING )?INDEX events_settled_reason/);
      for (const { sql, plan } of statements) {
        expect(plan, sql).not.toMatch(TABLE_SCAN);
        expect(plan, sql).not.toContain('TEMP B-TREE');
      }
      for (const { sql, plan } of rest) expect(plan, sql).toMatch(/^SEARCH events USING INTEGER PRIMARY KEY \(rowid=\?\)/);
    }
    // Both chunks of the 1,200 skipped events were moved.
    expect(eventStates(db.store.sqlite).filter((row) => row.fate === 'skipped')).toEqual([]);
  });

  it('looks named event numbers up by rowid, also to say why one was not re-queued', () => {
    const { delivered, dead400 } = seed();
    const filter = { ids: [delivered[0]!.seq, dead400[0]!.seq] };
    const statements = plansOf(() => unreplayedIds(db.store, filter, replayEvents(db.store, filter, NOW)));
    expect(statements.length).toBeGreaterThanOrEqual(3);
    for (const { sql, plan } of statements) {
      expect(plan, sql).not.toMatch(TABLE_SCAN);
      expect(plan, sql).toMatch(/^SEARCH events USING INTEGER PRIMARY KEY \(rowid=\?\)/);
    }
  });

  it('looks Learn and output ids up in their indexes of the replayable events, never reading every exception row or the table', () => {
    insertTranslatedEvents(db.store.sqlite, 300, { fate: 'skipped', reason: 'rule-skips', receivedAt: NOW });
    const { dead400, delivered, skipped } = seed();
    for (const filter of [
      { ids: [dead400[0]!.sourceId, dead400[1]!.outputId, delivered[0]!.sourceId, delivered[0]!.outputId, 'nope'] },
      { status: 'dead' as const, ids: [skipped[0]!.sourceId, dead400[0]!.seq] },
    ]) {
      const statements = plansOf(() => unreplayedIds(db.store, filter, replayEvents(db.store, filter, NOW)));
      expect(statements.length).toBeGreaterThanOrEqual(3);
      for (const { sql, plan } of statements) {
        expect(plan, sql).not.toMatch(TABLE_SCAN);
        expect(plan, sql).toMatch(/^SEARCH events USING (INTEGER PRIMARY KEY \(rowid=\?\)|INDEX events_settled_(source|output)_id \((source|output)_id=\?\))/);
      }
    }
  });
});

describe('ReplayFilterSchema', () => {
  it('names the bad field', () => {
    const result = ReplayFilterSchema.safeParse({ status: 'delivered' });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]).toMatchObject({ path: ['status'], message: 'delivered events are not replayed; must be one of dead, skipped, rejected' });
    expect(ReplayFilterSchema.safeParse({ status: 'lost' }).error!.issues[0]).toMatchObject({ path: ['status'], message: 'must be one of dead, skipped, rejected' });
    expect(ReplayFilterSchema.safeParse({ since: 'yesterday' }).error!.issues[0]!.path).toEqual(['since']);
    expect(ReplayFilterSchema.safeParse({ colour: 'red' }).success).toBe(false);
  });

  it('takes `fate`, the name GET /admin/events uses, for `status`, with the same values', () => {
    expect(ReplayFilterSchema.parse({ fate: 'skipped', reason: 'no-rule' })).toEqual({ status: 'skipped', reason: 'no-rule' });
    expect(ReplayFilterSchema.parse({ fate: 'dead', status: 'dead' })).toEqual({ status: 'dead' });
    expect(ReplayFilterSchema.safeParse({ fate: 'pending' }).error!.issues[0]).toMatchObject({ path: ['fate'], message: 'pending events are not replayed; must be one of dead, skipped, rejected' });
    expect(ReplayFilterSchema.safeParse({ fate: 'dead', status: 'skipped' }).error!.issues[0]).toMatchObject({ path: ['fate'], message: 'status and fate are one filter; give one' });
  });
});

describe('replay and the roster cache', () => {
  let cache: RosterCache;
  beforeEach(() => {
    cache = createRosterCache(db.store);
  });

  function studentOf(seq: number): string {
    const row = db.store.sqlite.prepare('SELECT student_id AS id FROM events WHERE seq = ?').get(seq) as { id: string };
    return row.id;
  }

  function remember(externalId: string, outcome: RosterOutcome) {
    cache.put({
      externalId,
      outcome,
      platformId: outcome === 'found' ? randomUUID() : null,
      strategy: outcome === 'not-found' ? null : 'identifier',
      detail: null,
      learnedAt: NOW - 60_000,
    });
  }

  it("Should forget the replayed students' not-found and ambiguous answers, and nothing else", () => {
    const [notFound, ambiguous] = insertTranslatedEvents(db.store.sqlite, 2, { fate: 'skipped', reason: 'user-not-in-timeback' });
    const [dead] = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    remember(studentOf(notFound!.seq), 'not-found');
    remember(studentOf(ambiguous!.seq), 'ambiguous');
    remember(studentOf(dead!.seq), 'found');
    remember('someone-else', 'not-found');

    replayEvents(db.store, { status: 'skipped', reason: 'user-not-in-timeback' }, NOW);

    expect(cache.get(studentOf(notFound!.seq))).toBeUndefined();
    expect(cache.get(studentOf(ambiguous!.seq))).toBeUndefined();
    expect(cache.get(studentOf(dead!.seq))?.outcome).toBe('found');
    expect(cache.get('someone-else')?.outcome).toBe('not-found');
  });

  it("Should refuse the answer of a replayed student's lookup begun before the replay", () => {
    const [skipped] = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'skipped', reason: 'user-not-in-timeback' });
    const student = studentOf(skipped!.seq);
    remember(student, 'not-found');
    // The lookup asked the roster before the admin fixed the student and replayed.
    const begun = cache.generation();

    replayEvents(db.store, { status: 'skipped' }, NOW);

    const stale = { externalId: student, outcome: 'not-found', platformId: null, strategy: null, detail: null, learnedAt: NOW } as const;
    expect(cache.putUnlessEvicted(stale, begun)).toBe(false);
    expect(cache.get(student)).toBeUndefined();
  });

  it('Should keep found answers when dead events are replayed', () => {
    const [dead] = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    remember(studentOf(dead!.seq), 'found');
    replayEvents(db.store, {}, NOW);
    expect(cache.get(studentOf(dead!.seq))?.outcome).toBe('found');
  });
});
