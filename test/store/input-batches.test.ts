import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BATCH_MAX_BYTES,
  BATCH_MAX_EVENTS,
  createInputReader,
  packInputs,
  prepareInputWrite,
  unpackInputs,
} from '../../src/store/input-batches.ts';
import { tempStore } from '../helpers/temp-store.ts';

/** A Learn-like event: the same IRIs and context in every one, its own id and student. */
const learnEvent = (n: number) =>
  JSON.stringify({
    '@context': 'http://purl.imsglobal.org/ctx/caliper/v1p1',
    id: `urn:uuid:00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
    type: 'http://caliper.blackboard.com/ontology/ext/v1p1#ForumEvent',
    actor: { id: `https://learn.example.edu/learn/api/v1/users/_${n}_1`, type: 'Person', extensions: { 'bb:user.externalId': `s${n}` } },
    action: 'http://purl.imsglobal.org/vocab/caliper/v1/action#Posted',
    eventTime: new Date(Date.UTC(2026, 2, 2) + n).toISOString(),
    note: 'ünïcode ✓ 😀',
  });

describe('packInputs and unpackInputs', () => {
  it('give back each input as received, by seq, from text or bytes and across gaps in the seqs', () => {
    const seqs = [7, 8, 10, 11];
    const texts = [learnEvent(1), '{"id" : "spaced"}', learnEvent(3), '{"e":"\\u00e9"}'];
    const raws = [texts[0]!, Buffer.from(texts[1]!), texts[2]!, new Uint8Array(Buffer.from(texts[3]!))];
    const [batch, ...more] = packInputs(seqs, raws);
    expect(more).toEqual([]);
    expect(batch).toMatchObject({ firstSeq: 7, lastSeq: 11 });
    expect(unpackInputs(batch!)).toEqual(new Map(seqs.map((seq, i) => [seq, texts[i]])));
  });

  it('takes a fraction of the inputs’ bytes for Learn-shaped events', () => {
    const texts = Array.from({ length: 25 }, (_, i) => learnEvent(i));
    const [batch] = packInputs(
      texts.map((_, i) => i + 1),
      texts,
    );
    const bytes = texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
    expect(batch!.data.length).toBeLessThan(bytes / 4);
  });

  it(`cuts batches at ${BATCH_MAX_EVENTS} events and at ${BATCH_MAX_BYTES} bytes, a larger event making one of its own`, () => {
    const many = Array.from({ length: BATCH_MAX_EVENTS * 2 + 1 }, (_, i) => learnEvent(i));
    expect(packInputs(many.map((_, i) => i + 1), many).map((batch) => [batch.firstSeq, batch.lastSeq])).toEqual([
      [1, BATCH_MAX_EVENTS],
      [BATCH_MAX_EVENTS + 1, BATCH_MAX_EVENTS * 2],
      [BATCH_MAX_EVENTS * 2 + 1, BATCH_MAX_EVENTS * 2 + 1],
    ]);
    const huge = `{"pad":"${'x'.repeat(BATCH_MAX_BYTES)}"}`;
    const batches = packInputs([1, 2, 3], ['{"a":1}', huge, '{"b":2}']);
    expect(batches.map((batch) => [batch.firstSeq, batch.lastSeq])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(unpackInputs(batches[1]!).get(2)).toBe(huge);
  });

  it('packs nothing into no batch', () => {
    expect(packInputs([], [])).toEqual([]);
  });
});

describe('createInputReader', () => {
  let db: ReturnType<typeof tempStore>;
  beforeEach(() => {
    db = tempStore('input-batches-');
  });
  afterEach(() => db.cleanup());

  const write = (seqs: number[], raws: string[]) => prepareInputWrite(db.store.sqlite)(packInputs(seqs, raws));

  it('reads inputs from their batches in any order, and undefined for a seq no batch holds', () => {
    const first = Array.from({ length: 3 }, (_, i) => learnEvent(i));
    const second = Array.from({ length: BATCH_MAX_EVENTS + 2 }, (_, i) => learnEvent(100 + i));
    write([1, 2, 4], first);
    write(
      second.map((_, i) => 10 + i),
      second,
    );
    const read = createInputReader(db.store.sqlite);
    const seqs = [10 + BATCH_MAX_EVENTS + 1, 4, 3, 1, 10, 10 + BATCH_MAX_EVENTS, 9_999, 0];
    expect(read(seqs)).toEqual(
      new Map<number, string | undefined>([
        [0, undefined],
        [1, first[0]],
        [3, undefined],
        [4, first[2]],
        [10, second[0]],
        [10 + BATCH_MAX_EVENTS, second[BATCH_MAX_EVENTS]],
        [10 + BATCH_MAX_EVENTS + 1, second[BATCH_MAX_EVENTS + 1]],
        [9_999, undefined],
      ]),
    );
  });

  it('inflates at most maxBatches batches a read, leaving the seqs after them out, unread', () => {
    const texts = Array.from({ length: 6 }, (_, i) => learnEvent(i));
    write([1, 2], texts.slice(0, 2));
    write([3, 4], texts.slice(2, 4));
    write([5, 6], texts.slice(4, 6));
    const read = createInputReader(db.store.sqlite);
    expect([...read([6, 1, 4, 2, 3, 5], 2)]).toEqual([
      [1, texts[0]],
      [2, texts[1]],
      [3, texts[2]],
      [4, texts[3]],
    ]);
    // The batch it holds from the last read costs nothing: one more fits.
    expect([...read([4, 5, 6], 1)]).toEqual([
      [4, texts[3]],
      [5, texts[4]],
      [6, texts[5]],
    ]);
  });

  it('reads an event stored before batches from its own row, and a damaged batch as missing', () => {
    const { sqlite } = db.store;
    sqlite.prepare(`INSERT INTO envelopes (sensor, send_time, received_at, event_count, stored_count, rejected_count, duplicate_count, bytes) VALUES ('s', 't', 0, 1, 1, 0, 0, 0)`).run();
    sqlite.prepare(`INSERT INTO events (seq, envelope_id, sensor, received_at, fate, updated_at) VALUES (5, 1, 's', 0, 'pending', 0)`).run();
    sqlite.prepare('INSERT INTO event_inputs (seq, raw) VALUES (5, ?)').run('{"id":"old"}');
    sqlite.prepare('INSERT INTO event_input_batches (first_seq, last_seq, data) VALUES (20, 21, ?)').run(Buffer.from('not deflated'));
    sqlite.prepare(`INSERT INTO event_input_batches (first_seq, last_seq, codec, data) VALUES (30, 30, 'brotli', ?)`).run(Buffer.from('not brotli'));
    expect(createInputReader(sqlite)([5, 20, 21, 30])).toEqual(
      new Map([
        [5, '{"id":"old"}'],
        [20, undefined],
        [21, undefined],
        [30, undefined],
      ]),
    );
  });
});
