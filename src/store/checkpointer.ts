/**
 * Moves WAL checkpoints off the event loop. By default SQLite checkpoints inside the
 * commit that pushes the WAL past 1,000 pages, so every few envelopes one of them also
 * copies ~4 MB back into the database file, on the event loop. Measured here: a 25-event
 * envelope's commit averaged 1.14 ms (p99 9.8 ms) that way and 0.60 ms (p99 1.05 ms)
 * without; a 5,000-event one 178 ms against 109 ms.
 *
 * So the service's connection turns automatic checkpoints off, and a worker thread with
 * its own connection runs PASSIVE checkpoints (which never block writers) every second, and
 * sooner under busy intake (below). If the worker cannot run, automatic checkpoints are
 * turned back on.
 *
 * PASSIVE alone cannot keep up with sustained intake: SQLite starts the WAL over only when a
 * writer begins after every frame was copied back, and with commits every few milliseconds
 * that moment never comes. Measured here, 8 s of busy intake grew the WAL to 900 MB, and
 * every commit got slower as it extended the file. So when the WAL holds more than
 * RESTART_ABOVE_BYTES after the PASSIVE pass, a RESTART follows: it waits for the commit in
 * progress, copies the few frames written since the PASSIVE pass while holding writers off
 * (a short pause), and lets the next commit start the WAL over. With it the same intake ran
 * 40% faster, the WAL staying between 64 and 160 MB.
 *
 * Busy intake does not wait for the second: every PASS_EVERY_BYTES of envelopes committed
 * asks for a pass at once. At one pass a second, intake grew the WAL to 250 MB between
 * passes, and each restart cut it back to journal_size_limit (64 MB), so most WAL writes
 * went into pages the file had just given up. On this machine's VM, writing into pages new
 * to the page cache runs at 0.6-0.7 GB/s against 8 GB/s for pages already there; the
 * writer thread spent 13% of its time in that copy. With the extra passes the WAL stays
 * within the limit and its pages are reused: the writer thread took 15-17 µs per event
 * instead of 18-22, and intake gained about 10%. Delivery, whose small writes rewrite the
 * same pages over and over, keeps the one pass a second: at ten a second it copied those
 * pages ten times as often and lost a few percent.
 *
 * The same thread, idle between checkpoints, answers the metrics scrape's count of events by
 * fate. That count reads every page of an index (15-35 ms for 2.5 million events measured
 * here), and on the event loop it would hold up every request for that long, each scrape.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.ts';
import type { Store } from './database.ts';
import { fateCounts, GAUGE_SQL } from './event-queries.ts';
import type { Fate } from './schema.ts';

export const SQLITE_DEFAULT_AUTOCHECKPOINT = 1000;
/** 32 MiB of WAL: a few hundred ms of busy intake. */
const RESTART_ABOVE_BYTES = 32 * 1024 * 1024;
/**
 * Envelope bytes committed between two passes under busy intake. The WAL grows by about as
 * much (25-event envelopes) or less (large ones), now that inputs are stored compressed; when it
 * grew by twice as much, this was 8 MiB. Kept at 8 MiB, the passes came twice as often for the
 * same WAL: 25-event intake ran at 0.485-0.491 of the bare rate against 0.53-0.55 (paired runs).
 */
const PASS_EVERY_BYTES = 16 * 1024 * 1024;

// Plain CommonJS evaluated in the worker, so it needs no TypeScript loader there.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
// How long one RESTART may wait, first for the write lock and then for readers of old
// frames. Once it has the write lock it holds every writer off, and SQLite's busy handler
// sleeps in steps that grow to 25-100 ms: with 250 ms here, acks waited up to 720 ms behind
// it. So each try is short, and the pass tries again after a pause. A try that cannot get the
// write lock works as a PASSIVE one; one that cannot wait out a reader has still copied every
// frame, and the next commit starts the WAL over unless that reader is still there.
db.pragma('busy_timeout = 10');
const RESTART_TRIES = 10;
const pause = new Int32Array(new SharedArrayBuffer(4));
let closed = false;
const checkpoint = () => {
  if (closed) return;
  try {
    const [{ log }] = db.pragma('wal_checkpoint(PASSIVE)');
    if (log <= workerData.restartAboveFrames) return;
    for (let tries = 1; ; tries++) {
      const [{ busy }] = db.pragma('wal_checkpoint(RESTART)');
      if (!busy || tries === RESTART_TRIES) break;
      Atomics.wait(pause, 0, 0, 10);
    }
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) });
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
let countByFate;
parentPort.on('message', (message) => {
  if (message && message.countByFate !== undefined) {
    try {
      countByFate ??= db.prepare(workerData.countByFateSql);
      parentPort.postMessage({ id: message.countByFate, rows: countByFate.all() });
    } catch (error) {
      parentPort.postMessage({ id: message.countByFate, error: String(error && error.message || error) });
    }
    return;
  }
  if (message === 'pass') return checkpoint();
  if (message !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  closed = true;
  db.close();
  parentPort.close();
});
parentPort.postMessage({ ready: true });
`;

export interface Checkpointer {
  /** Intake committed an envelope of this many bytes (enough of them asks for a pass at once). */
  envelopeWritten(bytes: number): void;
  /** Events per fate, counted on the thread's own connection; rejects when the thread is gone. */
  countByFate(): Promise<Record<Fate, number>>;
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  intervalMs?: number;
  /** WAL frames after a PASSIVE pass above which a RESTART follows. */
  restartAboveFrames?: number;
  /**
   * Hears when checkpoints go back to the commits (the worker stopped), so other
   * connections that write (the writer thread) can turn theirs back on too.
   */
  onAutomatic?: (pages: number) => void;
}

export function startCheckpointer(
  store: Store,
  log: Logger,
  { intervalMs = 1_000, restartAboveFrames, onAutomatic }: CheckpointerOptions = {},
): Checkpointer | undefined {
  if (store.file === ':memory:') return undefined;
  // One WAL frame holds one page; databases made before 16 KiB pages still have 4 KiB ones.
  restartAboveFrames ??= Math.ceil(RESTART_ABOVE_BYTES / (store.sqlite.pragma('page_size', { simple: true }) as number));
  const restoreAutomatic = () => {
    try {
      store.sqlite.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT}`);
    } catch {
      // The store is already closed; nothing left to checkpoint from this side.
    }
    onAutomatic?.(SQLITE_DEFAULT_AUTOCHECKPOINT);
  };

  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        file: store.file,
        intervalMs,
        restartAboveFrames,
        countByFateSql: GAUGE_SQL.countByFate,
      },
    });
  } catch (err) {
    log.warn({ err }, 'background checkpoints unavailable; SQLite checkpoints during commits instead');
    return undefined;
  }
  store.sqlite.pragma('wal_autocheckpoint = 0');

  let stopped = false;
  let gone = false;
  const counts = new Map<number, { resolve(counts: Record<Fate, number>): void; reject(error: Error): void }>();
  let nextCount = 0;
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      gone = true;
      for (const waiting of counts.values()) waiting.reject(new Error('the checkpoint thread stopped'));
      counts.clear();
      resolve();
    }),
  );
  let reportedError = false;
  worker.on('message', (message: { id?: number; rows?: Array<{ fate: string; count: number }>; error?: string }) => {
    if (message.id !== undefined) {
      const waiting = counts.get(message.id);
      counts.delete(message.id);
      if (message.rows) waiting?.resolve(fateCounts(message.rows));
      else waiting?.reject(new Error(message.error ?? 'count failed'));
      // Unless stop() holds the thread until it exits.
      if (counts.size === 0 && !stopped) worker.unref();
      return;
    }
    // A failing checkpoint is retried at the next pass; say so once, not every time.
    if (message.error && !reportedError) {
      reportedError = true;
      log.warn({ error: message.error }, 'background WAL checkpoint failed; will keep trying');
    }
  });
  worker.on('error', (err) => {
    log.warn({ err }, 'background checkpoints stopped; SQLite checkpoints during commits instead');
    restoreAutomatic();
  });
  worker.once('exit', () => {
    if (!stopped) restoreAutomatic();
  });
  // The checkpointer alone must not keep the process alive.
  worker.unref();

  let bytesSincePass = 0;
  return {
    envelopeWritten(bytes) {
      bytesSincePass += bytes;
      if (bytesSincePass < PASS_EVERY_BYTES || gone || stopped) return;
      bytesSincePass = 0;
      worker.postMessage('pass');
    },

    countByFate() {
      if (gone || stopped) return Promise.reject(new Error('the checkpoint thread is not running'));
      return new Promise((resolve, reject) => {
        const id = nextCount++;
        // A scrape waiting for its answer keeps the process up until it comes.
        if (counts.size === 0) worker.ref();
        counts.set(id, { resolve, reject });
        worker.postMessage({ countByFate: id });
      });
    },

    async stop() {
      if (stopped) return exited;
      stopped = true;
      restoreAutomatic();
      worker.ref();
      worker.postMessage('stop');
      await exited;
    },
  };
}
