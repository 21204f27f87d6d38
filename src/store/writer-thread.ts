/**
 * The pipeline's writes (envelopes, translation results, delivery outcomes, roster answers,
 * retention's deletes) on a thread of their own, with its own connection to the database.
 *
 * A commit is mostly waiting: SQLite writes every changed page to the WAL, and an envelope's
 * commit is fsynced (synchronous=FULL) before Learn may hear 200. On the event loop that
 * wait held up everything else, so one thread could only parse or commit, never both;
 * measured here, 25-event envelopes of 3 KB events came in at 0.11-0.16 of the bare-handler
 * rate, and delivery at 0.3-0.4 of a bare client's, a third of its time in its commits. Here
 * the event loop reads, parses, translates and POSTs while this thread commits, and whatever
 * arrives during a commit shares the next one (group commit).
 *
 * The guarantees do not move: a write resolves only after the thread's COMMIT returned,
 * each write sits in its own savepoint, and a failed transaction rejects every write in it
 * with nothing written.
 *
 * The service's other routine writes come here too: the roster answers its lookups learn
 * (the eviction count checked in the answer's savepoint, under the group's write lock) and
 * retention's batched deletes. better-sqlite3 is synchronous, so on the event loop's
 * connection each of them waited for the write lock inside SQLite's busy handler, up to
 * busy_timeout, behind a 5,000-event envelope's commit (about 25 MB of WAL and an fsync), and
 * every request and delivery waited with it. What stays on the event loop's connection is
 * what admins do (evictions, replays over /admin; the CLI has connections of its own): rare,
 * and the admin waits for the answer anyway, so they are fsynced first (durable-commit.ts);
 * and a little bookkeeping (server.ts).
 *
 * If the thread cannot start, or dies, the writes go back to the event loop (`createStoreWriter`).
 */
import { Worker } from 'node:worker_threads';
import type { DeliveryRecord } from '../deliver/outbox.ts';
import type { RetentionBatch, RetentionBatchResult } from '../deliver/retention.ts';
import type { RosterAnswer } from '../identity/roster-answer-write.ts';
import type { Logger } from '../log.ts';
import type { TranslationResults } from '../mapping/translation-writes.ts';
import type { Store } from './database.ts';
import type { EnvelopeBatch, IntakeResult } from './intake.ts';
import { createStoreWriter, type StoreWriter } from './writer.ts';

export interface WriterThreadOptions {
  /** `wal_autocheckpoint` for the thread's connection: 0 while the background checkpointer runs. */
  autoCheckpoint: number;
  /** How long a commit waits for another connection's write lock before it fails (default: as configured). */
  busyTimeoutMs?: number;
  /**
   * How long, by the clock, a group keeps trying for the write lock before its writes fail
   * (default: the busy timeout). See writer-thread-entry.ts for why this is not left to SQLite.
   */
  lockWaitMs?: number;
}

export interface WriterThreadData extends WriterThreadOptions {
  file: string;
}

export type WriteRequest =
  | { kind: 'envelope'; payload: EnvelopeBatch }
  | { kind: 'translations'; payload: TranslationResults }
  | { kind: 'deliveries'; payload: readonly DeliveryRecord[] }
  | { kind: 'roster-answer'; payload: RosterAnswer }
  | { kind: 'retention'; payload: RetentionBatch };

export type ToWriterThread =
  | { type: 'write'; id: number; request: WriteRequest }
  | { type: 'auto-checkpoint'; pages: number }
  | { type: 'stop' };

export type WriteReply =
  | { id: number; result: unknown; error?: undefined }
  | { id: number; result?: undefined; error: { message: string; code?: string } };

export interface WriterThread extends StoreWriter {
  /** Sets `wal_autocheckpoint` on the thread's connection (the checkpointer gave up: turn them back on). */
  setAutoCheckpoint(pages: number): void;
  /** Commits what is queued, closes the thread's connection and ends the thread. */
  stop(): Promise<void>;
}

const UNCONFIRMED = 'WRITER_THREAD_STOPPED';

/**
 * How a write outstanding when the thread exited is rejected. Its outcome is unknown: a reply
 * posted before the exit still arrives first (checked on Node 20), so the thread had not
 * answered it; but it may have died after the group's COMMIT returned and before its replies
 * were posted (an uncaught error or running out of memory there), and then the write landed.
 */
export function writerThreadStopped(code: number | null): Error {
  return Object.assign(new Error(`the writer thread stopped (exit code ${code})`), { code: UNCONFIRMED });
}

/** Whether a write failed without its outcome being known: it may or may not have been committed. */
export function isUnconfirmedWrite(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === UNCONFIRMED;
}

/**
 * The thread runs TypeScript like the rest of the gateway: it registers tsx's loader for
 * itself before importing its entry module (loader hooks are not inherited by workers).
 */
function bootstrapSource(): string {
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./writer-thread-entry.ts', import.meta.url).href;
  return `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
}

/** Starts the thread and waits until its connection is open; undefined when it cannot run. */
export async function startWriterThread(store: Store, log: Logger, options: WriterThreadOptions): Promise<WriterThread | undefined> {
  if (store.file === ':memory:') return undefined;
  const workerData: WriterThreadData = { file: store.file, ...options };
  let worker: Worker;
  try {
    worker = new Worker(bootstrapSource(), { eval: true, workerData });
  } catch (err) {
    log.warn({ err }, 'writer thread unavailable; the event loop commits the pipeline writes');
    return undefined;
  }
  const started = await new Promise<boolean>((resolve) => {
    worker.once('message', (message) => resolve(message === 'ready'));
    worker.once('error', (err) => {
      log.warn({ err }, 'writer thread failed to start; the event loop commits the pipeline writes');
      resolve(false);
    });
    worker.once('exit', () => resolve(false));
  });
  if (!started) {
    await worker.terminate();
    return undefined;
  }

  const pending = new Map<number, { resolve(result: unknown): void; reject(error: unknown): void }>();
  let nextId = 0;
  let stopping = false;
  let fallback: StoreWriter | undefined;

  worker.on('message', (replies: WriteReply[]) => {
    for (const reply of replies) {
      const waiting = pending.get(reply.id);
      pending.delete(reply.id);
      if (reply.error === undefined) waiting?.resolve(reply.result);
      else waiting?.reject(Object.assign(new Error(reply.error.message), reply.error.code ? { code: reply.error.code } : {}));
    }
    if (pending.size === 0 && !stopping) worker.unref();
  });
  worker.on('error', (err) => log.error({ err }, 'writer thread failed'));
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      // The thread may or may not have committed these; their callers treat them as not
      // written (a 503 that Learn resends, results recorded again), and a resent event is
      // stored once.
      for (const waiting of pending.values()) waiting.reject(writerThreadStopped(code));
      pending.clear();
      if (!stopping) {
        log.error({ code }, 'writer thread stopped; the event loop commits the pipeline writes from now on');
        fallback = createStoreWriter(store);
      }
      resolve();
    }),
  );
  // An idle thread must not keep the process alive; one with writes outstanding must (at
  // shutdown the workers' last results are still being committed after the server closed).
  worker.unref();

  const send = (message: ToWriterThread, transfer: ArrayBuffer[] = []) => worker.postMessage(message, transfer);
  const write = (request: WriteRequest, transfer?: ArrayBuffer[]): Promise<unknown> => {
    if (stopping) return Promise.reject(new Error('the writer is shutting down'));
    return new Promise((resolve, reject) => {
      const id = nextId++;
      if (pending.size === 0) worker.ref();
      pending.set(id, { resolve, reject });
      send({ type: 'write', id, request }, transfer);
    });
  };

  return {
    writeEnvelope(batch) {
      if (fallback) return fallback.writeEnvelope(batch);
      // The body moves to the thread instead of being copied (the request is done with it).
      return write({ kind: 'envelope', payload: batch }, batch.transferable ? [batch.transferable] : []) as Promise<IntakeResult>;
    },

    recordTranslations(results) {
      if (fallback) return fallback.recordTranslations(results);
      return write({ kind: 'translations', payload: results }) as Promise<boolean[]>;
    },

    recordDeliveries(records) {
      if (fallback) return fallback.recordDeliveries(records);
      return write({ kind: 'deliveries', payload: records }) as Promise<boolean[]>;
    },

    recordRosterAnswer(answer) {
      if (fallback) return fallback.recordRosterAnswer(answer);
      return write({ kind: 'roster-answer', payload: answer }) as Promise<boolean>;
    },

    pruneRetention(batch) {
      if (fallback) return fallback.pruneRetention(batch);
      return write({ kind: 'retention', payload: batch }) as Promise<RetentionBatchResult>;
    },

    setAutoCheckpoint(pages) {
      if (!stopping && !fallback) send({ type: 'auto-checkpoint', pages });
    },

    async stop() {
      if (!stopping) {
        stopping = true;
        worker.ref();
        send({ type: 'stop' });
      }
      await exited;
    },
  };
}
