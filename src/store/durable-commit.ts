/**
 * Commits what admins do (replays, roster-cache evictions) with synchronous=FULL on whatever
 * connection they run on. Once the writer thread commits the envelopes, the service's own
 * connection runs NORMAL (server.ts): its routine commits may be lost to a power cut and are
 * redone the same way. An admin's is not redone by anyone: told "replayed" or "evicted", the
 * admin moves on, and a power cut that undid it would go unnoticed. So it is fsynced before
 * the answer, at the cost of one fsync per transaction on the event loop, for a rare write
 * the admin waits for anyway.
 */
import type Database from 'better-sqlite3';

/** SQLite's PRAGMA synchronous levels: OFF 0, NORMAL 1, FULL 2, EXTRA 3. */
const FULL = 2;

/**
 * Runs `commit` (synchronous code that commits its own transaction on `sqlite`) with
 * synchronous=FULL, then puts back the level it found. Switching is safe because nothing
 * else can run on the connection while `commit` does. Inside a transaction SQLite refuses the
 * switch: the owner of that transaction decides, and `commit` runs as it is.
 */
export function durably<T>(sqlite: Database.Database, commit: () => T): T {
  if (sqlite.inTransaction) return commit();
  const level = sqlite.pragma('synchronous', { simple: true }) as number;
  if (level >= FULL) return commit();
  sqlite.pragma(`synchronous = ${FULL}`);
  try {
    return commit();
  } finally {
    sqlite.pragma(`synchronous = ${level}`);
  }
}
