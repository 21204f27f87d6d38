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
 *
 * So that an admin refused by it can find the holder, the holder names itself: its pid goes into
 * the lock file's header (application_id, in the same write that takes the lock), its host and
 * start time into `<DB_PATH>.lock.holder` beside it (deleted again at a clean stop). The header is
 * read as plain bytes, which the lock does not stop; the holder file is believed only when its
 * pid matches the header's, so one left by a gateway killed since never names the wrong process.
 */
import { closeSync, mkdirSync, openSync, readFileSync, readSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';

/** The gateway holding a lock, as far as it recorded itself. */
export interface LockHolder {
  pid: number;
  /** Absent when the holder file is missing or names another pid. */
  host?: string;
  startedAt?: string;
}

export class DatabaseInUseError extends Error {
  constructor(file: string, holder: LockHolder | undefined) {
    super(
      `another caliper-gateway (${describeHolder(holder)}) is serving the database at ${file} (DB_PATH); stop it first, or give this one a DB_PATH of its own`,
    );
    this.name = 'DatabaseInUseError';
  }
}

/** The holder in words, for the refusal and the wait's warning. */
export function describeHolder(holder: LockHolder | undefined): string {
  // A release before this one, holding the lock now, wrote no pid.
  if (!holder) return 'its pid is not recorded: an older release';
  const where = holder.host ? ` on ${holder.host}` : '';
  const since = holder.startedAt ? `, started ${holder.startedAt}` : '';
  return `pid ${holder.pid}${where}${since}`;
}

/** Offsets in an SQLite file's header. */
const USER_VERSION_OFFSET = 60;
const APPLICATION_ID_OFFSET = 68;
const SQLITE_MAGIC = 'SQLite format 3\0';

/** Who holds the lock of `file`, read without taking any lock; undefined when it did not record itself. */
export function readLockHolder(file: string): LockHolder | undefined {
  let pid: number;
  try {
    const header = Buffer.alloc(100);
    const fd = openSync(`${file}.lock`, 'r');
    try {
      if (readSync(fd, header, 0, header.length, 0) < header.length) return undefined;
    } finally {
      closeSync(fd);
    }
    if (header.toString('latin1', 0, SQLITE_MAGIC.length) !== SQLITE_MAGIC) return undefined;
    pid = header.readInt32BE(APPLICATION_ID_OFFSET);
    if (header.readInt32BE(USER_VERSION_OFFSET) !== pid) return undefined;
  } catch {
    return undefined;
  }
  if (pid <= 0) return undefined;
  try {
    const recorded = JSON.parse(readFileSync(holderFile(file), 'utf8')) as Partial<Record<keyof LockHolder, unknown>>;
    if (recorded.pid === pid && typeof recorded.host === 'string' && typeof recorded.startedAt === 'string') {
      return { pid, host: recorded.host, startedAt: recorded.startedAt };
    }
  } catch {
    // Missing or unreadable: the pid alone still finds the process.
  }
  return { pid };
}

const holderFile = (file: string) => `${file}.lock.holder`;

/**
 * Writes the holder file; the lock works without it, so a failure only costs the refusal's
 * detail. Returns what it wrote, for the release to know the file is still its own.
 */
function recordHolder(file: string): string | undefined {
  const holder: LockHolder = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString() };
  const text = `${JSON.stringify(holder)}\n`;
  try {
    writeFileSync(holderFile(file), text, { mode: 0o600 });
    return text;
  } catch {
    // A full disk, say: the header's pid is recorded all the same.
    return undefined;
  }
}

/**
 * Deletes the holder file at a clean stop, so that it names no gateway that has gone; only if it
 * is still what this holder wrote. Done while the lock is still held: no other gateway can
 * have written it meanwhile. One left by kill -9 stays, and is not believed (its pid no longer
 * matches the header's once another gateway takes the lock) until the next holder overwrites it.
 */
function forgetHolder(file: string, written: string | undefined): void {
  if (written === undefined) return;
  try {
    if (readFileSync(holderFile(file), 'utf8') === written) unlinkSync(holderFile(file));
  } catch {
    // Gone already, or unreadable: nothing of ours to delete.
  }
}

export interface InstanceLock {
  release(): void;
}

export interface LockOptions {
  /** How long to wait for a gateway that is stopping (its SHUTDOWN_TIMEOUT) before giving up. */
  waitMs?: number;
  /** Called once if the lock is held when first tried, with its holder as far as it recorded itself. */
  onWait?: (holder: LockHolder | undefined) => void;
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
      // One write: the pid is in the file from the moment the lock is held. user_version is
      // set to it too, as a release before this one sets user_version alone: a pid it left in
      // application_id then no longer matches, and is not believed.
      lock.exec(`BEGIN IMMEDIATE; PRAGMA application_id = ${process.pid}; PRAGMA user_version = ${process.pid}; COMMIT`);
      let written = recordHolder(file);
      return {
        release: () => {
          forgetHolder(file, written);
          written = undefined;
          lock.close();
        },
      };
    } catch (err) {
      lock.close();
      if ((err as { code?: unknown }).code !== 'SQLITE_BUSY') throw err;
      if (Date.now() >= deadline) throw new DatabaseInUseError(file, readLockHolder(file));
      if (tries === 1) onWait?.(readLockHolder(file));
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
