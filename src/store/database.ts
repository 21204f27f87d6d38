/**
 * Opens the SQLite file the way a long-running service needs it and applies migrations.
 * One connection per process: better-sqlite3 is synchronous, every transaction runs to
 * completion on the event loop, so a single connection never contends with itself.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

export type Db = BetterSQLite3Database<typeof schema>;

export interface Store {
  /** The raw better-sqlite3 handle, for prepared statements on hot paths. */
  sqlite: Database.Database;
  /** The drizzle handle, for everything else. */
  db: Db;
  file: string;
  close(): void;
}

export function openStore(file: string): Store {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new Database(file);

  // WAL lets the CLI (status, replay) read while the service writes.
  sqlite.pragma('journal_mode = WAL');
  // FULL: every commit is fsynced before we answer 200. Learn has no way to resend what
  // we acknowledged, so an acknowledged envelope must survive power loss, not only a
  // process crash (NORMAL in WAL mode can lose the last commits on power loss). It costs
  // about one fsync per commit (~0.35 ms measured here), and every writer batches its
  // rows into few transactions, so the cost is per batch, not per event.
  sqlite.pragma('synchronous = FULL');
  // Wait for a short lock held by the CLI instead of failing with SQLITE_BUSY.
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('temp_store = MEMORY');
  // 16 MiB page cache: enough to keep the pending-queue index hot, small enough for the memory budget.
  sqlite.pragma('cache_size = -16384');
  // A 5,000-event envelope grows the WAL by ~25 MB; truncate it back after checkpoints.
  sqlite.pragma('journal_size_limit = 67108864');

  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS_DIR });

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
 * `status` that run beside the service (WAL lets them read while it writes).
 */
export function openStoreReadOnly(file: string): Store {
  const sqlite = new Database(file, { readonly: true, fileMustExist: true });
  sqlite.pragma('busy_timeout = 5000');
  return { sqlite, db: drizzle(sqlite, { schema }), file, close: () => sqlite.close() };
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
