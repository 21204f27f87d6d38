/**
 * Envelope batches as intake hands them to the store, and the group-commit scenario both
 * ways of committing them (on the event loop, on the writer thread) must pass alike.
 */
import type Database from 'better-sqlite3';
import { expect } from 'vitest';
import type { EnvelopeBatch, IntakeResult } from '../../src/store/intake.ts';
import { storedInputs } from './stored-inputs.ts';

/** SessionEvents with these ids; `problems[i]` marks event i malformed. */
export function sessionBatch(ids: Array<string | null>, problems: Array<string | undefined> = [], sensor = 'site-1'): EnvelopeBatch {
  return {
    sensor,
    sendTime: '2026-03-02T10:00:00.000Z',
    bytes: 100,
    receivedAt: 1_000,
    sourceIds: ids,
    types: ids.map(() => 'SessionEvent'),
    actions: ids.map(() => 'LoggedIn'),
    eventTimes: ids.map(() => '2026-03-02T09:59:00.000Z'),
    raws: ids.map((id) => JSON.stringify({ id, note: 'ünïcode ✓' })),
    problems: ids.map((_, i) => problems[i]),
  };
}

/**
 * Three envelopes written in the same turn: a resend within and across envelopes is
 * stored once, a malformed event is stored as rejected, and each envelope gets its own
 * counts. `sqlite` reads what was committed.
 */
export async function expectGroupCommit(write: (batch: EnvelopeBatch) => Promise<IntakeResult>, sqlite: Database.Database): Promise<void> {
  const results = await Promise.all([
    write(sessionBatch(['a', 'b'])),
    write(sessionBatch(['b', 'c', null], [undefined, undefined, 'data[2].id: missing'])),
    write(sessionBatch(['a'])),
  ]);
  expect(results).toEqual([
    { envelopeId: 1, stored: 2, rejected: 0, duplicates: 0 },
    { envelopeId: 2, stored: 1, rejected: 1, duplicates: 1 },
    { envelopeId: 3, stored: 0, rejected: 0, duplicates: 1 },
  ]);
  expect(sqlite.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 4 });
  // The envelope rows keep the same counts (status and the admin routes read them there).
  expect(sqlite.prepare('SELECT id, event_count, stored_count, rejected_count, duplicate_count FROM envelopes ORDER BY id').raw().all()).toEqual([
    [1, 2, 2, 0, 0],
    [2, 3, 1, 1, 1],
    [3, 1, 0, 0, 1],
  ]);
  const c = sqlite.prepare(`SELECT seq FROM events WHERE source_id = 'c'`).pluck().get() as number;
  expect(storedInputs(sqlite).find((input) => input.seq === c)?.raw).toBe('{"id":"c","note":"ünïcode ✓"}');
  expect(sqlite.prepare('SELECT fate, reason, detail, stage, next_attempt_at FROM events WHERE source_id IS NULL').get()).toEqual({
    fate: 'rejected',
    reason: 'invalid-event',
    detail: 'data[2].id: missing',
    stage: null,
    next_attempt_at: null,
  });
}
