/**
 * readTranslateInput: what `caliper-gateway translate` and the fixtures are given, told apart
 * (an envelope or one event) and checked as intake checks it. The CLI's tests cover the
 * messages a user sees for a bad file; these pin the items handed to translation and the
 * edges of telling the two kinds apart.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toEnvelopeBatch } from '../../src/ingest/envelope-batch.ts';
import { parseEnvelope } from '../../src/ingest/parse-envelope.ts';
import { openStore } from '../../src/store/database.ts';
import { createIntake } from '../../src/store/intake.ts';
import { readTranslateInput, resendsOf } from '../../src/mapping/translate-input.ts';
import { CALIPER_1_1, envelope, sessionEvent, TEST_SITE } from '../helpers/caliper-events.ts';
import { makeTempDir } from '../helpers/identity-harness.ts';

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('readTranslateInput', () => {
  it('gives each event of an envelope with the sensor and its place in data', () => {
    const events = [sessionEvent({ id: 'e-0' }), sessionEvent({ id: 'e-1' })];
    expect(readTranslateInput(bytes(envelope(events)))).toEqual({
      ok: true,
      sensor: TEST_SITE,
      envelope: true,
      items: [
        { sensor: TEST_SITE, event: events[0], index: 0 },
        { sensor: TEST_SITE, event: events[1], index: 1 },
      ],
    });
  });

  it('hands on a malformed event inside a good envelope, as intake stores it, for translation to refuse', () => {
    const result = readTranslateInput(JSON.stringify(envelope([sessionEvent({ id: 'ok' }), { type: 'SessionEvent' }])));
    expect(result).toMatchObject({ ok: true, items: [{ index: 0 }, { event: { type: 'SessionEvent' }, index: 1 }] });
  });

  it('gives a single event as the only item, with an empty sensor', () => {
    const event = sessionEvent();
    expect(readTranslateInput(JSON.stringify(event))).toEqual({ ok: true, sensor: '', envelope: false, items: [{ sensor: '', event, index: 0 }] });
  });

  it('takes an object with any envelope member as an envelope, and says what the envelope lacks', () => {
    // An event has no sensor or dataVersion: an object with either was meant as an envelope.
    expect(readTranslateInput(JSON.stringify({ sensor: TEST_SITE, sendTime: '2026-03-02T10:00:00.000Z', dataVersion: CALIPER_1_1 }))).toEqual({
      ok: false,
      message: expect.stringMatching(/^data: /),
    });
    expect(readTranslateInput(JSON.stringify({ ...sessionEvent(), dataVersion: CALIPER_1_1 }))).toMatchObject({ ok: false, message: expect.stringMatching(/^sensor: /) });
    expect(readTranslateInput(JSON.stringify({ ...sessionEvent(), sensor: TEST_SITE }))).toMatchObject({ ok: false, message: expect.stringMatching(/^sendTime: /) });
    expect(readTranslateInput(JSON.stringify(envelope([])))).toEqual({ ok: false, message: 'data: the envelope holds no events' });
    // As intake refuses it: a sensor over 1,024 characters, named by its length.
    expect(readTranslateInput(JSON.stringify(envelope([sessionEvent()], { sensor: 's'.repeat(1_025) })))).toEqual({
      ok: false,
      message: "sensor: the sensor id has 1025 characters; at most 1024 are allowed (Learn's is its site id, a UUID)",
    });
  });

  it('accepts the Caliper 1.1 IRI with a trailing slash, as intake does, and no other version', () => {
    expect(readTranslateInput(JSON.stringify(envelope([sessionEvent()], { dataVersion: `${CALIPER_1_1}/` })))).toMatchObject({ ok: true, envelope: true });
    expect(readTranslateInput(JSON.stringify(envelope([sessionEvent()], { dataVersion: 'http://purl.imsglobal.org/ctx/caliper/v1p0' })))).toEqual({
      ok: false,
      message: 'dataVersion: "http://purl.imsglobal.org/ctx/caliper/v1p0" is not Caliper 1.1 (http://purl.imsglobal.org/ctx/caliper/v1p1)',
    });
  });

  it('quotes a dataVersion that is not Caliper 1.1 escaped and bounded', () => {
    expect(readTranslateInput(JSON.stringify(envelope([sessionEvent()], { dataVersion: 'v1\u202e' })))).toEqual({
      ok: false,
      message: 'dataVersion: "v1\\u202e" is not Caliper 1.1 (http://purl.imsglobal.org/ctx/caliper/v1p1)',
    });
    expect(readTranslateInput(JSON.stringify(envelope([sessionEvent()], { dataVersion: 'v'.repeat(5000) })))).toEqual({
      ok: false,
      message: `dataVersion: "${'v'.repeat(100)}"… (5000 characters) is not Caliper 1.1 (http://purl.imsglobal.org/ctx/caliper/v1p1)`,
    });
  });

  it('reads only the bytes of a view into a larger buffer', () => {
    const event = sessionEvent();
    const inner = Buffer.from(JSON.stringify(event));
    const around = Buffer.concat([Buffer.from('garbage before '), inner, Buffer.from(' and after')]);
    const view = new Uint8Array(around.buffer, around.byteOffset + 15, inner.length);
    expect(readTranslateInput(view)).toMatchObject({ ok: true, items: [{ event }] });
  });

  it('reads bytes and text alike, a byte order mark in either', () => {
    const text = `\uFEFF${JSON.stringify(envelope([sessionEvent({ id: 'e-0' })]))}`;
    const fromText = readTranslateInput(text);
    expect(fromText).toMatchObject({ ok: true, items: [{ event: { id: 'e-0' } }] });
    expect(readTranslateInput(new TextEncoder().encode(text))).toEqual(fromText);
  });

  it.each([
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"urn:uuid:5f0c"'],
    ['a list', '[]'],
  ])('refuses %s as neither an envelope nor an event', (_what, content) => {
    expect(readTranslateInput(content)).toEqual({
      ok: false,
      message: 'expected a Caliper envelope ({ sensor, sendTime, dataVersion, data }) or a single event object',
    });
  });

  it('refuses a file that is only a byte order mark as not JSON, and empty text or bytes as empty', () => {
    expect(readTranslateInput('')).toEqual({ ok: false, message: 'the file is empty; a Caliper envelope as JSON was expected' });
    expect(readTranslateInput(new Uint8Array(0))).toEqual({ ok: false, message: 'the file is empty; a Caliper envelope as JSON was expected' });
    expect(readTranslateInput('\uFEFF')).toMatchObject({ ok: false, message: expect.stringMatching(/^not valid JSON/) });
  });

  it('refuses bytes that are not UTF-8 before trying to read them as JSON', () => {
    expect(readTranslateInput(new Uint8Array([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]))).toEqual({ ok: false, message: 'not valid UTF-8; Caliper envelopes are UTF-8 JSON' });
  });
});

describe('resendsOf', () => {
  const items = (events: unknown[], sensor = TEST_SITE) => events.map((event, index) => ({ sensor, event, index }));

  it('points each resend at its first copy, keyed as intake keys it: id and eventTime', () => {
    const event = sessionEvent({ id: 'e-1' });
    const later = { ...event, eventTime: '2026-03-02T10:05:00.000Z' };
    expect(resendsOf(items([event, later, event, { ...event, id: ' e-1 ' }]))).toEqual([undefined, undefined, 0, 0]);
  });

  it('takes a malformed copy for a resend of a good one, as the one unique index does', () => {
    const event = sessionEvent({ id: 'e-1' });
    expect(resendsOf(items([event, { ...event, actor: 7 }]))).toEqual([undefined, 0]);
  });

  it('matches events without an eventTime by id alone, and never an event without an id', () => {
    const untimed = { ...sessionEvent({ id: 'e-2' }), eventTime: undefined };
    const noId = { ...sessionEvent(), id: undefined };
    expect(resendsOf(items([untimed, untimed, noId, noId, sessionEvent({ id: 'e-2' })]))).toEqual([undefined, 0, undefined, undefined, undefined]);
  });
});

describe('resendsOf, against intake', () => {
  it('leaves out exactly the events the gateway stores no row for', async () => {
    const temp = makeTempDir('resends');
    const store = openStore(join(temp.dir, 'gateway.db'));
    try {
      const event = sessionEvent({ id: 'e-1' });
      const untimed = { ...sessionEvent({ id: 'e-2' }), eventTime: undefined };
      const sent = envelope([event, { ...event, eventTime: '2026-03-02T10:05:00.000Z' }, event, { ...event, actor: 7 }, untimed, untimed, { type: 'x' }, { type: 'x' }]);
      const body = Buffer.from(JSON.stringify(sent));
      const result = await createIntake(store).write(await toEnvelopeBatch(await parseEnvelope(body), { receivedAt: Date.now() }));

      const input = readTranslateInput(body);
      if (!input.ok) throw new Error(input.message);
      const resends = resendsOf(input.items);
      expect(resends).toEqual([undefined, undefined, 0, 0, undefined, 4, undefined, undefined]);
      expect(result.duplicates).toBe(resends.filter((earlier) => earlier !== undefined).length);
      expect(result.stored + result.rejected).toBe(resends.filter((earlier) => earlier === undefined).length);
    } finally {
      store.close();
      temp.remove();
    }
  });
});
