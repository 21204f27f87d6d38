/**
 * One gateway per database. Two serving the same DB_PATH each keep their own list of the
 * events they have in flight, so both send the same pending events: measured with two
 * gateways on one file, 2,000 events cost 2,316 POSTs. TimeBack's handling of a repeated
 * id is not documented, so the second gateway refuses to start instead.
 *
 * The lock is SQLite's own exclusive lock on a small file beside the database,
 * `<DB_PATH>.lock`, held until the gateway closes it. The operating system drops it when the
 * process ends however it ends (kill -9 included), so a crash never leaves a stale lock for
 * the next start to trip over. The commands that work beside a running gateway (status,
 * replay, roster-cache) do not take it.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export class DatabaseInUseError extends Error {
  constructor(file: string) {
    super(
      `another caliper-gateway is serving the database at ${file} (DB_PATH); stop it first, or give this one a DB_PATH of its own`,
    );
    this.name = 'DatabaseInUseError';
  }
}

export interface InstanceLock {
  release(): void;
}

export interface LockOptions {
  /** How long to wait for a gateway that is stopping (its SHUTDOWN_TIMEOUT) before giving up. */
  waitMs?: number;
  /** Called once if the lock is held when first tried. */
  onWait?: () => void;
}

const RETRY_MS = 100;

export async function lockDatabase(file: string, { waitMs = 0, onWait }: LockOptions = {}): Promise<InstanceLock> {
  if (file === ':memory:') return { release() {} };
  // The database's folder, if it is made here: the owner's only, as openStore makes it.
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + waitMs;
  for (let tries = 1; ; tries += 1) {
    const lock = new Database(`${file}.lock`);
    try {
      lock.pragma('busy_timeout = 0');
      // No journal file: taking the lock must work on a disk too full for one.
      lock.pragma('journal_mode = MEMORY');
      // In this mode the first write takes the exclusive lock and keeps it until close().
      lock.pragma('locking_mode = EXCLUSIVE');
      lock.pragma(`user_version = ${tries}`);
      return { release: () => lock.close() };
    } catch (err) {
      lock.close();
      if ((err as { code?: unknown }).code !== 'SQLITE_BUSY') throw err;
      if (Date.now() >= deadline) throw new DatabaseInUseError(file);
      if (tries === 1) onWait?.();
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

/**
 * Whether a gateway holds the lock of `file` now (true), none does (false), or it cannot be
 * told (undefined: the lock file cannot be read). For the commands that work beside one: a
 * replay's events are only delivered by a running gateway. Reads without waiting; the
 * moment's shared lock it takes can only make a starting gateway retry once (RETRY_MS).
 */
export function isDatabaseServed(file: string): boolean | undefined {
  if (file === ':memory:') return false;
  let probe: Database.Database;
  try {
    probe = new Database(`${file}.lock`, { readonly: true, fileMustExist: true });
  } catch (err) {
    // No lock file: no gateway has ever served this database.
    return (err as { code?: unknown }).code === 'SQLITE_CANTOPEN' ? false : undefined;
  }
  try {
    probe.pragma('busy_timeout = 0');
    probe.pragma('user_version');
    return false;
  } catch (err) {
    return (err as { code?: unknown }).code === 'SQLITE_BUSY' ? true : undefined;
  } finally {
    probe.close();
  }
}
