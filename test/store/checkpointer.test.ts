import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { startCheckpointer } from '../../src/store/checkpointer.ts';
import { openStore, type Store } from '../../src/store/database.ts';
import { countByFate } from '../../src/store/event-queries.ts';
import { insertTranslatedEvents } from '../helpers/translated-events.ts';

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'caliper-gateway-checkpoint-'));
  store = openStore(join(dir, 'gateway.db'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The WAL header's checkpoint sequence number: SQLite adds one each time a writer starts the
 * log over, so it tells a restart apart from a write that merely appended.
 */
function walSequence(file: string): number {
  const fd = openSync(`${file}-wal`, 'r');
  try {
    const header = Buffer.alloc(16);
    readSync(fd, header, 0, 16, 0);
    return header.readUInt32BE(12);
  } finally {
    closeSync(fd);
  }
}

/** 'ok', or the code of the error a one-row write got. */
function tryWrite(db: Database.Database): string {
  try {
    db.prepare('INSERT INTO filler VALUES (?)').run('y');
    return 'ok';
  } catch (error) {
    return String((error as { code?: string }).code ?? error);
  }
}

describe('startCheckpointer', () => {
  it('checkpoints from a worker while commits skip it, and hands checkpoints back when stopped', { timeout: 20_000 }, async () => {
    const checkpointer = startCheckpointer(store, createLogger('silent'), { intervalMs: 20 })!;
    expect(store.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(0);

    const before = statSync(store.file).size;
    store.sqlite.exec('CREATE TABLE filler (x TEXT)');
    const insert = store.sqlite.prepare('INSERT INTO filler VALUES (?)');
    store.sqlite.transaction(() => {
      for (let i = 0; i < 1_000; i++) insert.run('x'.repeat(4_000));
    })();
    // The rows reach the database file only through a checkpoint, and this connection no longer runs any.
    await expect.poll(() => statSync(store.file).size, { timeout: 10_000 }).toBeGreaterThan(before + 4_000_000);

    await checkpointer.stop();
    expect(store.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
  });

  it('runs a pass at once when enough envelope bytes were committed, without waiting for its timer', { timeout: 20_000 }, async () => {
    // A timer that never fires within the test: only the hint can start a pass.
    const checkpointer = startCheckpointer(store, createLogger('silent'), { intervalMs: 600_000 })!;
    try {
      store.sqlite.exec('CREATE TABLE filler (x TEXT)');
      const insert = store.sqlite.prepare('INSERT INTO filler VALUES (?)');
      store.sqlite.transaction(() => {
        for (let i = 0; i < 500; i++) insert.run('x'.repeat(4_000));
      })();
      const before = statSync(store.file).size;

      // A few small envelopes are not enough to ask for one.
      for (let i = 0; i < 10; i++) checkpointer.envelopeWritten(90_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(statSync(store.file).size).toBe(before);

      // 16 MiB of envelopes are.
      for (let i = 0; i < 190; i++) checkpointer.envelopeWritten(90_000);
      await expect.poll(() => statSync(store.file).size, { timeout: 10_000 }).toBeGreaterThan(before + 1_000_000);
    } finally {
      await checkpointer.stop();
    }
  });

  it('follows a PASSIVE pass with a RESTART once the WAL is over the threshold, so the next commit starts it over', { timeout: 20_000 }, async () => {
    // PASSIVE never waits for anyone, so under commits that never pause it never gets the WAL
    // started over; RESTART waits for the commit in progress and for readers of old frames,
    // holding new writers off meanwhile. A reader pinning an old snapshot makes that visible.
    store.sqlite.exec('CREATE TABLE filler (x TEXT)');
    const insert = store.sqlite.prepare('INSERT INTO filler VALUES (?)');
    const fill = (rows: number) => store.sqlite.transaction(() => {
      for (let i = 0; i < rows; i++) insert.run('x'.repeat(4_000));
    })();
    fill(10);
    const reader = new Database(store.file, { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM filler').get();
    fill(100);

    const checkpointer = startCheckpointer(store, createLogger('silent'), { intervalMs: 20, restartAboveFrames: 50 })!;
    const impatient = new Database(store.file);
    impatient.pragma('busy_timeout = 0');
    await expect.poll(() => tryWrite(impatient), { timeout: 10_000 }).toMatch(/SQLITE_BUSY/);

    // While the reader pins the old frames, every write appends, including those that slip in
    // between two RESTART tries; once it has gone, a write starts the log over.
    const pinned = walSequence(store.file);
    reader.exec('COMMIT');
    reader.close();
    await expect.poll(() => {
      tryWrite(impatient);
      return walSequence(store.file);
    }, { timeout: 10_000 }).toBeGreaterThan(pinned);
    await checkpointer.stop();
    // Started over: the WAL holds only the frame of the last write, not the 100 rows before.
    expect(impatient.pragma('wal_checkpoint(PASSIVE)')).toEqual([{ busy: 0, log: 1, checkpointed: 1 }]);
    impatient.close();
  });

  it('lets writers through while a reader keeps a RESTART from finishing', { timeout: 20_000 }, async () => {
    // The RESTART's wait for readers holds every writer off, so a RESTART that waited for as
    // long as the reader stays would stall intake. Each try waits at most 10 ms and the pass
    // tries again after a pause, so a writer that allows itself a second always gets through.
    // How briefly writers are held is a timing figure: the bench's slowest ack shows it.
    store.sqlite.exec('CREATE TABLE filler (x TEXT)');
    const insert = store.sqlite.prepare('INSERT INTO filler VALUES (?)');
    store.sqlite.transaction(() => {
      for (let i = 0; i < 100; i++) insert.run('x'.repeat(4_000));
    })();
    const reader = new Database(store.file, { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM filler').get();
    store.sqlite.transaction(() => {
      for (let i = 0; i < 100; i++) insert.run('x'.repeat(4_000));
    })();

    const checkpointer = startCheckpointer(store, createLogger('silent'), { intervalMs: 20, restartAboveFrames: 50 })!;
    const patient = new Database(store.file);
    patient.pragma('busy_timeout = 1000');
    const impatient = new Database(store.file);
    impatient.pragma('busy_timeout = 0');
    // The RESTART is at work: a writer that does not wait at all is refused now and then.
    await expect.poll(() => tryWrite(impatient), { timeout: 10_000 }).toMatch(/SQLITE_BUSY/);
    const outcomes = new Set<string>();
    for (let i = 0; i < 40; i++) {
      outcomes.add(tryWrite(patient));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect([...outcomes]).toEqual(['ok']);

    reader.exec('COMMIT');
    reader.close();
    await checkpointer.stop();
    patient.close();
    impatient.close();
  });

  it('counts events by fate on its own connection, and refuses once stopped', { timeout: 20_000 }, async () => {
    insertTranslatedEvents(store.sqlite, 3, { fate: 'delivered', deliveredAt: 1 });
    insertTranslatedEvents(store.sqlite, 2);
    insertTranslatedEvents(store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    const checkpointer = startCheckpointer(store, createLogger('silent'), { intervalMs: 20 })!;

    const counted = await checkpointer.countByFate();
    expect(counted).toEqual({ pending: 2, delivered: 3, skipped: 0, rejected: 0, dead: 1 });
    expect(counted).toEqual(countByFate(store));
    // Committed since the last count: the thread's connection sees it.
    insertTranslatedEvents(store.sqlite, 4, { fate: 'delivered', deliveredAt: 2 });
    expect((await checkpointer.countByFate()).delivered).toBe(7);

    await checkpointer.stop();
    await expect(checkpointer.countByFate()).rejects.toThrow(/not running/);
  });

  it('does nothing for an in-memory database', () => {
    store.close();
    store = openStore(':memory:');
    expect(startCheckpointer(store, createLogger('silent'))).toBeUndefined();
  });
});
