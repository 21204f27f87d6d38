/**
 * Reading events for people: the admin list and detail views, and the counts behind the
 * queue metrics. (The pipeline's own hot paths keep their prepared statements next to
 * the stage that owns them.)
 */
import { eq, inArray } from 'drizzle-orm';
import { MAX_PARSED_BYTES } from '../ingest/envelope-schema.ts';
import type { Store } from './database.ts';
import { createInputReader } from './input-batches.ts';
import { eventOutputs, events, FATES, FATES_WITH_REASON, STAGES, UNTIL_CONFIGURED, type EventRow, type Fate, type Stage } from './schema.ts';

export interface EventListFilter {
  fate?: Fate;
  reason?: string;
  /** Page size. */
  limit: number;
  /** Only events with a smaller seq: pass the last page's `next` to read on. */
  before?: number;
}

/** One line of the admin list: enough to decide which event to open. */
export interface EventSummary {
  seq: number;
  sourceId: string | null;
  sensor: string;
  type: string | null;
  action: string | null;
  fate: Fate;
  stage: Stage | null;
  reason: string | null;
  rule: string | null;
  outputId: string | null;
  attempts: number;
  lastStatus: number | null;
  receivedAt: string;
  updatedAt: string;
}

/** Everything known about one event. */
export interface EventDetail extends EventSummary {
  envelopeId: number;
  eventTime: string | null;
  detail: string | null;
  studentId: string | null;
  platformId: string | null;
  /** The event as Learn sent it. */
  input: unknown;
  /** The Caliper 1.2 event sent (or to be sent) to TimeBack. */
  output: unknown;
  nextAttemptAt: string | null;
  firstAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastResponse: string | null;
  deliveredAt: string | null;
}

const WITH_REASON: ReadonlySet<Fate> = new Set(FATES_WITH_REASON);

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

function summarize(row: EventRow): EventSummary {
  return {
    seq: row.seq,
    sourceId: row.sourceId,
    sensor: row.sensor,
    type: row.type,
    action: row.action,
    fate: row.fate,
    stage: row.stage,
    reason: row.reason,
    rule: row.rule,
    outputId: row.outputId,
    attempts: row.attempts,
    lastStatus: row.lastStatus,
    receivedAt: iso(row.receivedAt),
    updatedAt: iso(row.updatedAt),
  };
}

/**
 * Stored JSON back as a value. Text that is not JSON (it should not happen) is shown as is,
 * and so is JSON nested too deep to be written out again: JSON.parse took Learn's event
 * 200,000 levels deep, but JSON.stringify overflows the stack on it, and the admin's view of
 * the event answered 500. So is an event intake did not read for its size (MAX_PARSED_BYTES).
 */
function parseStored(text: string | null): unknown {
  if (text === null) return null;
  if (text.length > MAX_PARSED_BYTES) return text;
  try {
    const value: unknown = JSON.parse(text);
    JSON.stringify(value);
    return value;
  } catch {
    return text;
  }
}

const EXCEPTION_FATES = FATES_WITH_REASON.map((fate) => `'${fate}'`).join(', ');

/**
 * The first step of each admin list: the seqs of one page, newest first, from an index where
 * one serves, so a page costs about the same in a year-old database as in a new one. The rows
 * are then read by seq. Exported so a test can check their plans.
 */
export const LIST_SQL = {
  all: `SELECT seq FROM events WHERE seq < @before ORDER BY seq DESC LIMIT @limit`,
  // From the small index of pending rows, sorting their seqs only. Read backwards from the
  // table (the planner's choice without INDEXED BY), a page read every older row whenever
  // fewer than a page were pending, the usual case: 0.3 s on 2.5 million events.
  pending: `SELECT seq FROM events INDEXED BY events_pending_due
    WHERE fate = 'pending' AND seq < @before ORDER BY seq DESC LIMIT @limit`,
  // Nearly every event is delivered, so the table read backwards finds a page at once. Their
  // index is in delivery order: sorting all of it for a page took 0.45 s on 2.3 million.
  delivered: `SELECT seq FROM events NOT INDEXED
    WHERE fate = 'delivered' AND seq < @before ORDER BY seq DESC LIMIT @limit`,
  // One (fate, reason) range of the index is in seq order: a page is read and nothing sorted.
  fateAndReason: `SELECT seq FROM events INDEXED BY events_settled_reason
    WHERE fate = @fate AND reason = @reason AND seq < @before ORDER BY seq DESC LIMIT @limit`,
  // A reason alone: only the exception fates carry one. With an IN list, SQLite reads each
  // fate's range newest first and moves to the next once it cannot improve the page.
  reason: `SELECT seq FROM events INDEXED BY events_settled_reason
    WHERE fate IN (${EXCEPTION_FATES}) AND reason = @reason AND seq < @before ORDER BY seq DESC LIMIT @limit`,
  // A fate alone, the same way: its reasons, found by one index seek each (a loose index
  // scan), make the IN list. As a range of the index (reason IS NOT NULL), SQLite read and
  // sorted every event of the fate for each page: 0.26-0.40 s for 150,000 skipped events, and
  // schools keep skipped events for good by default.
  fate: `WITH RECURSIVE reasons(reason) AS (
      SELECT (SELECT min(reason) FROM events INDEXED BY events_settled_reason WHERE fate = @fate AND reason IS NOT NULL)
      UNION ALL
      SELECT (SELECT min(reason) FROM events INDEXED BY events_settled_reason WHERE fate = @fate AND reason > reasons.reason)
        FROM reasons WHERE reasons.reason IS NOT NULL
    )
    SELECT seq FROM events INDEXED BY events_settled_reason
     WHERE fate = @fate AND reason IN (SELECT reason FROM reasons) AND seq < @before ORDER BY seq DESC LIMIT @limit`,
};

/** Which of LIST_SQL serves `filter`; undefined when no event can match (a reason on a fate that has none). */
export function listStatement(filter: Pick<EventListFilter, 'fate' | 'reason'>): keyof typeof LIST_SQL | undefined {
  const { fate, reason } = filter;
  if (fate === undefined) return reason === undefined ? 'all' : 'reason';
  if (!WITH_REASON.has(fate)) return reason === undefined ? (fate === 'pending' ? 'pending' : 'delivered') : undefined;
  return reason === undefined ? 'fate' : 'fateAndReason';
}

/** Newest first; `next` is the `before` for the following page, or null at the end. */
export function listEvents(store: Store, filter: EventListFilter): { events: EventSummary[]; next: number | null } {
  const statement = listStatement(filter);
  if (statement === undefined) return { events: [], next: null };
  // Each statement takes the parameters it names.
  const params = { before: filter.before ?? Number.MAX_SAFE_INTEGER, limit: filter.limit, fate: filter.fate ?? null, reason: filter.reason ?? null };
  // One read transaction: the rows are those of the seqs found, as they were then.
  const rows = store.sqlite.transaction(() => {
    const seqs = store.sqlite.prepare<[typeof params], number>(LIST_SQL[statement]).pluck().all(params);
    if (seqs.length === 0) return [];
    const bySeq = new Map(store.db.select().from(events).where(inArray(events.seq, seqs)).all().map((row) => [row.seq, row]));
    return seqs.flatMap((seq) => bySeq.get(seq) ?? []);
  })();
  const last = rows.at(-1);
  return { events: rows.map(summarize), next: rows.length === filter.limit && last ? last.seq : null };
}

export function getEvent(store: Store, seq: number): EventDetail | undefined {
  // One read transaction: on WAL its first read fixes the snapshot the other two see. Three
  // statements on their own could each see a different commit of the writer thread (or of a
  // replay in another process): a row `delivered` beside the output of the attempt before.
  const stored = store.sqlite.transaction(() => {
    const row = store.db.select().from(events).where(eq(events.seq, seq)).get();
    if (!row) return undefined;
    const input = createInputReader(store.sqlite)([seq]).get(seq) ?? null;
    const sent = store.db.select({ output: eventOutputs.output }).from(eventOutputs).where(eq(eventOutputs.seq, seq)).get();
    return { row, input, sent };
  })();
  if (!stored) return undefined;
  const { row, input, sent } = stored;
  return {
    ...summarize(row),
    envelopeId: row.envelopeId,
    eventTime: row.eventTime,
    detail: row.detail,
    studentId: row.studentId,
    platformId: row.platformId,
    input: parseStored(input),
    output: parseStored(sent?.output ?? null),
    // Held until the gateway is configured: not scheduled (the detail says what it waits for).
    nextAttemptAt: row.nextAttemptAt === UNTIL_CONFIGURED ? null : isoOrNull(row.nextAttemptAt),
    firstAttemptAt: isoOrNull(row.firstAttemptAt),
    lastAttemptAt: isoOrNull(row.lastAttemptAt),
    lastResponse: row.lastResponse,
    deliveredAt: isoOrNull(row.deliveredAt),
  };
}

/** The row of `GAUGE_SQL.countByFate` that counts every event. */
const TOTAL = 'total';

/** Exported so a test can check their query plans. */
export const GAUGE_SQL = {
  pendingByStage: `SELECT stage, count(*) AS count FROM events INDEXED BY events_pending_due WHERE fate = 'pending' GROUP BY stage`,
  oldestPending: `SELECT seq, stage, received_at AS receivedAt FROM events
    WHERE seq = (SELECT MIN(seq) FROM events INDEXED BY events_pending_due WHERE fate = 'pending')`,
  heldUntilConfigured: `SELECT count(*) AS count FROM events INDEXED BY events_pending_due
    WHERE fate = 'pending' AND stage = 'translate' AND next_attempt_at = ${UNTIL_CONFIGURED}`,
  // Pending from its partial index and the exceptions from (fate, reason), entry by entry.
  // The delivered events, most of a database, are what is left of the total, and SQLite counts
  // a table's rows a page at a time when count(*) is all it is asked (not when it is one
  // SELECT of a compound, hence the subquery). Read entry by entry, the delivered index took
  // 70-90 ms per 2.3 million events, at every scrape; the total takes 10-20 ms. Still a read
  // of every page of the smallest index, so the service runs it off the event loop (checkpointer.ts).
  countByFate: `SELECT '${TOTAL}' AS fate, (SELECT count(*) FROM events) AS count
    UNION ALL SELECT 'pending', count(*) FROM events INDEXED BY events_pending_due WHERE fate = 'pending'
    UNION ALL SELECT fate, count(*) FROM events INDEXED BY events_settled_reason WHERE reason IS NOT NULL GROUP BY fate`,
  /** Skipped, rejected and dead events by why. */
  countByReason: `SELECT fate, reason, count(*) AS count FROM events INDEXED BY events_settled_reason
    WHERE reason IS NOT NULL GROUP BY fate, reason`,
};

/**
 * Events per fate, every fate present (0 when none), from the rows of `GAUGE_SQL.countByFate`.
 * Delivered is the total less the others: every event is pending, delivered, or carries a
 * reason (FATES_WITH_REASON), so each of the others is counted once.
 */
export function fateCounts(rows: ReadonlyArray<{ fate: string; count: number }>): Record<Fate, number> {
  const counts = Object.fromEntries(FATES.map((fate) => [fate, 0])) as Record<Fate, number>;
  let total = 0;
  for (const row of rows) {
    if (row.fate === TOTAL) total = row.count;
    else if (row.fate in counts) counts[row.fate as Fate] = row.count;
  }
  const others = FATES.reduce((sum, fate) => (fate === 'delivered' ? sum : sum + counts[fate]), 0);
  counts.delivered = Math.max(0, total - others);
  return counts;
}

/** Events per fate, every fate present (0 when none). Reads indexes, not the rows. */
export function countByFate(store: Store): Record<Fate, number> {
  return fateCounts(store.sqlite.prepare<[], { fate: string; count: number }>(GAUGE_SQL.countByFate).all());
}

/** Skipped, rejected and dead events by `fate:reason`, in the order of the index. */
export function countByReason(store: Store): Record<string, number> {
  const rows = store.sqlite.prepare<[], { fate: Fate; reason: string; count: number }>(GAUGE_SQL.countByReason).all();
  return Object.fromEntries(rows.map((row) => [`${row.fate}:${row.reason}`, row.count]));
}

/**
 * Pending events per stage they wait for; reads only the small pending index (named, so the
 * planner, which has no statistics, cannot pick a wider index and read every pending row).
 */
export function pendingByStage(store: Store): Record<Stage, number> {
  const counts = Object.fromEntries(STAGES.map((stage) => [stage, 0])) as Record<Stage, number>;
  const rows = store.sqlite.prepare<[], { stage: Stage | null; count: number }>(GAUGE_SQL.pendingByStage).all();
  for (const row of rows) if (row.stage !== null) counts[row.stage] = row.count;
  return counts;
}

/**
 * The pending event received longest ago, or undefined when none waits. Finds the smallest
 * pending seq in the pending index (seq grows with arrival) and reads that one row, instead
 * of reading and sorting every pending row by its time.
 */
export function oldestPending(store: Store): { seq: number; stage: Stage | null; receivedAt: number } | undefined {
  return store.sqlite.prepare<[], { seq: number; stage: Stage | null; receivedAt: number }>(GAUGE_SQL.oldestPending).get();
}

/** Pending events held, untried, until the gateway runs with the settings they need (UNTIL_CONFIGURED). */
export function heldUntilConfigured(store: Store): number {
  return store.sqlite.prepare<[], { count: number }>(GAUGE_SQL.heldUntilConfigured).get()?.count ?? 0;
}

/** When the oldest pending event was received, or undefined when none waits. */
export function oldestPendingReceivedAt(store: Store): number | undefined {
  return oldestPending(store)?.receivedAt;
}
