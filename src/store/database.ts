/**
 * Opens the SQLite file the way a long-running service needs it and applies migrations.
 * The service's connection: better-sqlite3 is synchronous, every transaction runs to
 * completion on the event loop, so it never contends with itself. Two threads have
 * connections of their own: the pipeline's writes (writer-thread.ts) and checkpoints
 * (checkpointer.ts).
 */
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { BUSY_TIMEOUT_MS, configureConnection } from './connection.ts';
import { databasePathProblem } from './database-path.ts';
import { assertSchemaCurrent, DatabaseSchemaError, migrateDatabase } from './migrate.ts';
import * as schema from './schema.ts';

export { MIGRATIONS_DIR } from './migrate.ts';

export type Db = BetterSQLite3Database<typeof schema>;

export interface Store {
  /** The raw better-sqlite3 handle, for prepared statements on hot paths. */
  sqlite: Database.Database;
  /** The drizzle handle, for everything else. */
  db: Db;
  file: string;
  close(): void;
}

/** The service's store: applies this release's migrations first (only `serve` upgrades a database). */
export function openStore(file: string): Store {
  if (file !== ':memory:') createOwnerOnly(file);
  const sqlite = new Database(file);
  // 16 KiB pages for a new database (an existing one keeps its size: SQLite changes it only
  // before the first table, and never in WAL mode). A stored event is 2-5 KB of JSON, so a
  // 4 KiB page held one event and SQLite wrote one WAL frame (two writes) per event; with
  // four or five events a page, a commit makes a quarter of the writes. Measured here with
  // 1,000-event envelopes: intake +30% (0.60 -> 0.69 of the bare handler), delivery no worse.
  sqlite.pragma('page_size = 16384');
  return storeOf(file, sqlite, () => {
    configureConnection(sqlite);
    migrateDatabase(sqlite);
  });
}

/**
 * The events hold students' ids and activity: a new database (and a folder made for it) is
 * the owner's only, where SQLite would make it world-readable under the usual umask. Its
 * -wal and -shm files take the database's mode. An existing file keeps the mode it has.
 */
function createOwnerOnly(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', 0o600));
}

/**
 * For the commands that write beside a running gateway (replay, roster-cache): the database
 * must already be in this release's schema. They never migrate it, since the gateway beside
 * them may be the older release the upgrade would break; they say to start `serve` instead.
 */
export function openStoreForCommand(file: string): Store {
  return openedForCommand(file, () => {
    const sqlite = new Database(file);
    return storeOf(file, sqlite, () => {
      configureConnection(sqlite);
      // A new file (a gateway that has never started on it) only needs creating.
      if (assertSchemaCurrent(sqlite).state === 'behind') migrateDatabase(sqlite);
    });
  });
}

/** DB_PATH names something SQLite cannot open or read: not a database, a folder, no permission. */
export class DatabaseOpenError extends Error {
  constructor(file: string, cause: unknown) {
    super(`cannot open the database at ${file} (DB_PATH): ${openProblem(file, cause)}`, { cause });
    this.name = 'DatabaseOpenError';
  }
}

/**
 * Why DB_PATH did not open. A folder is the likely slip (DB_PATH=/var/lib/caliper-gateway), and
 * SQLite calls it a "disk I/O error" or "unable to open database file", which sends an admin
 * looking at the disk.
 */
export function openProblem(file: string, cause: unknown): string {
  if (isFolder(file)) return `it is a folder; DB_PATH names the database file itself, such as ${path.join(file, 'gateway.db')}`;
  return cause instanceof Error ? cause.message : String(cause);
}

export function isFolder(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A command's store, with SQLite's own failures put in an admin's words: its bare error
 * ("file is not a database") names neither the file nor the setting. A schema of another
 * release keeps its own error, which says what to do.
 */
function openedForCommand(file: string, open: () => Store): Store {
  // Before SQLite opens it: a named pipe there held `status` forever.
  const problem = databasePathProblem(file);
  if (problem !== undefined) throw new DatabaseOpenError(file, problem);
  try {
    return open();
  } catch (err) {
    if (err instanceof DatabaseSchemaError) throw err;
    throw new DatabaseOpenError(file, err);
  }
}

function storeOf(file: string, sqlite: Database.Database, prepare: () => void): Store {
  try {
    prepare();
  } catch (err) {
    sqlite.close();
    throw err;
  }
  const db = drizzle(sqlite, { schema });
  let closed = false;
  return {
    sqlite,
    db,
    file,
    close() {
      if (closed) return;
      closed = true;
      sqlite.close();
    },
  };
}

/**
 * Opens an existing database for reading only, without migrating: for commands such as
 * `status` that run beside the service (WAL lets them read while it writes). Like the
 * commands that write, it needs the database in this release's schema.
 */
export function openStoreReadOnly(file: string): Store {
  return openedForCommand(file, () => {
    const sqlite = new Database(file, { readonly: true, fileMustExist: true });
    return storeOf(file, sqlite, () => {
      sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      if (assertSchemaCurrent(sqlite).state !== 'current') {
        throw new DatabaseSchemaError(`the database at ${file} (DB_PATH) is empty: no gateway has started on it yet`);
      }
    });
  });
}

/** True when the database answers a trivial query. */
export function isStoreUsable(store: Store): boolean {
  try {
    store.sqlite.prepare('SELECT 1').get();
    return true;
  } catch {
    return false;
  }
}
