/**
 * Keeps the database bounded: delivered events older than DELIVERED_RETENTION are deleted,
 * then envelopes left with no events. Runs on a timer in small batches (one short
 * transaction each, yielding to the event loop in between), so intake and delivery never
 * wait behind it. In the service the writer thread commits the batches: on the event loop a
 * batch waited for the write lock (up to the busy timeout) behind an envelope's commit, and
 * every request waited with it. Dead, rejected and pending events are never pruned: they are what an admin
 * inspects and replays. Nor, by default, are skipped ones; but a school whose rules skip its
 * instructors' traffic keeps about 4 KB for each of those events, for good, so SKIPPED_RETENTION
 * lets the admin choose how long a skipped event stays replayable.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/database.ts';
import { BATCH_HOLDING_SQL, packInputs, prepareInputWrite, unpackInputs, type InputBatch } from '../store/input-batches.ts';
import type { StoreWriter } from '../store/writer.ts';

export interface RetentionDeps {
  config: Config;
  store: Store;
  log: Logger;
  now?: () => number;
  /**
   * Events (or envelopes, in the sweep) per transaction: events are taken an input batch at a
   * time, so a transaction goes past it by up to the rest of its last batch (255 events).
   */
  batchSize?: number;
  /**
   * Commits the batches: the service's writer thread, so the event loop never waits for the
   * write lock behind an envelope's commit (default: the service's own connection).
   */
  writer?: Pick<StoreWriter, 'pruneRetention'>;
}

export interface PruneReport {
  /** Delivered events deleted. */
  events: number;
  /** Skipped events deleted (SKIPPED_RETENTION). */
  skipped: number;
  envelopes: number;
}

export interface Retention {
  readonly name: 'retention';
  start(): void;
  /** One full pass now; resolves when nothing more is old enough. */
  runOnce(): Promise<PruneReport>;
  stop(): Promise<void>;
}

/** The statements, exported so a test can check their query plans. */
export const RETENTION_SQL = {
  // INDEXED BY pins the partial index, which reads just the oldest delivered rows. When every
  // row was in a (fate, reason) index, the planner (which has no statistics) took that one and
  // sorted every delivered row on each batch.
  oldestDelivered: `
    SELECT seq FROM events INDEXED BY events_delivered_at
     WHERE fate = 'delivered' AND delivered_at < ? ORDER BY delivered_at LIMIT 1`,
  oldestSkipped: `
    SELECT seq FROM events INDEXED BY events_skipped_at
     WHERE fate = 'skipped' AND updated_at < ? ORDER BY updated_at LIMIT 1`,
  // Every event old enough in one input batch's range of seqs, so the batch is rewritten once.
  // NOT INDEXED keeps the planner on the seq range (a rowid lookup) rather than the partial
  // indexes, which hold every old event of every envelope.
  deleteDeliveredIn: `
    DELETE FROM events NOT INDEXED
     WHERE seq BETWEEN ? AND ? AND fate = 'delivered' AND delivered_at < ?
    RETURNING envelope_id AS envelopeId`,
  deleteSkippedIn: `
    DELETE FROM events NOT INDEXED
     WHERE seq BETWEEN ? AND ? AND fate = 'skipped' AND updated_at < ?
    RETURNING envelope_id AS envelopeId`,
  // An envelope's inputs go with it: its batches hold no other envelope's events, and it is
  // deleted only once it has no events left.
  deleteEnvelopeIfEmpty: `
    DELETE FROM envelopes WHERE id = ? AND NOT EXISTS (SELECT 1 FROM events WHERE envelope_id = ?)
    RETURNING first_seq AS firstSeq, last_seq AS lastSeq`,
  deleteInputs: `
    DELETE FROM event_input_batches WHERE first_seq BETWEEN ? AND ?`,
  // An envelope that keeps some of its events loses the others' inputs batch by batch: the
  // batch holding a pruned event is rewritten with the inputs of the events still stored.
  batchHolding: BATCH_HOLDING_SQL,
  storedSeqs: `
    SELECT seq FROM events WHERE seq BETWEEN ? AND ?`,
  deleteBatch: `
    DELETE FROM event_input_batches WHERE first_seq = ?`,
  nextEnvelopes: `
    SELECT id, received_at AS receivedAt FROM envelopes WHERE id > ? ORDER BY id LIMIT ?`,
};

/** One transaction of a pass: delivered or skipped events past `cutoff`, or a sweep of envelopes after `afterId`. */
export type RetentionBatch =
  | { kind: 'delivered' | 'skipped'; cutoff: number; limit: number }
  | { kind: 'envelopes'; afterId: number; cutoff: number; limit: number };

export interface RetentionBatchResult {
  /** Events deleted. */
  events: number;
  /** Envelopes deleted (left with no events). */
  envelopes: number;
  /** Nothing more of this kind is old enough. */
  done: boolean;
  /** For a sweep: the last envelope it went past, where the next one starts. */
  lastId?: number;
}

/**
 * The statements of one retention batch, on one connection: the writer thread's
 * (store/writer-thread.ts) or, without it, the service's own. Makes no transaction of its own.
 */
export function prepareRetentionBatch(sqlite: Database.Database): (batch: RetentionBatch) => RetentionBatchResult {
  const oldest = {
    delivered: sqlite.prepare<[number], number>(RETENTION_SQL.oldestDelivered).pluck(),
    skipped: sqlite.prepare<[number], number>(RETENTION_SQL.oldestSkipped).pluck(),
  };
  const deleteIn = {
    delivered: sqlite.prepare<[number, number, number], number>(RETENTION_SQL.deleteDeliveredIn).pluck(),
    skipped: sqlite.prepare<[number, number, number], number>(RETENTION_SQL.deleteSkippedIn).pluck(),
  };
  const deleteEnvelopeRow = sqlite.prepare<[number, number], { firstSeq: number | null; lastSeq: number | null }>(
    RETENTION_SQL.deleteEnvelopeIfEmpty,
  );
  const deleteInputs = sqlite.prepare<[number, number]>(RETENTION_SQL.deleteInputs);
  /** 1 when the envelope had no events left and was deleted, with its inputs; else 0. */
  const deleteEnvelopeIfEmpty = (id: number): number => {
    const deleted = deleteEnvelopeRow.get(id, id);
    if (!deleted) return 0;
    if (deleted.firstSeq !== null && deleted.lastSeq !== null) deleteInputs.run(deleted.firstSeq, deleted.lastSeq);
    return 1;
  };
  const nextEnvelopes = sqlite.prepare<[number, number], { id: number; receivedAt: number }>(RETENTION_SQL.nextEnvelopes);
  const batchHolding = sqlite.prepare<[number], InputBatch>(RETENTION_SQL.batchHolding);
  const storedSeqs = sqlite.prepare<[number, number], number>(RETENTION_SQL.storedSeqs).pluck();
  const deleteBatch = sqlite.prepare<[number]>(RETENTION_SQL.deleteBatch);
  const writeInputs = prepareInputWrite(sqlite);

  /**
   * Rewrites a batch without the inputs of its deleted events, for an envelope that keeps
   * others (dead, rejected, pending, or skipped ones kept for good): a delivered event's
   * input, a student's activity, is kept no longer than the event.
   */
  const dropInputs = (batch: InputBatch): void => {
    const kept = new Set(storedSeqs.all(batch.firstSeq, batch.lastSeq));
    let left: Array<[number, string]> = [];
    if (kept.size > 0) {
      try {
        left = [...unpackInputs(batch)].filter(([stored]) => kept.has(stored));
      } catch {
        return; // A damaged batch is left as it is: nothing can read it anyway.
      }
    }
    deleteBatch.run(batch.firstSeq);
    if (left.length > 0) writeInputs(packInputs(left.map(([stored]) => stored), left.map(([, raw]) => raw)));
  };

  /**
   * Deletes the oldest events of a kind an input batch at a time: with the oldest, every
   * other event of its batch that is old enough too. Taken strictly oldest first, events
   * delivered out of order (retries, a roster outage, a replay) spread each transaction over
   * many batches, and each batch was decompressed and compressed again by every transaction
   * that took one of its events: 0.2-0.6 s a transaction on the writer thread, which intake's
   * commits wait behind, where this takes each batch once a pass.
   */
  const pruneEvents = (kind: 'delivered' | 'skipped', cutoff: number, limit: number): RetentionBatchResult => {
    let events = 0;
    let envelopes = 0;
    while (events < limit) {
      const seq = oldest[kind].get(cutoff);
      if (seq === undefined) return { events, envelopes, done: true };
      const batch = batchHolding.get(seq);
      // Inputs from before batches, one row each, go with their event by cascade.
      const inBatch = batch !== undefined && seq <= batch.lastSeq;
      const deleted = deleteIn[kind].all(inBatch ? batch.firstSeq : seq, inBatch ? batch.lastSeq : seq, cutoff);
      events += deleted.length;
      let emptied = 0;
      for (const envelopeId of new Set(deleted)) emptied += deleteEnvelopeIfEmpty(envelopeId);
      if (emptied === 0 && inBatch) dropInputs(batch);
      envelopes += emptied;
    }
    return { events, envelopes, done: false };
  };

  const sweepEnvelopes = (afterId: number, cutoff: number, limit: number): RetentionBatchResult => {
    let lastId: number | undefined;
    let envelopes = 0;
    const rows = nextEnvelopes.all(afterId, limit);
    for (const { id, receivedAt } of rows) {
      if (receivedAt >= cutoff) return { events: 0, envelopes, done: true, lastId };
      envelopes += deleteEnvelopeIfEmpty(id);
      lastId = id;
    }
    return { events: 0, envelopes, done: rows.length < limit, lastId };
  };

  return (batch) =>
    batch.kind === 'envelopes'
      ? sweepEnvelopes(batch.afterId, batch.cutoff, batch.limit)
      : pruneEvents(batch.kind, batch.cutoff, batch.limit);
}

export function createRetention({ config, store, log, now = Date.now, batchSize = 1_000, writer }: RetentionDeps): Retention {
  const retentionMs = config.delivery.retentionMs;
  const skippedRetentionMs = config.delivery.skippedRetentionMs;
  const every = Math.min(300_000, Math.max(1_000, Math.floor(retentionMs / 4)));
  const runBatch = writer ? (batch: RetentionBatch) => writer.pruneRetention(batch) : directBatches(store);

  // Envelopes that never had a stored event (all duplicates) are found by a forward sweep in
  // id order, which is the order they were received in, give or take the seconds a large one
  // takes to parse. So the sweep stops at the first envelope not yet old enough, and the next
  // pass starts there. It used to look for old ones among every envelope after the cursor:
  // where delivered events are kept long, each pass read the whole table on the event loop
  // (12-16 ms for 240,000 envelopes, 95 ms from a cold cache), and it stepped past a young
  // envelope for good when an older one followed it. (A clock set back holds the sweep at the
  // envelopes received before until it catches up: only envelopes of duplicates wait for it.)
  // The cursor spares each pass from re-reading envelopes that still hold events.
  let sweptUpTo = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<PruneReport> | undefined;
  let stopping = false;

  /** Deletes delivered or skipped events in batches; returns how many, adding emptied envelopes to `total`. */
  async function prune(kind: 'delivered' | 'skipped', cutoff: number, total: PruneReport): Promise<number> {
    let events = 0;
    for (;;) {
      if (stopping) return events;
      const batch = await runBatch({ kind, cutoff, limit: batchSize });
      events += batch.events;
      total.envelopes += batch.envelopes;
      if (batch.done) return events;
      await nextTurn();
    }
  }

  async function pass(): Promise<PruneReport> {
    const at = now();
    const cutoff = at - retentionMs;
    const total: PruneReport = { events: 0, skipped: 0, envelopes: 0 };
    total.events = await prune('delivered', cutoff, total);
    if (skippedRetentionMs > 0) total.skipped = await prune('skipped', at - skippedRetentionMs, total);
    for (;;) {
      if (stopping) return total;
      const batch = await runBatch({ kind: 'envelopes', afterId: sweptUpTo, cutoff, limit: batchSize });
      total.envelopes += batch.envelopes;
      if (batch.lastId !== undefined) sweptUpTo = batch.lastId;
      if (batch.done) break;
      await nextTurn();
    }
    if (total.events > 0 || total.skipped > 0 || total.envelopes > 0) {
      log.info({ ...total, retentionMs, skippedRetentionMs }, 'pruned events past retention');
    }
    return total;
  }

  function runOnce(): Promise<PruneReport> {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  }

  function schedule(): void {
    if (stopping) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((err: unknown) => log.error({ err }, 'pruning delivered events failed; trying again next pass'))
        .finally(schedule);
    }, every);
    timer.unref();
  }

  return {
    name: 'retention',
    start: schedule,
    runOnce,
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/** Without the writer thread: each batch in a transaction of its own on the service's connection. */
function directBatches(store: Store): (batch: RetentionBatch) => Promise<RetentionBatchResult> {
  const inTransaction = store.sqlite.transaction(prepareRetentionBatch(store.sqlite));
  return async (batch) => inTransaction(batch);
}
