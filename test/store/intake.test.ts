import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/database.ts';
import { createIntake } from '../../src/store/intake.ts';
import { expectGroupCommit, sessionBatch as batch } from '../helpers/envelope-batches.ts';

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'caliper-gateway-intake-'));
  store = openStore(join(dir, 'gateway.db'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const count = (table: string) => (store.sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('createIntake', () => {
  it('commits envelopes written in the same turn together, each with its own counts', async () => {
    const intake = createIntake(store);
    await expectGroupCommit((batch) => intake.write(batch), store.sqlite);
  });

  it('splits a burst of large envelopes into several transactions and stores them all', async () => {
    const intake = createIntake(store);
    const ids = (prefix: string) => Array.from({ length: 3_000 }, (_, i) => `${prefix}-${i}`);
    const results = await Promise.all([intake.write(batch(ids('x'))), intake.write(batch(ids('y'))), intake.write(batch(ids('z')))]);
    expect(results.map((result) => result.stored)).toEqual([3_000, 3_000, 3_000]);
    expect(count('events')).toBe(9_000);
  });

  it('fails every envelope of a group whose transaction cannot start, writing nothing', async () => {
    store.sqlite.pragma('busy_timeout = 10');
    const other = new Database(join(dir, 'gateway.db'));
    other.exec('BEGIN IMMEDIATE');
    const intake = createIntake(store);
    const outcomes = await Promise.allSettled([intake.write(batch(['a'])), intake.write(batch(['b']))]);
    other.exec('ROLLBACK');
    other.close();
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_BUSY' });
    expect(count('events') + count('envelopes')).toBe(0);

    // The next write, once the lock is gone, goes through.
    await expect(intake.write(batch(['c']))).resolves.toMatchObject({ stored: 1 });
  });
});
