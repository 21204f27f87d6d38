import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/database.ts';

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
});
