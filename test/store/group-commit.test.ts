/**
 * Group commit on a real SQLite file: how a queue is cut into groups, and that each write of
 * a group sits in its own savepoint while the group commits (or fails) as one transaction.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareGroupCommit, takeGroup, type Weight } from '../../src/store/group-commit.ts';

const MAX_ROWS = 5_000;
const MAX_BYTES = 32 * 1024 * 1024;

describe('takeGroup', () => {
  const weigh = (item: Weight) => item;
  const light = (rows = 1): Weight => ({ rows, bytes: 100 });

  it('takes the whole queue when it is under the limits', () => {
    const queue = [light(), light(), light()];
    const first = queue[0];
    expect(takeGroup(queue, weigh)).toHaveLength(3);
    expect(queue).toEqual([]);
    expect(takeGroup([first!], weigh)).toEqual([first]);
  });

  it('cuts a group at 5,000 rows, a write that would go over starting the next one', () => {
    const queue = [light(2_000), light(3_000), light(1), light(4_999)];
    expect(takeGroup(queue, weigh).map((item) => item.rows)).toEqual([2_000, 3_000]);
    expect(takeGroup(queue, weigh).map((item) => item.rows)).toEqual([1, 4_999]);
    expect(queue).toEqual([]);
  });

  it('cuts a group at 32 MiB', () => {
    const queue: Weight[] = [
      { rows: 1, bytes: MAX_BYTES / 2 },
      { rows: 1, bytes: MAX_BYTES / 2 },
      { rows: 1, bytes: 1 },
    ];
    expect(takeGroup(queue, weigh)).toHaveLength(2);
    expect(queue).toEqual([{ rows: 1, bytes: 1 }]);
  });

  it('always takes the first write, however heavy, and only it', () => {
    const queue: Weight[] = [{ rows: MAX_ROWS * 3, bytes: MAX_BYTES * 2 }, light()];
    expect(takeGroup(queue, weigh)).toEqual([{ rows: MAX_ROWS * 3, bytes: MAX_BYTES * 2 }]);
    expect(queue).toEqual([light()]);
  });

  it('gives nothing for an empty queue', () => {
    expect(takeGroup([], weigh)).toEqual([]);
  });
});

describe('prepareGroupCommit', () => {
  let dir: string;
  let sqlite: Database.Database;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'caliper-gateway-group-'));
    sqlite = new Database(join(dir, 'group.db'), { timeout: 0 });
    sqlite.pragma('journal_mode = WAL');
    sqlite.exec('CREATE TABLE rows (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)');
  });
  afterEach(() => {
    sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const names = () => sqlite.prepare('SELECT name FROM rows ORDER BY id').pluck().all();

  /** Inserts each name; a write listing a name twice fails on its second row, after its first is in. */
  function inserter() {
    const insert = sqlite.prepare('INSERT INTO rows (name) VALUES (?)');
    return (write: string[]) => {
      for (const name of write) insert.run(name);
      return write.length;
    };
  }

  it('commits every write of a group and reports each one’s result', () => {
    const commit = prepareGroupCommit(sqlite, inserter());
    expect(commit([['a', 'b'], ['c']])).toEqual([{ result: 2 }, { result: 1 }]);
    expect(names()).toEqual(['a', 'b', 'c']);
    expect(sqlite.inTransaction).toBe(false);
  });

  it('rolls back a failing write alone, its own earlier rows included, and tells only its caller', () => {
    const commit = prepareGroupCommit(sqlite, inserter());
    const outcomes = commit([['a'], ['b', 'half', 'half'], ['c']]);
    expect(outcomes[0]).toEqual({ result: 1 });
    expect(outcomes[1]!.result).toBeUndefined();
    expect(String(outcomes[1]!.error)).toMatch(/UNIQUE constraint failed/);
    expect(outcomes[2]).toEqual({ result: 1 });
    // Neither 'b' nor the first 'half' of the failed write is left behind.
    expect(names()).toEqual(['a', 'c']);
  });

  it('commits the whole group as one transaction, visible to other connections at once', () => {
    const reader = new Database(join(dir, 'group.db'), { readonly: true });
    try {
      const seen: unknown[] = [];
      const commit = prepareGroupCommit(sqlite, (name: string) => {
        sqlite.prepare('INSERT INTO rows (name) VALUES (?)').run(name);
        // Another connection sees nothing of the group until it commits.
        seen.push(reader.prepare('SELECT count(*) FROM rows').pluck().get());
      });
      commit(['a', 'b', 'c']);
      expect(seen).toEqual([0, 0, 0]);
      expect(reader.prepare('SELECT count(*) FROM rows').pluck().get()).toBe(3);
    } finally {
      reader.close();
    }
  });

  it('fails the whole group, with nothing written, when SQLite abandons the transaction', () => {
    const insert = inserter();
    // As an I/O error or a full disk does: the transaction is gone when the write fails.
    const commit = prepareGroupCommit(sqlite, (write: string[]) => {
      if (write[0] !== 'abandon') return insert(write);
      sqlite.exec('ROLLBACK');
      throw new Error('disk I/O error');
    });
    expect(() => commit([['a'], ['abandon'], ['c']])).toThrow('disk I/O error');
    expect(names()).toEqual([]);
    expect(sqlite.inTransaction).toBe(false);
    // The connection is usable for the next group.
    expect(commit([['d']])).toEqual([{ result: 1 }]);
    expect(names()).toEqual(['d']);
  });

  it('fails before any write when another connection holds the write lock', () => {
    const other = new Database(join(dir, 'group.db'));
    let writes = 0;
    try {
      other.exec('BEGIN IMMEDIATE');
      const commit = prepareGroupCommit(sqlite, (name: string) => {
        writes += 1;
        sqlite.prepare('INSERT INTO rows (name) VALUES (?)').run(name);
      });
      expect(() => commit(['a'])).toThrow(/database is locked/);
      expect(writes).toBe(0);
      other.exec('ROLLBACK');
      commit(['b']);
      expect(names()).toEqual(['b']);
    } finally {
      other.close();
    }
  });
});
