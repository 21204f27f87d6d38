/**
 * toEnvelopeBatch on envelopes parsed as POST /caliper parses them: the columns intake
 * indexes, what is kept of a malformed or unread event, and that a large envelope is worked
 * through in slices with other callbacks let in between.
 */
import { describe, expect, it } from 'vitest';
import { MAX_PARSED_BYTES } from '../../src/ingest/envelope-schema.ts';
import { toEnvelopeBatch } from '../../src/ingest/envelope-batch.ts';
import { parseEnvelope, type ParsedEnvelope } from '../../src/ingest/parse-envelope.ts';
import { envelope, sessionEvent } from '../helpers/caliper-events.ts';

const RECEIVED_AT = Date.parse('2026-03-02T10:00:00.000Z');

const parsed = (data: unknown[]) => parseEnvelope(Buffer.from(JSON.stringify(envelope(data))));
const text = (raw: string | Uint8Array) => (typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8'));

describe('toEnvelopeBatch', () => {
  it('takes the envelope fields and, per event, the trimmed id, type and action and the eventTime as sent', async () => {
    const event = sessionEvent({ id: '  e-1\t', type: ' SessionEvent ', action: 'LoggedIn\n', eventTime: '2026-03-02T09:15:27+01:00' });
    const input = await parsed([event]);
    const batch = await toEnvelopeBatch(input, { receivedAt: RECEIVED_AT });
    expect(batch).toMatchObject({
      sensor: input.envelope.sensor,
      sendTime: input.envelope.sendTime,
      bytes: input.bytes,
      receivedAt: RECEIVED_AT,
      sourceIds: ['e-1'],
      types: ['SessionEvent'],
      actions: ['LoggedIn'],
      eventTimes: ['2026-03-02T09:15:27+01:00'],
      problems: [undefined],
    });
    expect(JSON.parse(text(batch.raws[0]!))).toEqual(event);
  });

  it('keeps each event as the bytes of the body, and hands on the memory they are views of', async () => {
    const input = await parsed([sessionEvent(), sessionEvent()]);
    const batch = await toEnvelopeBatch(input, { receivedAt: RECEIVED_AT });
    expect(batch.transferable).toBe(input.events.transferable);
    expect(batch.raws).toHaveLength(2);
    for (const raw of batch.raws) {
      expect(raw).toBeInstanceOf(Uint8Array);
      expect((raw as Uint8Array).buffer).toBe(input.events.transferable);
    }
  });

  it('keeps a malformed event with its message and whatever of id, type, action and time it has', async () => {
    const batch = await toEnvelopeBatch(
      await parsed([sessionEvent({ id: 'good' }), sessionEvent({ id: ' bad ', action: ' Viewed ', eventTime: 'yesterday' }), 'not an event', sessionEvent({ id: 'after' })]),
      { receivedAt: RECEIVED_AT },
    );
    expect(batch.sourceIds).toEqual(['good', 'bad', null, 'after']);
    expect(batch.types).toEqual(['SessionEvent', 'SessionEvent', null, 'SessionEvent']);
    expect(batch.actions).toEqual(['LoggedIn', 'Viewed', null, 'LoggedIn']);
    expect(batch.eventTimes).toEqual(['2026-03-02T09:15:27.481Z', 'yesterday', null, '2026-03-02T09:15:27.481Z']);
    expect(batch.problems[0]).toBeUndefined();
    expect(batch.problems[1]).toMatch(/^data\[1\]\.eventTime: /);
    expect(batch.problems[2]).toBe('data[2]: expected an event object');
    expect(batch.problems[3]).toBeUndefined();
    expect(text(batch.raws[2]!)).toBe('"not an event"');
  });

  it('keeps an event too large to read as sent, saying how large it is, and reads the others', async () => {
    const huge = sessionEvent({ id: 'huge', padding: 'x'.repeat(MAX_PARSED_BYTES) });
    const input = await parsed([sessionEvent({ id: 'small' }), huge]);
    const batch = await toEnvelopeBatch(input, { receivedAt: RECEIVED_AT });
    const size = Buffer.byteLength(JSON.stringify(huge));
    expect(batch.problems).toEqual([undefined, `data[1]: the event is ${size} bytes; an event over ${MAX_PARSED_BYTES} bytes is kept as sent, not read`]);
    // Not read, so nothing of it is indexed; its bytes are stored whole.
    expect(batch.sourceIds).toEqual(['small', null]);
    expect(batch.eventTimes[1]).toBeNull();
    expect((batch.raws[1] as Uint8Array).byteLength).toBe(size);
  });

  it('gives other callbacks a turn while it works through a large envelope, and none for a small one', async () => {
    const turnsTaken = async (input: ParsedEnvelope) => {
      let turns = 0;
      let stopped = false;
      const tick = () => {
        if (stopped) return;
        turns += 1;
        setImmediate(tick);
      };
      setImmediate(tick);
      const batch = await toEnvelopeBatch(input, { receivedAt: RECEIVED_AT });
      stopped = true;
      return { turns, batch };
    };
    const small = await turnsTaken(await parsed([sessionEvent()]));
    expect(small.turns).toBe(0);
    const large = await turnsTaken(await parsed(Array.from({ length: 5_000 }, (_, i) => sessionEvent({ id: `e-${i}` }))));
    expect(large.turns).toBeGreaterThan(1);
    // Every event made its row, in order, however many turns it took.
    expect(large.batch.sourceIds).toHaveLength(5_000);
    expect(large.batch.sourceIds[4_999]).toBe('e-4999');
    expect(large.batch.problems.every((problem) => problem === undefined)).toBe(true);
  });
});
