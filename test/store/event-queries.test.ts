/**
 * The admin's reads and the queue counts on a real SQLite file. Their plans are checked with
 * EXPLAIN QUERY PLAN: the planner has no statistics, and a query that scans the events table
 * reads every row of a database that keeps millions.
 */
import { randomUUID } from 'node:crypto';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/database.ts';
import {
  countByFate,
  countByReason,
  fateCounts,
  getEvent,
  heldUntilConfigured,
  listEvents,
  oldestPending,
  LIST_SQL,
  listStatement,
  oldestPendingReceivedAt,
  pendingByStage,
  type EventListFilter,
} from '../../src/store/event-queries.ts';
import * as schema from '../../src/store/schema.ts';
import { UNTIL_CONFIGURED } from '../../src/store/schema.ts';
import { tempStore } from '../helpers/temp-store.ts';
import { insertTranslatedEvents } from '../helpers/translated-events.ts';
import { replaceInput } from '../helpers/stored-inputs.ts';

let db: ReturnType<typeof tempStore>;

beforeEach(() => {
  db = tempStore('caliper-gateway-queries-');
});
afterEach(() => db.cleanup());

/** The plan SQLite chooses for `sql`, one step a line. */
function plan(sql: string, params: Record<string, unknown> = {}): string[] {
  return (db.store.sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as Array<{ detail: string }>).map((step) => step.detail);
}

/** The plan of the statement that finds a page of `filter`, with what listEvents binds. */
function listPlan(filter: Omit<EventListFilter, 'limit'>): string[] {
  const statement = listStatement(filter);
  if (statement === undefined) throw new Error(`no statement for ${JSON.stringify(filter)}`);
  return plan(LIST_SQL[statement], { before: filter.before ?? Number.MAX_SAFE_INTEGER, limit: 50, fate: filter.fate ?? null, reason: filter.reason ?? null });
}

/** A read of the whole table (not a seek by rowid, not a read of an index). */
const TABLE_SCAN = /^SCAN events(?! USING)/;

describe('listEvents', () => {
  it('pages newest first, with next null once a page comes back short', () => {
    const seqs = insertTranslatedEvents(db.store.sqlite, 5).map((event) => event.seq);
    const first = listEvents(db.store, { limit: 2 });
    expect(first.events.map((event) => event.seq)).toEqual([seqs[4], seqs[3]]);
    expect(first.next).toBe(seqs[3]);
    const second = listEvents(db.store, { limit: 2, before: first.next! });
    expect(second.events.map((event) => event.seq)).toEqual([seqs[2], seqs[1]]);
    const last = listEvents(db.store, { limit: 2, before: second.next! });
    expect(last.events.map((event) => event.seq)).toEqual([seqs[0]]);
    expect(last.next).toBeNull();
  });

  it('filters by fate and reason together', () => {
    const wanted = insertTranslatedEvents(db.store.sqlite, 2, { fate: 'dead', reason: 'http-400' });
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'dead', reason: 'max-age' });
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'skipped', reason: 'http-400' });
    insertTranslatedEvents(db.store.sqlite, 2);
    const { events } = listEvents(db.store, { fate: 'dead', reason: 'http-400', limit: 10 });
    expect(events.map((event) => event.seq)).toEqual(wanted.map((event) => event.seq).reverse());
    expect(listEvents(db.store, { fate: 'dead', limit: 10 }).events).toHaveLength(4);
    expect(listEvents(db.store, { fate: 'pending', limit: 10 }).events).toHaveLength(2);
  });

  it('shows times as ISO text', () => {
    const receivedAt = Date.parse('2026-03-02T10:00:00.000Z');
    insertTranslatedEvents(db.store.sqlite, 1, { receivedAt });
    expect(listEvents(db.store, { limit: 1 }).events[0]).toMatchObject({ receivedAt: '2026-03-02T10:00:00.000Z', updatedAt: '2026-03-02T10:00:00.000Z' });
  });

  it('lists a fate across its reasons, newest first, paging with before', () => {
    const older = insertTranslatedEvents(db.store.sqlite, 2, { fate: 'skipped', reason: 'rule-skips' });
    const middle = insertTranslatedEvents(db.store.sqlite, 2, { fate: 'skipped', reason: 'no-rule' });
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'dead', reason: 'no-rule' });
    const newer = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'skipped', reason: 'user-not-in-timeback' });
    insertTranslatedEvents(db.store.sqlite, 2);
    const expected = [...newer, ...middle.reverse(), ...older.reverse()].map((event) => event.seq);
    const first = listEvents(db.store, { fate: 'skipped', limit: 3 });
    expect(first.events.map((event) => event.seq)).toEqual(expected.slice(0, 3));
    expect(first.events.map((event) => event.reason)).toEqual(['user-not-in-timeback', 'no-rule', 'no-rule']);
    const second = listEvents(db.store, { fate: 'skipped', limit: 3, before: first.next! });
    expect(second.events.map((event) => event.seq)).toEqual(expected.slice(3));
    expect(second.next).toBeNull();
  });

  it('lists pending and delivered events newest first, paging with before', () => {
    const pending = insertTranslatedEvents(db.store.sqlite, 2).map((event) => event.seq);
    const delivered = insertTranslatedEvents(db.store.sqlite, 2, { fate: 'delivered', stage: null, deliveredAt: 1 }).map((event) => event.seq);
    pending.push(...insertTranslatedEvents(db.store.sqlite, 2, { stage: 'translate' }).map((event) => event.seq));
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    const page = listEvents(db.store, { fate: 'pending', limit: 3 });
    expect(page.events.map((event) => event.seq)).toEqual([pending[3], pending[2], pending[1]]);
    expect(listEvents(db.store, { fate: 'pending', limit: 3, before: page.next! }).events.map((event) => event.seq)).toEqual([pending[0]]);
    expect(listEvents(db.store, { fate: 'delivered', limit: 3 }).events.map((event) => event.seq)).toEqual([delivered[1], delivered[0]]);
    expect(listEvents(db.store, { fate: 'delivered', limit: 3, before: delivered[1] }).events.map((event) => event.seq)).toEqual([delivered[0]]);
  });

  it('finds nothing for a reason asked of a fate that has none, without reading the table', () => {
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'delivered', stage: null, deliveredAt: 1 });
    insertTranslatedEvents(db.store.sqlite, 2);
    expect(listStatement({ fate: 'delivered', reason: 'http-400' })).toBeUndefined();
    expect(listEvents(db.store, { fate: 'delivered', reason: 'http-400', limit: 10 })).toEqual({ events: [], next: null });
    expect(listEvents(db.store, { fate: 'pending', reason: 'http-400', limit: 10 })).toEqual({ events: [], next: null });
  });

  it('reads a reason asked for without a fate in every exception fate', () => {
    const dead = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    const skipped = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'skipped', reason: 'http-400' });
    const rejected = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'rejected', reason: 'http-400' });
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'max-age' });
    expect(listEvents(db.store, { reason: 'http-400', limit: 10 }).events.map((event) => event.seq)).toEqual(
      [...rejected, ...skipped, ...dead].map((event) => event.seq),
    );
  });
});

/**
 * A year-old database holds millions of delivered events and, by default, every skipped one
 * for good. A page of the admin list must not read, or sort, all of them.
 */
describe('the query plans of the admin list', () => {
  it('reads every event, and the delivered ones, backwards by rowid from before', () => {
    for (const filter of [{}, { before: 10 }, { fate: 'delivered' }, { fate: 'delivered', before: 10 }] as const) {
      const steps = listPlan(filter);
      expect(steps).toEqual(['SEARCH events USING INTEGER PRIMARY KEY (rowid<?)']);
    }
  });

  it('reads pending events from the pending index alone, not the table', () => {
    for (const filter of [{ fate: 'pending' }, { fate: 'pending', before: 10 }] as const) {
      const steps = listPlan(filter);
      expect(steps[0]).toMatch(/^SCAN events USING COVERING INDEX events_pending_due/);
      expect(steps.some((step) => TABLE_SCAN.test(step))).toBe(false);
    }
  });

  it('reads one range of the (fate, reason) index per reason, newest first, for a fate, a reason or both', () => {
    for (const filter of [
      { fate: 'skipped' },
      { fate: 'dead', before: 10 },
      { fate: 'rejected', reason: 'invalid-event' },
      { fate: 'skipped', reason: 'no-rule', before: 10 },
      { reason: 'http-400' },
      { reason: 'http-400', before: 10 },
    ] as const) {
      const steps = listPlan(filter);
      // Equality on the reason (not the range reason > NULL) and on the fate: SQLite reads
      // each range in seq order and stops one once the page cannot get better.
      expect(steps[0], JSON.stringify(filter)).toBe('SEARCH events USING COVERING INDEX events_settled_reason (fate=? AND reason=? AND rowid<?)');
      expect(steps.some((step) => TABLE_SCAN.test(step))).toBe(false);
    }
    // Both given: one range, already in order.
    expect(listPlan({ fate: 'dead', reason: 'http-400' }).join('\n')).not.toContain('TEMP B-TREE');
  });

  it('then reads the page\'s rows by rowid', () => {
    const seqs = insertTranslatedEvents(db.store.sqlite, 3, { fate: 'dead', reason: 'http-400' }).map((event) => event.seq);
    const ran: string[] = [];
    const { sqlite } = db.store;
    const prepare = sqlite.prepare.bind(sqlite);
    sqlite.prepare = ((sql: string) => {
      ran.push(sql);
      return prepare(sql);
    }) as typeof sqlite.prepare;
    try {
      expect(listEvents(db.store, { fate: 'dead', limit: 10 }).events).toHaveLength(3);
    } finally {
      sqlite.prepare = prepare;
    }
    const rowsRead = ran.filter((sql) => !Object.values(LIST_SQL).includes(sql) && !/^(BEGIN|COMMIT)/.test(sql));
    expect(rowsRead).toHaveLength(1);
    expect((prepare(`EXPLAIN QUERY PLAN ${rowsRead[0]}`).all(...seqs) as Array<{ detail: string }>).map((step) => step.detail)).toEqual([
      'SEARCH events USING INTEGER PRIMARY KEY (rowid=?)',
    ]);
  });
});

describe('getEvent', () => {
  it('is undefined for an unknown seq', () => {
    expect(getEvent(db.store, 12345)).toBeUndefined();
  });

  it('shows a stored text that is not JSON as it is, and a missing output as null', () => {
    const [event] = insertTranslatedEvents(db.store.sqlite, 1);
    replaceInput(db.store.sqlite, event!.seq, '{"cut off');
    db.store.sqlite.prepare('DELETE FROM event_outputs WHERE seq = ?').run(event!.seq);
    expect(getEvent(db.store, event!.seq)).toMatchObject({ seq: event!.seq, input: '{"cut off', output: null });
  });

  it('reads the row, input and output in one snapshot, whatever another connection commits between them', () => {
    const [event] = insertTranslatedEvents(db.store.sqlite, 1);
    const seq = event!.seq;
    const waiting = getEvent(db.store, seq)!;
    const retranslated = { ...(waiting.output as Record<string, unknown>), id: `urn:uuid:${randomUUID()}` };

    // What the writer thread (or a replay in another process) commits on a connection of its
    // own: the event retranslated and delivered.
    const other = openStore(db.file);
    let committed = false;
    const deliverRetranslation = () => {
      other.sqlite.transaction(() => {
        other.sqlite.prepare(`UPDATE events SET fate = 'delivered', stage = NULL, output_id = ?, delivered_at = 1 WHERE seq = ?`).run(retranslated.id, seq);
        other.sqlite.prepare('UPDATE event_outputs SET output = ? WHERE seq = ?').run(JSON.stringify(retranslated), seq);
      })();
      committed = true;
    };
    // better-sqlite3 runs each statement to completion synchronously, so nothing can be timed
    // to commit between two of them; drizzle's logger is called just before each statement
    // runs, so it commits after getEvent's first read and before the rest.
    let statements = 0;
    const logger = {
      logQuery() {
        statements += 1;
        if (statements === 2) deliverRetranslation();
      },
    };
    const watched: Store = { ...db.store, db: drizzle(db.store.sqlite, { schema, logger }) };
    try {
      expect(getEvent(watched, seq)).toMatchObject({ fate: 'pending', outputId: waiting.outputId, output: waiting.output });
      expect(committed).toBe(true);
      expect(getEvent(db.store, seq)).toMatchObject({ fate: 'delivered', outputId: retranslated.id, output: retranslated });
    } finally {
      other.close();
    }
  });

  it('shows an event held until the gateway is configured as not scheduled, other times as ISO text', () => {
    const [held] = insertTranslatedEvents(db.store.sqlite, 1, { stage: 'translate', nextAttemptAt: UNTIL_CONFIGURED });
    const [tried] = insertTranslatedEvents(db.store.sqlite, 1, { nextAttemptAt: Date.parse('2026-03-02T11:00:00.000Z'), firstAttemptAt: 0 });
    expect(getEvent(db.store, held!.seq)).toMatchObject({ nextAttemptAt: null, firstAttemptAt: null, deliveredAt: null });
    expect(getEvent(db.store, tried!.seq)).toMatchObject({ nextAttemptAt: '2026-03-02T11:00:00.000Z', firstAttemptAt: '1970-01-01T00:00:00.000Z' });
  });
});

describe('the queue counts', () => {
  it('count every fate, zero for the ones with no events', () => {
    insertTranslatedEvents(db.store.sqlite, 3);
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'delivered', stage: null, deliveredAt: 1 });
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    expect(countByFate(db.store)).toEqual({ pending: 3, delivered: 2, skipped: 0, rejected: 0, dead: 1 });
  });

  it('count the exceptions by fate:reason', () => {
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'dead', reason: 'http-400' });
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'max-age' });
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'skipped', reason: 'no-rule' });
    insertTranslatedEvents(db.store.sqlite, 1);
    expect(countByReason(db.store)).toEqual({ 'dead:http-400': 2, 'dead:max-age': 1, 'skipped:no-rule': 1 });
  });

  it('fateCounts fills in missing fates and ignores names that are no fate', () => {
    expect(fateCounts([{ fate: 'dead', count: 4 }, { fate: 'lost', count: 9 }])).toEqual({ pending: 0, delivered: 0, skipped: 0, rejected: 0, dead: 4 });
  });

  it('count as delivered every event that is not pending and has no reason, as the rows say', () => {
    insertTranslatedEvents(db.store.sqlite, 4, { fate: 'delivered', stage: null, deliveredAt: 1 });
    insertTranslatedEvents(db.store.sqlite, 2, { stage: 'translate', nextAttemptAt: UNTIL_CONFIGURED });
    insertTranslatedEvents(db.store.sqlite, 1, { stage: null });
    insertTranslatedEvents(db.store.sqlite, 3, { fate: 'skipped', reason: 'rule-skips', stage: null });
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'rejected', reason: 'invalid-event', stage: null });
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'max-age', stage: null });
    const grouped = db.store.sqlite.prepare('SELECT fate, count(*) AS n FROM events GROUP BY fate').all() as Array<{ fate: string; n: number }>;
    expect(countByFate(db.store)).toEqual(Object.fromEntries(grouped.map((row) => [row.fate, row.n])));
    expect(countByFate(db.store)).toEqual({ pending: 3, delivered: 4, skipped: 3, rejected: 2, dead: 1 });
  });

  it('count pending events per stage, and those held until configured', () => {
    insertTranslatedEvents(db.store.sqlite, 2, { stage: 'translate', nextAttemptAt: UNTIL_CONFIGURED });
    insertTranslatedEvents(db.store.sqlite, 1, { stage: 'translate', nextAttemptAt: null });
    insertTranslatedEvents(db.store.sqlite, 4);
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400', stage: null });
    expect(pendingByStage(db.store)).toEqual({ translate: 3, deliver: 4 });
    expect(heldUntilConfigured(db.store)).toBe(2);
  });

  it('find the pending event received first, or nothing when none waits', () => {
    expect(oldestPending(db.store)).toBeUndefined();
    expect(oldestPendingReceivedAt(db.store)).toBeUndefined();
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'delivered', stage: null, receivedAt: 1_000 });
    const [first] = insertTranslatedEvents(db.store.sqlite, 1, { receivedAt: 2_000 });
    insertTranslatedEvents(db.store.sqlite, 2, { stage: 'translate', receivedAt: 3_000 });
    expect(oldestPending(db.store)).toEqual({ seq: first!.seq, stage: 'deliver', receivedAt: 2_000 });
    expect(oldestPendingReceivedAt(db.store)).toBe(2_000);
  });
});
