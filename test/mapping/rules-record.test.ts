import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMappingRulesRecorder, readMappingRules, type MappingRulesRecorder } from '../../src/mapping/rules-record.ts';
import { BUSY_TIMEOUT_MS } from '../../src/store/connection.ts';
import { captureLog } from '../helpers/identity-harness.ts';
import { tempStore } from '../helpers/temp-store.ts';
import { waitFor } from '../helpers/wait-for.ts';

const DIR = '/srv/caliper/mappings';

let db: ReturnType<typeof tempStore>;
let locker: Database.Database;
let recorder: MappingRulesRecorder | undefined;

beforeEach(() => {
  db = tempStore('rules-record-');
  locker = new Database(db.file);
});

afterEach(() => {
  recorder?.stop();
  if (locker.inTransaction) locker.exec('ROLLBACK');
  locker.close();
  db.cleanup();
});

describe('mapping rules recorder', () => {
  it('does not wait out the busy timeout for a lock held elsewhere: it records the latest outcome once it can', async () => {
    const captured = captureLog();
    recorder = createMappingRulesRecorder({ store: db.store, dir: DIR, log: captured.log, retryMs: 20 });
    // Another connection (the writer thread committing a large envelope) holds the lock.
    locker.exec('BEGIN IMMEDIATE');
    recorder.note({ state: 'active', at: '2026-03-02T11:00:00.000Z', rules: 41 });
    expect(readMappingRules(db.store)).toBeNull();
    expect(db.store.sqlite.pragma('busy_timeout', { simple: true })).toBe(BUSY_TIMEOUT_MS);
    // A newer outcome while the first waits: only it is recorded.
    recorder.note({ state: 'active', at: '2026-03-02T11:05:00.000Z', rules: 42 });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(readMappingRules(db.store)).toBeNull();

    locker.exec('ROLLBACK');
    await waitFor('recorded', () => readMappingRules(db.store));
    expect(readMappingRules(db.store)).toEqual({ state: 'active', at: '2026-03-02T11:05:00.000Z', dir: DIR, rules: 42 });
    expect(captured.lines().filter((line) => line.level === 'error')).toEqual([]);
  });

  it('records at once when the lock is free, and nothing after stop', async () => {
    recorder = createMappingRulesRecorder({ store: db.store, dir: DIR, log: captureLog().log, retryMs: 20 });
    recorder.note({ state: 'none-active', at: '2026-03-02T11:00:00.000Z', problems: ['a.yaml: line 3: no such field'] });
    expect(readMappingRules(db.store)).toMatchObject({ state: 'none-active', problems: ['a.yaml: line 3: no such field'], moreProblems: 0 });

    locker.exec('BEGIN IMMEDIATE');
    recorder.note({ state: 'active', at: '2026-03-02T11:05:00.000Z', rules: 42 });
    recorder.stop();
    locker.exec('ROLLBACK');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(readMappingRules(db.store)).toMatchObject({ state: 'none-active' });
  });
});
