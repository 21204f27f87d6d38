/**
 * Brings a database to this release's schema. The migrations are drizzle-kit's files in
 * ./migrations, recorded in drizzle's `__drizzle_migrations` table as drizzle's migrator
 * records them (a row per migration: its file's hash and its journal `when`), so a
 * database migrated by any earlier release carries on. The loop is ours rather than
 * drizzle's migrate() for what a school's upgrade and rollback need:
 * - a database a newer release migrated is refused, saying so: drizzle's migrator applies
 *   nothing and lets this release run on a schema it does not know (a rollback across the
 *   move of `output` to event_outputs would write to a column that is gone);
 * - a failed migration says why: after SQLite rolled a transaction back by itself, as it
 *   does when the disk is full, drizzle's own ROLLBACK throws "no transaction is active"
 *   in place of the cause;
 * - the drafts of 0000_initial that the first day's gateways ran are finished (below).
 * Every pending migration runs in one transaction: a failure (full disk, kill -9) leaves
 * the database as the previous release left it, and the next start tries again.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { readMigrationFiles } from 'drizzle-orm/migrator';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

/** drizzle's table, created as drizzle creates it. */
const MIGRATIONS_TABLE = '__drizzle_migrations';
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`;

/**
 * 0000_initial was edited in place three times on the first day before it took its final
 * form (the events' input moved to event_inputs last), each edit with a new journal `when`.
 * A database made by one of those drafts records the draft's `when`: drizzle took it for
 * an older migration and ran the final 0000 again, which failed on its first CREATE TABLE.
 */
const DRAFT_INITIAL_WHENS = [1795319630751, 1795320373716, 1795321021890];

/** The database's schema is not one this release can use (or could not be made one). */
export class DatabaseSchemaError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DatabaseSchemaError';
  }
}

interface Migration {
  tag: string;
  hash: string;
  when: number;
  statements: string[];
}

export type SchemaState =
  | { state: 'current' }
  /** `fresh`: no migration was ever applied (a new file). */
  | { state: 'behind'; pending: string[]; fresh: boolean; draftInitial: boolean }
  | { state: 'ahead'; unknown: number };

const shipped = new Map<string, Migration[]>();

function shippedMigrations(folder: string): Migration[] {
  let migrations = shipped.get(folder);
  if (!migrations) {
    const journal = JSON.parse(readFileSync(path.join(folder, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> };
    migrations = readMigrationFiles({ migrationsFolder: folder }).map((file, i) => ({
      tag: journal.entries[i]!.tag,
      hash: file.hash,
      when: file.folderMillis,
      statements: file.sql,
    }));
    shipped.set(folder, migrations);
  }
  return migrations;
}

function appliedWhens(sqlite: Database.Database): number[] {
  const table = sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(MIGRATIONS_TABLE);
  if (!table) return [];
  return (sqlite.prepare(`SELECT created_at FROM "${MIGRATIONS_TABLE}"`).pluck().all() as Array<number | string>).map(Number);
}

/** Where the database stands against the migrations of this release. Reads only. */
export function schemaState(sqlite: Database.Database, folder = MIGRATIONS_DIR): SchemaState {
  const migrations = shippedMigrations(folder);
  const applied = appliedWhens(sqlite);
  const newest = migrations.at(-1)?.when ?? 0;
  const unknown = applied.filter((when) => when > newest).length;
  if (unknown > 0) return { state: 'ahead', unknown };
  const last = applied.length > 0 ? Math.max(...applied) : undefined;
  const draftInitial = last !== undefined && DRAFT_INITIAL_WHENS.includes(last);
  const pending = migrations.filter((m) => last === undefined || draftInitial || m.when > last).map((m) => m.tag);
  if (pending.length === 0) return { state: 'current' };
  return { state: 'behind', pending, fresh: last === undefined, draftInitial };
}

/** Applies every pending migration, or none; throws DatabaseSchemaError saying why not. */
export function migrateDatabase(sqlite: Database.Database, folder = MIGRATIONS_DIR): void {
  const status = schemaState(sqlite, folder);
  if (status.state === 'ahead') throw newerDatabase(sqlite.name, status.unknown);
  if (status.state === 'current') return;

  const migrations = shippedMigrations(folder);
  let running = '';
  try {
    sqlite
      .transaction(() => {
        sqlite.exec(CREATE_MIGRATIONS_TABLE);
        const record = sqlite.prepare(`INSERT INTO "${MIGRATIONS_TABLE}" ("hash", "created_at") VALUES (?, ?)`);
        for (const migration of migrations) {
          if (!status.pending.includes(migration.tag)) continue;
          running = migration.tag;
          if (status.draftInitial && migration === migrations[0]) {
            finishDraftInitial(sqlite, migration);
            continue;
          }
          for (const statement of migration.statements) sqlite.exec(statement);
          record.run(migration.hash, migration.when);
        }
      })
      // IMMEDIATE: take the write lock first, waiting (busy_timeout) for a command that is
      // writing beside us, rather than fail halfway with SQLITE_BUSY on upgrading a read lock.
      .immediate();
  } catch (err) {
    const step = running ? `migration ${running} failed` : 'the upgrade could not begin';
    throw new DatabaseSchemaError(
      `cannot upgrade the database at ${sqlite.name} (DB_PATH): ${step}, and the database is left as it was (start again to retry): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * For the commands that work beside a running gateway (status, replay, roster-cache): they
 * never migrate, since the gateway beside them may be an older release that the new schema
 * would break. A new, empty file is the exception: nothing can be using it yet.
 */
export function assertSchemaCurrent(sqlite: Database.Database, folder = MIGRATIONS_DIR): SchemaState {
  const status = schemaState(sqlite, folder);
  if (status.state === 'ahead') throw newerDatabase(sqlite.name, status.unknown);
  if (status.state === 'behind' && !status.fresh) {
    throw new DatabaseSchemaError(
      `the database at ${sqlite.name} (DB_PATH) is still in an older caliper-gateway release's schema (${status.pending.join(', ')} not applied): start this release's serve on it once, which upgrades it; until then use the older release's commands`,
    );
  }
  return status;
}

function newerDatabase(file: string, unknown: number): DatabaseSchemaError {
  return new DatabaseSchemaError(
    `the database at ${file} (DB_PATH) was migrated by a newer caliper-gateway release: it has ${unknown} migration${unknown === 1 ? '' : 's'} this release does not know. Run that release on it, or restore the copy of the database taken before the upgrade`,
  );
}

/**
 * Brings a database made by a draft of 0000_initial to the final one, then records the
 * final one as applied. Each step looks at what is there, since the drafts differ: the first
 * lacks roster_cache.detail, the first two events.first_attempt_at and its envelope index,
 * and all three keep each event's input in events.raw.
 */
function finishDraftInitial(sqlite: Database.Database, initial: Migration): void {
  const columns = (table: string) => new Set(sqlite.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(table) as string[]);
  if (!columns('roster_cache').has('detail')) sqlite.exec('ALTER TABLE `roster_cache` ADD `detail` text');
  if (!columns('events').has('first_attempt_at')) sqlite.exec('ALTER TABLE `events` ADD `first_attempt_at` integer');
  sqlite.exec('CREATE INDEX IF NOT EXISTS `events_envelope_id` ON `events` (`envelope_id`)');
  if (columns('events').has('raw')) {
    const createInputs = initial.statements.find((statement) => statement.trim().startsWith('CREATE TABLE `event_inputs`'));
    if (!createInputs) throw new Error('0000_initial no longer creates event_inputs');
    sqlite.exec(createInputs);
    sqlite.exec('INSERT INTO `event_inputs` (`seq`, `raw`) SELECT `seq`, `raw` FROM `events`');
    sqlite.exec('ALTER TABLE `events` DROP COLUMN `raw`');
  }
  sqlite.prepare(`UPDATE "${MIGRATIONS_TABLE}" SET hash = ?, created_at = ?`).run(initial.hash, initial.when);
}
