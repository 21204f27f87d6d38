/**
 * Upgrading a school's database: this release opened on the file an earlier release left,
 * and the earlier release on the file this one migrated.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, openStore, openStoreForCommand, openStoreReadOnly } from '../../src/store/database.ts';
import { DatabaseSchemaError, migrateDatabase, schemaState } from '../../src/store/migrate.ts';
import { makeTempDir, type TempDir } from '../helpers/identity-harness.ts';
import { OLD_SCHEMAS, SHIPPED_MIGRATIONS, seedEveryFate, type OldSchema } from '../helpers/old-databases.ts';
import { storedInputs } from '../helpers/stored-inputs.ts';
import { thrownBy } from '../helpers/thrown.ts';

let temp: TempDir;
let file: string;
beforeEach(() => {
  temp = makeTempDir('caliper-gateway-migrate');
  file = join(temp.dir, 'gateway.db');
});
afterEach(() => temp.remove());

function read<T>(path: string, query: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true });
  try {
    return query(db);
  } finally {
    db.close();
  }
}

/** Every table's columns and every index, as a comparable description of a schema. */
function schemaOf(path: string) {
  return read(path, (db) => {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
    return {
      columns: Object.fromEntries(
        tables.map((table) => [
          table,
          (db.prepare('SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?) ORDER BY name').all(table) as unknown[]),
        ]),
      ),
      indexes: db.prepare("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").all(),
      foreignKeys: tables.map((table) => db.prepare('SELECT "table", "from", "to", on_delete FROM pragma_foreign_key_list(?)').all(table)),
    };
  });
}

const eventRows = (path: string) =>
  read(path, (db) =>
    db
      .prepare(
        `SELECT seq, fate, stage, reason, detail, output_id, attempts, next_attempt_at, last_status, last_response, delivered_at, updated_at
         FROM events ORDER BY seq`,
      )
      .all(),
  );
const appliedMigrations = (path: string) => read(path, (db) => db.prepare('SELECT hash, created_at FROM __drizzle_migrations ORDER BY created_at').all());
const shippedHashes = SHIPPED_MIGRATIONS.map((entry) => ({
  hash: createHash('sha256').update(readFileSync(join(MIGRATIONS_DIR, `${entry.tag}.sql`))).digest('hex'),
  created_at: entry.when,
}));

describe('opening a database an earlier release left', () => {
  it.each(OLD_SCHEMAS.map((schema) => [schema.name, schema] as [string, OldSchema]))(
    'upgrades one from %s to the schema of a new database, every event where it was',
    (_name, schema) => {
      schema.create(file);
      const seeded = seedEveryFate(file);
      const before = eventRows(file);
      const roster = read(file, (db) => db.prepare('SELECT external_id, platform_id, outcome, learned_at FROM roster_cache ORDER BY external_id').all());
      const meta = read(file, (db) => db.prepare('SELECT * FROM meta').all());

      openStore(file).close();

      const fresh = join(temp.dir, 'fresh.db');
      openStore(fresh).close();
      expect(schemaOf(file)).toEqual(schemaOf(fresh));
      expect(appliedMigrations(file)).toEqual(shippedHashes);
      expect(eventRows(file)).toEqual(before);
      // Wherever that release kept them (a row each, or a deflated batch), every input reads back.
      expect(read(file, storedInputs)).toEqual(seeded.all.map((event) => ({ seq: event.seq, raw: event.input })));
      expect(read(file, (db) => db.prepare('SELECT seq, output FROM event_outputs ORDER BY seq').all())).toEqual(
        seeded.all.filter((event) => event.output !== null).map((event) => ({ seq: event.seq, output: event.output })),
      );
      expect(read(file, (db) => db.prepare('SELECT external_id, platform_id, outcome, learned_at FROM roster_cache ORDER BY external_id').all())).toEqual(roster);
      expect(read(file, (db) => db.prepare('SELECT * FROM meta').all())).toEqual(meta);
      expect(read(file, (db) => db.pragma('foreign_key_check'))).toEqual([]);
    },
  );

  it('applies the migrations once: opening it again changes nothing', () => {
    OLD_SCHEMAS[1]!.create(file);
    seedEveryFate(file);
    openStore(file).close();
    const schema = schemaOf(file);
    const rows = eventRows(file);

    openStore(file).close();
    expect(appliedMigrations(file)).toEqual(shippedHashes);
    expect(schemaOf(file)).toEqual(schema);
    expect(eventRows(file)).toEqual(rows);
  });

  it('leaves it as it was when the upgrade fails, saying why, and a later start upgrades it', () => {
    // A database before event_outputs: 0004 copies every stored translation, so the file grows.
    const before0004 = OLD_SCHEMAS.find((schema) => schema.name.endsWith('0003_untimed_index'))!;
    before0004.create(file);
    const { delivered } = seedEveryFate(file);
    const full = new Database(file);
    // 100 more delivered events of 8 KB each, so the copy into event_outputs takes ~200 pages.
    full.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
      INSERT INTO events (envelope_id, sensor, source_id, event_time, received_at, fate, output, output_id, attempts, delivered_at, updated_at)
      SELECT envelope_id, sensor, 'bulk-' || i, event_time, received_at, fate, output || printf('%8000s', ''), output_id || '-' || i, attempts, delivered_at, updated_at
      FROM events, n WHERE seq = ${delivered.seq}`);
    const rows = eventRows(file);
    // The disk fills up halfway through that copy.
    full.pragma(`max_page_count = ${(full.pragma('page_count', { simple: true }) as number) + 100}`);

    const error = thrownBy(DatabaseSchemaError, () => migrateDatabase(full));
    full.close();
    expect(error.message).toContain(`cannot upgrade the database at ${file} (DB_PATH): migration 0004_event_outputs failed`);
    expect(error.message).toContain('database or disk is full');
    expect(appliedMigrations(file)).toEqual(shippedHashes.slice(0, 4));
    expect(read(file, (db) => db.prepare("SELECT count(*) AS n FROM pragma_table_info('events') WHERE name = 'output'").get())).toEqual({ n: 1 });

    openStore(file).close();
    expect(appliedMigrations(file)).toEqual(shippedHashes);
    expect(eventRows(file)).toEqual(rows);
  });
});

describe('a database in another release’s schema', () => {
  /** This release's database, then migrated by a release that added one more migration. */
  function migratedByNewerRelease(): void {
    openStore(file).close();
    const db = new Database(file);
    db.exec('CREATE TABLE later_feature (x)');
    db.prepare('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)').run('later', SHIPPED_MIGRATIONS.at(-1)!.when + 86_400_000);
    db.close();
  }

  it('is refused when a newer release migrated it, by serve and by every command, and left alone', () => {
    migratedByNewerRelease();
    const schema = schemaOf(file);

    for (const open of [openStore, openStoreForCommand, openStoreReadOnly]) {
      const error = thrownBy(DatabaseSchemaError, () => open(file));
      expect(error.message).toBe(
        `the database at ${file} (DB_PATH) was migrated by a newer caliper-gateway release: it has 1 migration this release does not know. Run that release on it, or restore the copy of the database taken before the upgrade`,
      );
    }
    expect(schemaOf(file)).toEqual(schema);
  });

  it('is not upgraded by the commands that run beside a gateway, which may be the older release', () => {
    OLD_SCHEMAS.at(-1)!.create(file);
    seedEveryFate(file);
    const schema = schemaOf(file);

    for (const open of [openStoreForCommand, openStoreReadOnly]) {
      const error = thrownBy(DatabaseSchemaError, () => open(file));
      expect(error.message).toBe(
        `the database at ${file} (DB_PATH) is still in an older caliper-gateway release's schema (${SHIPPED_MIGRATIONS.at(-1)!.tag} not applied): start this release's serve on it once, which upgrades it; until then use the older release's commands`,
      );
    }
    expect(schemaOf(file)).toEqual(schema);
    read(file, (db) => expect(schemaState(db)).toEqual({ state: 'behind', pending: [SHIPPED_MIGRATIONS.at(-1)!.tag], fresh: false, draftInitial: false }));
  });

  it('is created by a command when the file is new, as the gateway would create it', () => {
    openStoreForCommand(file).close();
    read(file, (db) => expect(schemaState(db)).toEqual({ state: 'current' }));
  });
});
