/**
 * Delivery results on their way to the database, many per transaction: each commit rewrites
 * the same few index and table pages whatever its size (delivery-tuning.ts has the numbers).
 * Results whose commit failed (a full disk, a write lock held elsewhere) are written again on
 * a timer. Their events stay claimed: TimeBack has answered for them, and sending them again
 * because the answer could not be written would only repeat the failure at full speed.
 * Meanwhile `problem` says why, and the worker sends nothing new.
 */
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { DeliveryRecord, Outbox } from './outbox.ts';

/** A result waiting to be committed; `cause` labels the retry metric and is not stored. */
export type PendingRecord = DeliveryRecord & { cause?: string };

export interface ResultBatchesOptions {
  outbox: Pick<Outbox, 'record'>;
  log: Logger;
  /** Results per transaction, and how long a result may wait for company. */
  flushEvery: number;
  flushDelayMs: number;
  /** How long results whose commit failed wait before they are written again. */
  rewriteAfterMs: number;
  /** The batch is committed; `held[i]` says whether the row of `batch[i]` holds its result (Outbox.record). */
  committed(batch: readonly PendingRecord[], held: readonly boolean[]): void;
  /** The batch could not be committed during shutdown: its rows stay pending and due. */
  abandoned(batch: readonly PendingRecord[]): void;
}

export interface ResultBatches {
  add(record: PendingRecord): void;
  /** Hands what waits to the store now. */
  flush(): void;
  /** Why the last commit of results failed, until one succeeds. */
  readonly problem: string | undefined;
  /** Shutdown began: no more timed rewrites, and the results waiting for one go first in the next flush. */
  beginStop(): void;
  /** Resolves once every batch handed to the store has been committed or has failed. */
  settled(): Promise<void>;
}

export function createResultBatches(options: ResultBatchesOptions): ResultBatches {
  const { outbox, log } = options;
  /** Results not yet handed to the store: flushed at `flushEvery`, or by `flushTimer` after `flushDelayMs`. */
  const pendingRecords: PendingRecord[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  /** Result batches being committed. */
  const recording = new Set<Promise<void>>();
  /** Results whose commit failed, written again by `rewriteTimer`. Their events stay claimed. */
  const unwritten: PendingRecord[] = [];
  let problem: string | undefined;
  let rewriteTimer: NodeJS.Timeout | undefined;
  let stopping = false;

  function flush(): void {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    if (pendingRecords.length === 0) return;
    const batch = pendingRecords.splice(0);
    // The events stay claimed until their results are committed: never sent twice at once.
    const written = outbox.record(batch).then((held) => recorded(batch, held), (err: unknown) => notRecorded(batch, err));
    recording.add(written);
    void written.finally(() => recording.delete(written));
  }

  function recorded(batch: readonly PendingRecord[], held: readonly boolean[]): void {
    if (problem !== undefined && unwritten.length === 0 && rewriteTimer === undefined) {
      problem = undefined;
      log.info('delivery results are written again; delivery resumes');
    }
    options.committed(batch, held);
  }

  /** The commit failed: the results wait in `unwritten` and are written again on a timer (not at shutdown). */
  function notRecorded(batch: readonly PendingRecord[], err: unknown): void {
    if (stopping) {
      // The rows stay pending and due: they are sent again (same id) on the next start, never lost.
      log.error({ err, events: batch.length }, 'could not record delivery results; those events will be sent again');
      options.abandoned(batch);
      return;
    }
    if (problem === undefined) {
      log.error({ err, events: batch.length }, 'could not record delivery results; delivery waits until they can be written');
    }
    problem = errorMessage(err);
    for (const entry of batch) unwritten.push(entry);
    if (rewriteTimer === undefined) {
      rewriteTimer = setTimeout(rewrite, options.rewriteAfterMs);
      rewriteTimer.unref();
    }
  }

  function rewrite(): void {
    rewriteTimer = undefined;
    if (stopping) return;
    pendingRecords.unshift(...unwritten.splice(0));
    flush();
  }

  return {
    add(record) {
      pendingRecords.push(record);
      if (pendingRecords.length >= options.flushEvery) flush();
      else flushTimer ??= setTimeout(flush, options.flushDelayMs);
    },
    flush,
    get problem() {
      return problem;
    },
    beginStop() {
      stopping = true;
      clearTimeout(rewriteTimer);
      pendingRecords.unshift(...unwritten.splice(0));
    },
    async settled() {
      await Promise.allSettled([...recording]);
    },
  };
}
