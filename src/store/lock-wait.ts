/**
 * Writes on the service's own connection that must not hold the event loop long. Once the
 * writer thread commits the pipeline's writes (writer-thread.ts), a write on this connection
 * takes its turn for SQLite's write lock, and better-sqlite3 waits for it synchronously,
 * inside SQLite's busy handler: with the connection's busy_timeout (5 s), behind a
 * 5,000-event envelope's commit, every request, delivery and /healthz waited with it.
 * Here a write waits at most EVENT_LOOP_LOCK_WAIT_MS at a time; an admin's write, which
 * must land, tries again after a pause that lets the event loop run (`retryWhileBusy`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type Database from 'better-sqlite3';

/** How long one write on the event loop waits for the write lock: a commit of the thread's, not a queue of them. */
export const EVENT_LOOP_LOCK_WAIT_MS = 200;

/** SQLITE_BUSY and its extended codes (BUSY_SNAPSHOT, BUSY_TIMEOUT): another connection had the lock. */
export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * Runs `write` (synchronous, on `sqlite`) with busy_timeout lowered to `waitMs`, then puts
 * back the one it found; a write that cannot have the lock in that time throws SQLITE_BUSY
 * and, being one transaction, leaves nothing written.
 */
export function withLockWait<T>(sqlite: Database.Database, waitMs: number, write: () => T): T {
  const previous = sqlite.pragma('busy_timeout', { simple: true }) as number;
  if (previous <= waitMs) return write();
  sqlite.pragma(`busy_timeout = ${waitMs}`);
  try {
    return write();
  } finally {
    sqlite.pragma(`busy_timeout = ${previous}`);
  }
}

export interface RetryWhileBusyOptions {
  /** Stop trying after this long in all, and throw the last SQLITE_BUSY (default 30 s). */
  giveUpAfterMs?: number;
}

/** Between tries, with the event loop free. */
const PAUSE_MS = 50;

/**
 * Runs `write` (one transaction on `sqlite`) with the lock wait bounded, and while another
 * connection keeps the lock, again after PAUSE_MS, until `giveUpAfterMs`. The event loop is
 * held EVENT_LOOP_LOCK_WAIT_MS at a time at most. Only for writes that may be run again
 * whole: a busy try wrote nothing.
 */
export async function retryWhileBusy<T>(sqlite: Database.Database, write: () => T, options: RetryWhileBusyOptions = {}): Promise<T> {
  const { giveUpAfterMs = 30_000 } = options;
  const started = Date.now();
  for (;;) {
    try {
      return withLockWait(sqlite, EVENT_LOOP_LOCK_WAIT_MS, write);
    } catch (err) {
      if (!isBusy(err) || Date.now() - started >= giveUpAfterMs) throw err;
    }
    await sleep(PAUSE_MS);
  }
}
