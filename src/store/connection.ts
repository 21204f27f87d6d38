/**
 * How every read-write connection to the gateway's database is set up: the service's own
 * (database.ts) and the writer thread's (writer-thread.ts). Kept apart from database.ts so
 * the thread loads better-sqlite3 and nothing else (no ORM, no migrations).
 */
import type Database from 'better-sqlite3';

/** How long a write waits for another connection's lock before it fails with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

export function configureConnection(sqlite: Database.Database): void {
  // WAL lets the CLI (status, replay) read while the service writes.
  sqlite.pragma('journal_mode = WAL');
  // FULL: every commit is fsynced before we answer 200. Learn has no way to resend what
  // we acknowledged, so an acknowledged envelope must survive power loss, not only a
  // process crash (NORMAL in WAL mode can lose the last commits on power loss). It costs
  // about one fsync per commit (~0.35 ms measured here), and every writer batches its
  // rows into few transactions, so the cost is per batch, not per event. (The service
  // relaxes its own connection once the writer thread commits the envelopes: server.ts.)
  sqlite.pragma('synchronous = FULL');
  // Wait for a short lock held by the CLI instead of failing with SQLITE_BUSY.
  sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('temp_store = MEMORY');
  // 16 MiB page cache: enough to keep the pending-queue index hot, small enough for the memory budget.
  sqlite.pragma('cache_size = -16384');
  // A 5,000-event envelope grows the WAL by ~25 MB; truncate it back after checkpoints.
  sqlite.pragma('journal_size_limit = 67108864');
}
