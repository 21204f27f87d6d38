import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { MIGRATIONS_DIR, openStore } from '../../src/store/database.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'caliper-gateway-database-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const pageSize = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('page_size', { simple: true });
  } finally {
    db.close();
  }
};

describe('openStore', () => {
  const modeOf = (file: string) => statSync(file).mode & 0o777;

  it('makes a new database, its WAL and its folder readable by the owner only: they hold students\' data', () => {
    const file = join(dir, 'data', 'new.db');
    const store = openStore(file);
    store.sqlite.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    expect(existsSync(`${file}-wal`)).toBe(true);
    expect([modeOf(join(dir, 'data')), modeOf(file), modeOf(`${file}-wal`)]).toEqual([0o700, 0o600, 0o600]);
    store.close();
  });

  it("leaves an existing database's permissions as the admin set them", () => {
    const file = join(dir, 'shared.db');
    new Database(file).close();
    chmodSync(file, 0o640);
    openStore(file).close();
    expect(modeOf(file)).toBe(0o640);
  });

  it('makes a new database with 16 KiB pages, in WAL mode', () => {
    const file = join(dir, 'new.db');
    const store = openStore(file);
    expect(store.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    store.close();
    expect(pageSize(file)).toBe(16384);
  });

  it('opens and migrates a database made with 4 KiB pages as it is', () => {
    const file = join(dir, 'old.db');
    const old = new Database(file);
    old.pragma('page_size = 4096');
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE kept (x)');
    old.close();

    const store = openStore(file);
    expect(store.sqlite.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name IN ('kept', 'events')").get()).toEqual({ n: 2 });
    store.close();
    expect(pageSize(file)).toBe(4096);
  });

  it('moves translations made before event_outputs there, so pending deliveries still have their body', () => {
    // A database as the release before migration 0004 left it.
    const file = join(dir, 'before-0004.db');
    const migrations = join(dir, 'migrations');
    cpSync(MIGRATIONS_DIR, migrations, { recursive: true });
    const journalFile = join(migrations, 'meta', '_journal.json');
    const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: Array<{ tag: string }> };
    journal.entries = journal.entries.filter((entry) => entry.tag < '0004');
    writeFileSync(journalFile, JSON.stringify(journal));
    const old = new Database(file);
    migrate(drizzle(old), { migrationsFolder: migrations });
    old.prepare("INSERT INTO envelopes (id, sensor, send_time, received_at, event_count, stored_count, rejected_count, duplicate_count, bytes) VALUES (1, 's', 't', 0, 2, 2, 0, 0, 0)").run();
    const insert = old.prepare(
      "INSERT INTO events (seq, envelope_id, sensor, received_at, fate, stage, output, output_id, updated_at) VALUES (?, 1, 's', 0, 'pending', ?, ?, ?, 0)",
    );
    insert.run(1, 'deliver', '{"id":"urn:uuid:one"}', 'urn:uuid:one');
    insert.run(2, 'translate', null, null);
    old.close();

    const store = openStore(file);
    expect(store.sqlite.prepare('SELECT seq, output FROM event_outputs').all()).toEqual([{ seq: 1, output: '{"id":"urn:uuid:one"}' }]);
    const columns = (store.sqlite.prepare('PRAGMA table_info(events)').all() as Array<{ name: string }>).map((c) => c.name);
    expect(columns).toContain('output_id');
    expect(columns).not.toContain('output');
    store.close();
  });
});
