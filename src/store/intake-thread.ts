/**
 * Intake on a thread of its own, with its own connection to the database.
 *
 * Committing an envelope is mostly waiting: SQLite writes every changed page to the WAL and
 * fsyncs it (synchronous=FULL) before Learn may hear 200. On the event loop that wait held
 * up everything else, so one thread could only parse or commit, never both; measured here,
 * 25-event envelopes of 3 KB events came in at 0.11-0.16 of the bare-handler rate. Here the
 * event loop reads, parses and checks the next envelopes while this thread commits the last
 * ones, and everything that arrives during a commit shares the next one (group commit).
 *
 * The guarantees do not move: `write` resolves only after the thread's COMMIT returned, each
 * envelope sits in its own savepoint, and a failed transaction rejects every envelope in it
 * with nothing written. The event loop's own writes (translation, delivery, the roster
 * cache) now take turns with this thread for SQLite's write lock; they wait at most for the
 * commit in progress (busy_timeout), never for the queue behind it.
 *
 * If the thread cannot start, or dies, intake falls back to the event loop (`createIntake`).
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.ts';
import type { Store } from './database.ts';
import { createIntake, type EnvelopeBatch, type Intake, type IntakeResult } from './intake.ts';

export interface IntakeThreadOptions {
  /** `wal_autocheckpoint` for the thread's connection: 0 while the background checkpointer runs. */
  autoCheckpoint: number;
  /** How long a commit waits for another connection's write lock before it fails (default: as configured). */
  busyTimeoutMs?: number;
}

export interface IntakeThreadData extends IntakeThreadOptions {
  file: string;
}

export type ToIntakeThread =
  | { type: 'write'; id: number; batch: EnvelopeBatch }
  | { type: 'auto-checkpoint'; pages: number }
  | { type: 'stop' };

export type WriteOutcome =
  | { id: number; result: IntakeResult; error?: undefined }
  | { id: number; result?: undefined; error: { message: string; code?: string } };

export interface IntakeThread extends Intake {
  /** Sets `wal_autocheckpoint` on the thread's connection (the checkpointer gave up: turn them back on). */
  setAutoCheckpoint(pages: number): void;
  /** Commits what is queued, closes the thread's connection and ends the thread. */
  stop(): Promise<void>;
}

/**
 * The thread runs TypeScript like the rest of the gateway: it registers tsx's loader for
 * itself before importing its entry module (loader hooks are not inherited by workers).
 */
function bootstrapSource(): string {
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./intake-thread-entry.ts', import.meta.url).href;
  return `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
}

/** Starts the thread and waits until its connection is open; undefined when it cannot run. */
export async function startIntakeThread(
  store: Store,
  log: Logger,
  options: IntakeThreadOptions,
): Promise<IntakeThread | undefined> {
  if (store.file === ':memory:') return undefined;
  const workerData: IntakeThreadData = { file: store.file, ...options };
  let worker: Worker;
  try {
    worker = new Worker(bootstrapSource(), { eval: true, workerData });
  } catch (err) {
    log.warn({ err }, 'intake thread unavailable; envelopes are committed on the main thread');
    return undefined;
  }
  const started = await new Promise<boolean>((resolve) => {
    worker.once('message', (message) => resolve(message === 'ready'));
    worker.once('error', (err) => {
      log.warn({ err }, 'intake thread failed to start; envelopes are committed on the main thread');
      resolve(false);
    });
    worker.once('exit', () => resolve(false));
  });
  if (!started) {
    await worker.terminate();
    return undefined;
  }

  const pending = new Map<number, { resolve(result: IntakeResult): void; reject(error: unknown): void }>();
  let nextId = 0;
  let stopping = false;
  let fallback: Intake | undefined;

  worker.on('message', (outcomes: WriteOutcome[]) => {
    for (const outcome of outcomes) {
      const waiting = pending.get(outcome.id);
      pending.delete(outcome.id);
      if (outcome.result) waiting?.resolve(outcome.result);
      else waiting?.reject(Object.assign(new Error(outcome.error.message), outcome.error.code ? { code: outcome.error.code } : {}));
    }
  });
  worker.on('error', (err) => log.error({ err }, 'intake thread failed'));
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      // The thread may or may not have committed these; their senders get a 503 and resend,
      // and a resent event is stored once.
      for (const waiting of pending.values()) waiting.reject(new Error(`the intake thread stopped (exit code ${code})`));
      pending.clear();
      if (!stopping) {
        log.error({ code }, 'intake thread stopped; envelopes are committed on the main thread from now on');
        fallback = createIntake(store);
      }
      resolve();
    }),
  );
  // The HTTP server keeps the process alive; the thread alone must not.
  worker.unref();

  const send = (message: ToIntakeThread) => worker.postMessage(message);

  return {
    write(batch) {
      if (fallback) return fallback.write(batch);
      if (stopping) return Promise.reject(new Error('intake is shutting down'));
      return new Promise<IntakeResult>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        // The body moves to the thread instead of being copied (the request is done with it).
        worker.postMessage({ type: 'write', id, batch } satisfies ToIntakeThread, batch.transferable ? [batch.transferable] : []);
      });
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
