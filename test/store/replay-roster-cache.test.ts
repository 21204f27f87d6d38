import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRosterCache, type RosterCache } from '../../src/identity/roster-cache.ts';
import { replayEvents } from '../../src/store/replay.ts';
import type { RosterOutcome } from '../../src/store/schema.ts';
import { tempStore } from '../helpers/temp-store.ts';
import { insertTranslatedEvents } from '../helpers/translated-events.ts';

const NOW = Date.parse('2026-11-02T12:00:00Z');

let db: ReturnType<typeof tempStore>;
let cache: RosterCache;

beforeEach(() => {
  db = tempStore('replay-roster-');
  cache = createRosterCache(db.store);
});
afterEach(() => db.cleanup());

function studentOf(seq: number): string {
  const row = db.store.sqlite.prepare('SELECT student_id AS id FROM events WHERE seq = ?').get(seq) as { id: string };
  return row.id;
}

function remember(externalId: string, outcome: RosterOutcome) {
  cache.put({
    externalId,
    outcome,
    platformId: outcome === 'found' ? randomUUID() : null,
    strategy: outcome === 'not-found' ? null : 'identifier',
    detail: null,
    learnedAt: NOW - 60_000,
  });
}

describe('replay and the roster cache', () => {
  it("Should forget the replayed students' not-found and ambiguous answers, and nothing else", () => {
    const [notFound, ambiguous] = insertTranslatedEvents(db.store.sqlite, 2, { fate: 'skipped', reason: 'user-not-in-timeback' });
    const [dead] = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    remember(studentOf(notFound!.seq), 'not-found');
    remember(studentOf(ambiguous!.seq), 'ambiguous');
    remember(studentOf(dead!.seq), 'found');
    remember('someone-else', 'not-found');

    replayEvents(db.store, { status: 'skipped', reason: 'user-not-in-timeback' }, NOW);

    expect(cache.get(studentOf(notFound!.seq))).toBeUndefined();
    expect(cache.get(studentOf(ambiguous!.seq))).toBeUndefined();
    expect(cache.get(studentOf(dead!.seq))?.outcome).toBe('found');
    expect(cache.get('someone-else')?.outcome).toBe('not-found');
  });

  it("Should refuse the answer of a replayed student's lookup begun before the replay", () => {
    const [skipped] = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'skipped', reason: 'user-not-in-timeback' });
    const student = studentOf(skipped!.seq);
    remember(student, 'not-found');
    // The lookup asked the roster before the admin fixed the student and replayed.
    const begun = cache.generation();

    replayEvents(db.store, { status: 'skipped' }, NOW);

    const stale = { externalId: student, outcome: 'not-found', platformId: null, strategy: null, detail: null, learnedAt: NOW } as const;
    expect(cache.putUnlessEvicted(stale, begun)).toBe(false);
    expect(cache.get(student)).toBeUndefined();
  });

  it('Should keep found answers when dead events are replayed', () => {
    const [dead] = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    remember(studentOf(dead!.seq), 'found');
    replayEvents(db.store, {}, NOW);
    expect(cache.get(studentOf(dead!.seq))?.outcome).toBe('found');
  });
});
