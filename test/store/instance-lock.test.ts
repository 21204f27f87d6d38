import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseInUseError, lockDatabase, type LockHolder } from '../../src/store/instance-lock.ts';
import { openStore, openStoreReadOnly } from '../../src/store/database.ts';
import { rejectionOf } from '../helpers/thrown.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'instance-lock-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('lockDatabase', () => {
  it('lets one holder serve a database at a time, and the next in once it lets go', async () => {
    const file = join(dir, 'data', 'gateway.db');
    const first = await lockDatabase(file);
    const refused = await rejectionOf(DatabaseInUseError, lockDatabase(file));
    // The holder named itself beside the lock: the refusal names it, so an admin can find it.
    const holder = JSON.parse(readFileSync(`${file}.lock.holder`, 'utf8')) as LockHolder;
    expect(holder).toEqual({ pid: process.pid, host: hostname(), startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/) });
    expect(refused.message).toBe(
      `another caliper-gateway (pid ${process.pid} on ${hostname()}, started ${holder.startedAt}) is serving the database at ${file} (DB_PATH); ` +
        'stop it first, or give this one a DB_PATH of its own',
    );

    first.release();
    // Taken again by the same process, so the same pid is written: the lock is still taken.
    const second = await lockDatabase(file);
    await rejectionOf(DatabaseInUseError, lockDatabase(file));
    second.release();
  });

  it('deletes its holder file when it lets go, but not one another process wrote over it', async () => {
    const file = join(dir, 'gateway.db');
    const holderFile = `${file}.lock.holder`;
    const first = await lockDatabase(file);
    expect(existsSync(holderFile)).toBe(true);
    first.release();
    expect(existsSync(holderFile)).toBe(false);
    // Released twice (a stop after a failed start, say): still nothing to delete, nothing thrown.
    first.release();

    const second = await lockDatabase(file);
    const other = `${JSON.stringify({ pid: process.pid + 1, host: 'elsewhere', startedAt: '2026-01-01T00:00:00.000Z' })}\n`;
    writeFileSync(holderFile, other);
    second.release();
    expect(readFileSync(holderFile, 'utf8')).toBe(other);
  });

  it('names only the pid when the holder file is gone or left by another process', async () => {
    const file = join(dir, 'gateway.db');
    const lock = await lockDatabase(file);
    try {
      writeFileSync(`${file}.lock.holder`, JSON.stringify({ pid: process.pid + 1, host: 'elsewhere', startedAt: '2026-01-01T00:00:00.000Z' }));
      expect((await rejectionOf(DatabaseInUseError, lockDatabase(file))).message).toContain(`another caliper-gateway (pid ${process.pid}) is serving`);
      rmSync(`${file}.lock.holder`);
      expect((await rejectionOf(DatabaseInUseError, lockDatabase(file))).message).toContain(`another caliper-gateway (pid ${process.pid}) is serving`);
    } finally {
      lock.release();
    }
  });

  it('says the pid is not recorded when an older release holds the lock, even over a pid a newer one left', async () => {
    const file = join(dir, 'gateway.db');
    // A newer gateway served this database and stopped, leaving its pid and holder file behind.
    (await lockDatabase(file)).release();
    // An older release takes the lock as it did: user_version alone, in exclusive locking mode.
    const older = new Database(`${file}.lock`);
    try {
      older.pragma('journal_mode = MEMORY');
      older.pragma('locking_mode = EXCLUSIVE');
      older.pragma('user_version = 1');
      const refused = await rejectionOf(DatabaseInUseError, lockDatabase(file));
      expect(refused.message).toBe(
        `another caliper-gateway (its pid is not recorded: an older release) is serving the database at ${file} (DB_PATH); stop it first, or give this one a DB_PATH of its own`,
      );
    } finally {
      older.close();
    }
    (await lockDatabase(file)).release();
  });

  it('waits for a holder that is stopping', async () => {
    const file = join(dir, 'gateway.db');
    const first = await lockDatabase(file);
    const waited: Array<LockHolder | undefined> = [];
    const next = lockDatabase(file, { waitMs: 5_000, onWait: (holder) => waited.push(holder) });
    setTimeout(() => first.release(), 200);
    (await next).release();
    expect(waited).toEqual([{ pid: process.pid, host: hostname(), startedAt: expect.any(String) }]);
  });

  it('leaves the database itself alone: the commands that run beside the gateway still read and write it', async () => {
    const file = join(dir, 'gateway.db');
    const lock = await lockDatabase(file);
    try {
      const store = openStore(file);
      store.sqlite.exec('CREATE TABLE beside (x TEXT)');
      store.sqlite.prepare('INSERT INTO beside VALUES (?)').run('written');
      store.close();
      const reader = openStoreReadOnly(file);
      expect(reader.sqlite.prepare('SELECT x FROM beside').all()).toEqual([{ x: 'written' }]);
      reader.close();
    } finally {
      lock.release();
    }
  });
});
