/**
 * Delivery's reads and writes of the events table on a real SQLite file: which rows are due
 * and in what order, which rows a load still returns, and which rows a result may change.
 * The statements' query plans are pinned in queue-gauges.test.ts beside the other hot reads.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOutbox, type DeliveryRecord, type Outbox } from '../../src/deliver/outbox.ts';
import { createStoreWriter } from '../../src/store/writer.ts';
import { tempStore } from '../helpers/temp-store.ts';
import { eventStates, insertTranslatedEvents } from '../helpers/translated-events.ts';

const NOW = Date.parse('2026-03-02T10:00:00.000Z');

let db: ReturnType<typeof tempStore>;
let outbox: Outbox;

beforeEach(() => {
  db = tempStore('outbox-');
  outbox = createOutbox(db.store, createStoreWriter(db.store));
});
afterEach(() => db.cleanup());

const seqOf = (options: Parameters<typeof insertTranslatedEvents>[2]) => insertTranslatedEvents(db.store.sqlite, 1, options)[0]!.seq;

/** A result for the row as it stands now (the version a worker would have read and sent). */
function result(seq: number, fields: Partial<DeliveryRecord> = {}): DeliveryRecord {
  const row = db.store.sqlite.prepare('SELECT updated_at AS u FROM events WHERE seq = ?').get(seq) as { u: number } | undefined;
  return {
    seq,
    readUpdatedAt: row?.u ?? 0,
    fate: 'delivered',
    posts: 1,
    startedAt: NOW,
    finishedAt: NOW + 40,
    status: 200,
    response: null,
    nextAttemptAt: null,
    reason: null,
    detail: null,
    ...fields,
  };
}

describe('due', () => {
  it('gives rows without a time first, then the rest by time, and none whose time is still to come', () => {
    const later = seqOf({ nextAttemptAt: NOW - 1_000 });
    const exactlyNow = seqOf({ nextAttemptAt: NOW });
    const untimed = seqOf({ nextAttemptAt: null });
    const earliest = seqOf({ nextAttemptAt: NOW - 60_000 });
    seqOf({ nextAttemptAt: NOW + 1 });
    expect(outbox.due(NOW, 10)).toEqual([untimed, earliest, later, exactlyNow]);
  });

  it('caps both parts together at the limit, untimed rows first', () => {
    const untimed = insertTranslatedEvents(db.store.sqlite, 2, { nextAttemptAt: null }).map((event) => event.seq);
    const timed = seqOf({ nextAttemptAt: NOW - 5 });
    expect(outbox.due(NOW, 1)).toEqual([untimed[0]]);
    expect(outbox.due(NOW, 3)).toEqual([...untimed, timed]);
  });

  it('leaves out events still to be translated and every settled event', () => {
    seqOf({ stage: 'translate', nextAttemptAt: null });
    seqOf({ stage: 'translate', nextAttemptAt: NOW - 1 });
    seqOf({ fate: 'dead', reason: 'http-400', nextAttemptAt: NOW - 1 });
    seqOf({ fate: 'delivered', deliveredAt: NOW - 1, nextAttemptAt: null });
    const waiting = seqOf({ nextAttemptAt: NOW - 1 });
    expect(outbox.due(NOW, 10)).toEqual([waiting]);
  });
});

describe('load', () => {
  it('returns the rows still waiting for delivery, in seq order, with their bodies', () => {
    const [first, second] = insertTranslatedEvents(db.store.sqlite, 2, { attempts: 3, firstAttemptAt: NOW - 9_000 });
    const settled = seqOf({ fate: 'dead', reason: 'http-400' });
    const untranslated = seqOf({ stage: 'translate' });
    const loaded = outbox.load([second!.seq, settled, 999_999, untranslated, first!.seq]);
    expect(loaded.map((event) => event.seq)).toEqual([first!.seq, second!.seq]);
    expect(loaded[0]).toMatchObject({ outputId: first!.outputId, attempts: 3, firstAttemptAt: NOW - 9_000, updatedAt: expect.any(Number) });
    expect(JSON.parse(loaded[0]!.output!)).toMatchObject({ id: first!.outputId, type: 'AssessmentItemEvent' });
  });

  it('gives a row whose body is missing with a null output, rather than leaving it out', () => {
    const seq = seqOf({});
    db.store.sqlite.prepare('DELETE FROM event_outputs WHERE seq = ?').run(seq);
    expect(outbox.load([seq])).toEqual([expect.objectContaining({ seq, output: null })]);
  });

  it('returns nothing for no seqs', () => {
    seqOf({});
    expect(outbox.load([])).toEqual([]);
  });
});

describe('nextDueAfter', () => {
  it('is the earliest retry strictly after now among events waiting for delivery', () => {
    expect(outbox.nextDueAfter(NOW)).toBeUndefined();
    seqOf({ nextAttemptAt: NOW });
    seqOf({ nextAttemptAt: null });
    seqOf({ stage: 'translate', nextAttemptAt: NOW + 10 });
    expect(outbox.nextDueAfter(NOW)).toBeUndefined();
    seqOf({ nextAttemptAt: NOW + 5_000 });
    seqOf({ nextAttemptAt: NOW + 500 });
    expect(outbox.nextDueAfter(NOW)).toBe(NOW + 500);
    expect(outbox.nextDueAfter(NOW + 500)).toBe(NOW + 5_000);
  });
});

describe('record', () => {
  it('settles a delivered event: stage cleared, posts added to attempts, first attempt kept', async () => {
    const seq = seqOf({ attempts: 2, firstAttemptAt: NOW - 60_000 });
    expect(await outbox.record([result(seq, { posts: 2 })])).toEqual([true]);
    expect(eventStates(db.store.sqlite)).toEqual([
      expect.objectContaining({ seq, fate: 'delivered', stage: null, attempts: 4, lastStatus: 200, nextAttemptAt: null, deliveredAt: NOW + 40 }),
    ]);
    expect(db.store.sqlite.prepare('SELECT first_attempt_at AS f, last_attempt_at AS l, updated_at AS u FROM events').get()).toEqual({
      f: NOW - 60_000,
      l: NOW + 40,
      u: NOW + 40,
    });
  });

  it('keeps a retried event pending for delivery at its next time, and a dead one with its reason', async () => {
    const [retry, dead] = insertTranslatedEvents(db.store.sqlite, 2);
    const held = await outbox.record([
      result(retry!.seq, { fate: 'pending', status: 503, response: 'busy', nextAttemptAt: NOW + 2_000 }),
      result(dead!.seq, { fate: 'dead', status: 400, response: '{"error":"bad"}', reason: 'http-400', detail: 'refused' }),
    ]);
    expect(held).toEqual([true, true]);
    const [pending, settled] = eventStates(db.store.sqlite);
    expect(pending).toMatchObject({ fate: 'pending', stage: 'deliver', attempts: 1, lastStatus: 503, lastResponse: 'busy', nextAttemptAt: NOW + 2_000, deliveredAt: null });
    expect(settled).toMatchObject({ fate: 'dead', stage: null, reason: 'http-400', attempts: 1, lastResponse: '{"error":"bad"}', deliveredAt: null });
    expect(db.store.sqlite.prepare('SELECT first_attempt_at AS f FROM events WHERE seq = ?').get(retry!.seq)).toEqual({ f: NOW });
    expect(outbox.nextDueAfter(NOW)).toBe(NOW + 2_000);
  });

  it('leaves alone a row that changed hands meanwhile (settled, or sent back to translation)', async () => {
    const settled = seqOf({ fate: 'dead', reason: 'max-age' });
    const backToTranslate = seqOf({ stage: 'translate', nextAttemptAt: null });
    const before = eventStates(db.store.sqlite);
    // Neither row holds the result: the worker counts neither.
    expect(await outbox.record([result(settled), result(backToTranslate, { fate: 'dead', reason: 'http-400' })])).toEqual([false, false]);
    expect(eventStates(db.store.sqlite)).toEqual(before);
  });

  it('leaves alone a row that is due for delivery again in another version than the one sent (replayed and translated anew)', async () => {
    const seq = seqOf({ receivedAt: NOW - 60_000 });
    const sent = result(seq, { fate: 'dead', status: 400, reason: 'http-400', detail: 'refused' });
    // A replay and a new translation since this attempt read the row: pending for delivery again, newer.
    db.store.sqlite.prepare('UPDATE events SET updated_at = ?, attempts = 0 WHERE seq = ?').run(NOW, seq);
    const before = eventStates(db.store.sqlite);
    expect(await outbox.record([sent])).toEqual([false]);
    expect(eventStates(db.store.sqlite)).toEqual(before);
  });

  it('says a result written again holds when its first commit landed, though a replay came since', async () => {
    const seq = seqOf({ receivedAt: NOW - 60_000 });
    const sent = result(seq, { fate: 'dead', status: 400, reason: 'http-400', detail: 'refused' });
    expect(await outbox.record([sent])).toEqual([true]);
    // Replayed and translated anew: pending for delivery again, newer, its last attempt kept.
    db.store.sqlite.prepare(`UPDATE events SET fate = 'pending', stage = 'deliver', reason = NULL, updated_at = ?, attempts = 0 WHERE seq = ?`).run(NOW + 100, seq);
    const before = eventStates(db.store.sqlite);
    // The death happened (the first commit) and the worker never heard of it: it counts now.
    expect(await outbox.record([sent])).toEqual([true]);
    expect(eventStates(db.store.sqlite)).toEqual(before);
  });

  it('counts the posts of a result written twice once (a commit the worker did not hear of)', async () => {
    const seq = seqOf({});
    const retry = result(seq, { fate: 'pending', status: 503, response: 'busy', nextAttemptAt: NOW + 2_000 });
    expect(await outbox.record([retry])).toEqual([true]);
    // The second write changes nothing, and says the row holds the result: it is counted once,
    // by whichever write the worker heard of.
    expect(await outbox.record([retry])).toEqual([true]);
    expect(eventStates(db.store.sqlite)[0]).toMatchObject({ fate: 'pending', attempts: 1 });
  });

  it('writes nothing of a batch that fails', async () => {
    const [good, bad] = insertTranslatedEvents(db.store.sqlite, 2);
    const before = eventStates(db.store.sqlite);
    // fate is NOT NULL: the second record fails, and the first must not be committed alone.
    const broken = { ...result(bad!.seq), fate: null } as unknown as DeliveryRecord;
    await expect(outbox.record([result(good!.seq), broken])).rejects.toThrow(/NOT NULL/);
    expect(eventStates(db.store.sqlite)).toEqual(before);
  });
});
