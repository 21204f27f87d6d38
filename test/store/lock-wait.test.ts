import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUSY_TIMEOUT_MS } from '../../src/store/connection.ts';
import { EVENT_LOOP_LOCK_WAIT_MS, isBusy, retryWhileBusy, withLockWait } from '../../src/store/lock-wait.ts';
import { tempStore } from '../helpers/temp-store.ts';
import { thrownBy } from '../helpers/thrown.ts';

let db: ReturnType<typeof tempStore>;
/** Another connection (the writer thread committing an envelope, a command) that takes the write lock. */
let locker: Database.Database;

beforeEach(() => {
  db = tempStore('lock-wait-');
  db.store.sqlite.exec('CREATE TABLE notes (n INTEGER)');
  locker = new Database(db.file);
});

afterEach(() => {
  if (locker.inTransaction) locker.exec('ROLLBACK');
  locker.close();
  db.cleanup();
});

const busyTimeout = () => db.store.sqlite.pragma('busy_timeout', { simple: true }) as number;
const insert = () => db.store.sqlite.prepare('INSERT INTO notes VALUES (1)').run().changes;
const notes = () => (db.store.sqlite.prepare('SELECT count(*) AS n FROM notes').get() as { n: number }).n;

describe('withLockWait', () => {
  it('gives up on a lock held elsewhere with SQLITE_BUSY after the short wait, writing nothing, and puts the timeout back', () => {
    expect(busyTimeout()).toBe(BUSY_TIMEOUT_MS);
    locker.exec('BEGIN IMMEDIATE');
    const err = thrownBy(Error, () => withLockWait(db.store.sqlite, 20, insert));
    expect(isBusy(err)).toBe(true);
    expect(busyTimeout()).toBe(BUSY_TIMEOUT_MS);
    locker.exec('ROLLBACK');
    expect(withLockWait(db.store.sqlite, 20, insert)).toBe(1);
    expect(notes()).toBe(1);
  });
});

describe('retryWhileBusy', () => {
  it('waits for a lock held elsewhere without holding the event loop, then writes once', async () => {
    locker.exec('BEGIN IMMEDIATE');
    let tries = 0;
    let settled = false;
    const writing = retryWhileBusy(db.store.sqlite, () => {
      tries += 1;
      return insert();
    }).finally(() => {
      settled = true;
    });
    // Timers run meanwhile: the loop is held EVENT_LOOP_LOCK_WAIT_MS at a time, not 5 s.
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 5);
    while (tries < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    clearInterval(ticker);
    expect(ticks).toBeGreaterThan(0);
    expect(settled).toBe(false);
    expect(busyTimeout()).toBe(BUSY_TIMEOUT_MS);

    locker.exec('COMMIT');
    expect(await writing).toBe(1);
    expect(notes()).toBe(1);
  });

  it('throws the SQLITE_BUSY once it has tried for giveUpAfterMs, and other errors at once', async () => {
    locker.exec('BEGIN IMMEDIATE');
    const busy = await retryWhileBusy(db.store.sqlite, insert, { giveUpAfterMs: EVENT_LOOP_LOCK_WAIT_MS }).catch((err: unknown) => err);
    expect(isBusy(busy)).toBe(true);
    locker.exec('ROLLBACK');

    let tries = 0;
    const failed = await retryWhileBusy(db.store.sqlite, () => {
      tries += 1;
      return db.store.sqlite.prepare('INSERT INTO no_such_table VALUES (1)').run();
    }).catch((err: unknown) => err);
    expect((failed as Error).message).toContain('no such table');
    expect(tries).toBe(1);
  });
});
