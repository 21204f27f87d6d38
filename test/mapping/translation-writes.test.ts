import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareDeliveryRecords } from '../../src/deliver/outbox.ts';
import { prepareTranslationWrites, type TranslationWrite } from '../../src/mapping/translation-writes.ts';
import { replayEvents } from '../../src/store/replay.ts';
import { tempStore } from '../helpers/temp-store.ts';
import { insertStoredEvents, rowsBySeq } from './stored-events.ts';

const NOW = Date.parse('2026-11-20T10:00:00.000Z');
let db: ReturnType<typeof tempStore>;
beforeEach(() => {
  db = tempStore('caliper-gateway-translation-writes-');
});
afterEach(() => db.cleanup());

const event = (id: string) => ({ id, type: 'Event', action: 'Viewed', eventTime: '2026-11-20T09:00:00.000Z', actor: 'x' });
const deliver = (seq: number, output: string): TranslationWrite => ({
  kind: 'deliver', seq, rule: 'r', studentId: 'stu', platformId: 'p', output, outputId: `urn:uuid:${seq}`,
});
const skip = (seq: number): TranslationWrite => ({ kind: 'settle', seq, fate: 'skipped', reason: 'no-rule', detail: 'no rule', rule: null, studentId: null });
const outputs = () => db.store.sqlite.prepare('SELECT seq, output FROM event_outputs ORDER BY seq').all();
/** What replay does: back to the translate stage, the last translation's output left where it is. */
const replay = (seq: number) =>
  db.store.sqlite.prepare("UPDATE events SET fate = 'pending', stage = 'translate', reason = NULL WHERE seq = ?").run(seq);

describe('translation writes', () => {
  it('keeps the event to send beside its row and hands the row to delivery', () => {
    const write = prepareTranslationWrites(db.store.sqlite);
    const [a, b] = insertStoredEvents(db.store.sqlite, [event('a'), event('b')], { receivedAt: NOW });
    expect(write({ writes: [deliver(a!, '{"id":"out-a"}'), skip(b!)], at: NOW })).toEqual([true, true]);

    expect(outputs()).toEqual([{ seq: a, output: '{"id":"out-a"}' }]);
    const rows = rowsBySeq(db.store.sqlite);
    expect(rows.get(a!)).toMatchObject({ fate: 'pending', stage: 'deliver', output: '{"id":"out-a"}', outputId: `urn:uuid:${a}` });
    expect(rows.get(b!)).toMatchObject({ fate: 'skipped', output: null, outputId: null });
  });

  it('replaces a replayed event\'s old output, or removes it when the new translation settles the event', () => {
    const write = prepareTranslationWrites(db.store.sqlite);
    const [a, b] = insertStoredEvents(db.store.sqlite, [event('a'), event('b')], { receivedAt: NOW });
    write({ writes: [deliver(a!, '{"v":1}'), deliver(b!, '{"v":1}')], at: NOW });
    replay(a!);
    replay(b!);

    write({ writes: [deliver(a!, '{"v":2}'), skip(b!)], at: NOW + 1 });
    expect(outputs()).toEqual([{ seq: a, output: '{"v":2}' }]);
  });

  it('leaves the output of a row that is no longer being translated alone', () => {
    const write = prepareTranslationWrites(db.store.sqlite);
    const [a] = insertStoredEvents(db.store.sqlite, [event('a')], { receivedAt: NOW });
    write({ writes: [deliver(a!, '{"v":1}')], at: NOW });

    // A late result for the same row (it was handed to delivery meanwhile) changes nothing,
    // and says so: the worker counts no fate for it.
    expect(write({ writes: [deliver(a!, '{"v":2}')], at: NOW + 1 })).toEqual([false]);
    expect(write({ writes: [skip(a!)], at: NOW + 2 })).toEqual([false]);
    expect(outputs()).toEqual([{ seq: a, output: '{"v":1}' }]);
    expect(rowsBySeq(db.store.sqlite).get(a!)).toMatchObject({ fate: 'pending', stage: 'deliver' });
  });

  it("clears TimeBack's answer from an earlier life when a replayed event is settled before any POST", () => {
    const write = prepareTranslationWrites(db.store.sqlite);
    const record = prepareDeliveryRecords(db.store.sqlite);
    const seqs = insertStoredEvents(db.store.sqlite, [event('a'), event('b'), event('c')], { receivedAt: NOW });
    write({ writes: seqs.map((seq) => deliver(seq, '{"v":1}')), at: NOW });
    // TimeBack refuses all three: dead, its answer kept for the admin.
    record(
      seqs.map((seq) => ({
        seq, readUpdatedAt: NOW, fate: 'dead', posts: 1, startedAt: NOW + 1, finishedAt: NOW + 2, status: 400,
        response: '{"message":"actor not enrolled"}', nextAttemptAt: null, reason: 'http-400', detail: 'TimeBack refused the event with HTTP 400',
      })),
    );
    replayEvents(db.store, { reason: 'http-400' }, NOW + 3);
    const [a, b, c] = seqs as [number, number, number];
    const answer = (seq: number) =>
      db.store.sqlite.prepare('SELECT fate, reason, last_status AS lastStatus, last_response AS lastResponse FROM events WHERE seq = ?').get(seq);

    // The student has left the roster since; a rule now skips another; the roster never answers for the third.
    write({
      writes: [
        { kind: 'settle', seq: a, fate: 'skipped', reason: 'user-not-in-timeback', detail: 'no TimeBack user has this identifier', rule: 'r', studentId: 'stu' },
        { kind: 'settle', seq: b, fate: 'skipped', reason: 'rule-skips', detail: 'instructors are not credited', rule: 'r', studentId: null },
        { kind: 'settle', seq: c, fate: 'dead', reason: 'roster-unavailable', detail: 'the roster could not say who stu is', rule: 'r', studentId: 'stu' },
      ],
      at: NOW + 4,
    });
    // A 400 beside a skip, or beside a death the roster caused, is not why the event got its fate.
    expect(answer(a)).toEqual({ fate: 'skipped', reason: 'user-not-in-timeback', lastStatus: null, lastResponse: null });
    expect(answer(b)).toEqual({ fate: 'skipped', reason: 'rule-skips', lastStatus: null, lastResponse: null });
    expect(answer(c)).toEqual({ fate: 'dead', reason: 'roster-unavailable', lastStatus: null, lastResponse: null });
  });

  it('goes with its event when retention deletes the event (ON DELETE CASCADE)', () => {
    const write = prepareTranslationWrites(db.store.sqlite);
    const [a] = insertStoredEvents(db.store.sqlite, [event('a')], { receivedAt: NOW });
    write({ writes: [deliver(a!, '{"v":1}')], at: NOW });
    db.store.sqlite.prepare('DELETE FROM events WHERE seq = ?').run(a);
    expect(outputs()).toEqual([]);
  });
});
