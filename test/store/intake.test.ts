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

  it('stores a malformed event without an eventTime once, however often it is resent', async () => {
    const intake = createIntake(store);
    const untimed = () => {
      const sent = batch(['no-time', 'no-time', null], ['data[0].eventTime: missing', 'data[1].eventTime: missing', 'data[2].id: missing']);
      sent.eventTimes = [null, null, '2026-03-02T09:59:00.000Z'];
      return sent;
    };
    const first = await intake.write(untimed());
    const resent = await intake.write(untimed());
    // Within an envelope and across envelopes: one row for the event with an id, while an
    // event without an id has no key and is stored each time.
    expect(first).toMatchObject({ stored: 0, rejected: 2, duplicates: 1 });
    expect(resent).toMatchObject({ stored: 0, rejected: 1, duplicates: 2 });
    const rows = store.sqlite.prepare("SELECT source_id, event_time, fate FROM events WHERE source_id = 'no-time'").all();
    expect(rows).toEqual([{ source_id: 'no-time', event_time: null, fate: 'rejected' }]);
    // The same id with a time is another event.
    const timed = await intake.write(batch(['no-time'], ['data[0].action: missing']));
    expect(timed).toMatchObject({ rejected: 1, duplicates: 0 });
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
