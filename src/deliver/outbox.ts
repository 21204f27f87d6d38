/**
 * Delivery's view of the events table: which translated events are due, and recording what
 * TimeBack answered. Prepared better-sqlite3 statements on the partial index
 * `events_pending_due`; results are written many per transaction.
 *
 * There is no claim column: one process owns the database, so "in flight" lives in the
 * worker's memory. After a crash every pending row is simply due again and is re-sent with
 * the same output id, which TimeBack treats as the same event (409 counts as delivered).
 */
import type Database from 'better-sqlite3';
import type { Store } from '../store/database.ts';
import type { StoreWriter } from '../store/writer.ts';

export interface DueEvent {
  seq: number;
  /** The Caliper 1.2 event as JSON text: the whole POST body. */
  output: string | null;
  outputId: string | null;
  /** Delivery attempts so far (reset by a replay). */
  attempts: number;
  firstAttemptAt: number | null;
  /** The row's `updated_at` when it was read: which version of the event this attempt sends. */
  updatedAt: number;
}

/** What one delivery round (one or two POSTs) did to an event. */
export interface DeliveryRecord {
  seq: number;
  /**
   * The row's `updated_at` when it was read for this attempt. The result is written only to
   * that version of the row: one written again after an unclear commit (the writer thread
   * stopped before saying whether it committed) must not land on the event once a replay and
   * a new translation have made it due again, nor count its attempts twice.
   */
  readUpdatedAt: number;
  fate: 'delivered' | 'pending' | 'dead';
  /** POSTs made in this round. */
  posts: number;
  startedAt: number;
  finishedAt: number;
  status: number | null;
  response: string | null;
  /** For `pending`: when to try again. */
  nextAttemptAt: number | null;
  reason: string | null;
  detail: string | null;
}

export interface Outbox {
  /** The seqs of up to `limit` pending, translated events due at `now`, soonest first. */
  due(now: number, limit: number): number[];
  /** The events to send among `seqs`: those still waiting for delivery, in seq order. */
  load(seqs: readonly number[]): DueEvent[];
  /** The earliest future retry time, if any event waits for one. */
  nextDueAfter(now: number): number | undefined;
  /**
   * Records a batch of results in one transaction; resolves once it is committed, with whether
   * each row holds its result (see `prepareDeliveryRecords`).
   */
  record(records: readonly DeliveryRecord[]): Promise<readonly boolean[]>;
}


/** The statements, exported so a test can check their query plans. */
export const OUTBOX_SQL = {
  // Two index range scans glued together: rows the translate stage left without a time
  // (NULL sorts first and `<= ?` would skip them), then rows whose time has come.
  // INDEXED BY pins the partial index, which reads only the due rows: the planner has no
  // statistics, and when every row was in a (fate, reason) index it took that one and read
  // every pending row. Only the seqs: the index alone answers, and the worker loads the rows
  // shortly before it sends them (`load`), so a body is read once, just before its POST, and
  // is garbage right after it.
  due: `
    SELECT seq FROM events INDEXED BY events_pending_due
     WHERE fate = 'pending' AND stage = 'deliver' AND next_attempt_at IS NULL
    UNION ALL
    SELECT seq FROM events INDEXED BY events_pending_due
     WHERE fate = 'pending' AND stage = 'deliver' AND next_attempt_at <= ?
    LIMIT ?`,
  // Several rows per statement: each read begins a read transaction, and a connection
  // drops its page cache whenever another (the writer thread) has committed since its last
  // one, so rows read one by one would each be read from the file again. NOT INDEXED: by
  // rowid, never through the pending index (which the planner would otherwise scan whole).
  // The body comes from event_outputs, by the same rowid.
  load: `
    SELECT e.seq, o.output, e.output_id AS outputId, e.attempts, e.first_attempt_at AS firstAttemptAt, e.updated_at AS updatedAt
      FROM events AS e NOT INDEXED LEFT JOIN event_outputs AS o ON o.seq = e.seq
     WHERE e.seq IN (SELECT value FROM json_each(?)) AND e.fate = 'pending' AND e.stage = 'deliver'
     ORDER BY e.seq`,
  nextDue: `
    SELECT MIN(next_attempt_at) AS at FROM events INDEXED BY events_pending_due
     WHERE fate = 'pending' AND stage = 'deliver' AND next_attempt_at > ?`,
  // Guarded by fate/stage and by the version of the row that was sent: a row that changed
  // hands meanwhile (settled, replayed, translated anew) is left alone.
  record: `
    UPDATE events SET
      fate = @fate,
      stage = CASE WHEN @fate = 'pending' THEN 'deliver' ELSE NULL END,
      reason = @reason,
      detail = @detail,
      attempts = attempts + @posts,
      first_attempt_at = COALESCE(first_attempt_at, @startedAt),
      last_attempt_at = @finishedAt,
      last_status = @status,
      last_response = @response,
      next_attempt_at = @nextAttemptAt,
      delivered_at = CASE WHEN @fate = 'delivered' THEN @finishedAt ELSE NULL END,
      updated_at = @finishedAt
    WHERE seq = @seq AND fate = 'pending' AND stage = 'deliver' AND updated_at = @readUpdatedAt`,
  // A result the guarded UPDATE left alone may be there already: written again after an unclear
  // commit that did land. No other write sets last_attempt_at (a replay and a new translation
  // keep it), and no other attempt of the event ends while this one's result is unwritten.
  recordedBefore: 'SELECT 1 FROM events WHERE seq = ? AND last_attempt_at = ?',
};

/**
 * Writes a batch of results on this connection; makes no transaction of its own (it runs in
 * a group commit, on the writer thread or the service's connection). Says, record by record,
 * whether its row holds the result: written now, or by an earlier commit of the same result
 * whose answer was lost. A result whose row changed hands meanwhile is no fate of the event's,
 * and the worker does not count it; one written before is counted now, as the worker never
 * heard of that commit.
 */
export function prepareDeliveryRecords(sqlite: Database.Database): (records: readonly DeliveryRecord[]) => boolean[] {
  const recordStatement = sqlite.prepare(OUTBOX_SQL.record);
  const recordedBeforeStatement = sqlite.prepare<[number, number], 1>(OUTBOX_SQL.recordedBefore).pluck();
  return (records) =>
    records.map(
      (record) => recordStatement.run(record).changes > 0 || recordedBeforeStatement.get(record.seq, record.finishedAt) !== undefined,
    );
}

/** Reads on `store`'s connection; results are committed by `writer`. */
export function createOutbox(store: Store, writer: StoreWriter): Outbox {
  const { sqlite } = store;
  const dueStatement = sqlite.prepare<[number, number], number>(OUTBOX_SQL.due).pluck();
  const loadStatement = sqlite.prepare<[string], DueEvent>(OUTBOX_SQL.load);
  const nextDueStatement = sqlite.prepare<[number], { at: number | null }>(OUTBOX_SQL.nextDue);

  return {
    due: (now, limit) => dueStatement.all(now, limit),
    load: (seqs) => loadStatement.all(JSON.stringify(seqs)),
    nextDueAfter: (now) => nextDueStatement.get(now)?.at ?? undefined,
    record: (records) => writer.recordDeliveries(records),
  };
}
