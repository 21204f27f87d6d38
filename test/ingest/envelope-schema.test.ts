import { describe, expect, it } from 'vitest';
import { checkEvent, EnvelopeSchema, EventSchema, eventProblem, eventSummary, isCaliper11, MAX_EVENT_FIELD_CHARS } from '../../src/ingest/envelope-schema.ts';
import { describeZodError } from '../../src/errors.ts';
import { forumEvent, sessionEvent } from '../helpers/caliper-events.ts';

const variants: Array<[string, Record<string, unknown>]> = [
  ['a Learn SessionEvent', sessionEvent()],
  ['a Blackboard ForumEvent', forumEvent()],
  ['an actor given as an IRI', sessionEvent({ actor: 'https://example.edu/users/1' })],
  ['an actor object without id', sessionEvent({ actor: { type: 'Person' } })],
  ['an offset eventTime', sessionEvent({ eventTime: '2026-03-02T09:15:27+01:00' })],
  ['an eventTime without seconds', sessionEvent({ eventTime: '2026-03-02T09:15Z' })],
  ['an id padded with spaces', sessionEvent({ id: '  e-1  ' })],
  ['no id', sessionEvent({ id: undefined })],
  ['a blank id', sessionEvent({ id: ' \t\n' })],
  ['a no-break-space id', sessionEvent({ id: '\u00a0\ufeff' })],
  ['a numeric id', sessionEvent({ id: 42 })],
  ['no type', sessionEvent({ type: undefined })],
  ['an empty action', sessionEvent({ action: '' })],
  ['an action list', sessionEvent({ action: ['LoggedIn'] })],
  ['no actor', sessionEvent({ actor: undefined })],
  ['a null actor', sessionEvent({ actor: null })],
  ['a blank actor IRI', sessionEvent({ actor: '  ' })],
  ['an actor array', sessionEvent({ actor: [{ id: 'x' }] })],
  ['an actor with a numeric id', sessionEvent({ actor: { id: 7 } })],
  ['an actor with a null type', sessionEvent({ actor: { id: 'x', type: null } })],
  ['a date-only eventTime', sessionEvent({ eventTime: '2026-03-02' })],
  ['an eventTime without zone', sessionEvent({ eventTime: '2026-03-02T09:15:27' })],
  ['an impossible month', sessionEvent({ eventTime: '2026-13-02T09:15:27Z' })],
  ['an epoch eventTime', sessionEvent({ eventTime: 1772442927000 })],
  ['an id of the longest length kept', sessionEvent({ id: 'i'.repeat(MAX_EVENT_FIELD_CHARS) })],
  ['an id of the longest length kept, padded', sessionEvent({ id: ` ${'i'.repeat(MAX_EVENT_FIELD_CHARS)}\t` })],
  ['an id one character too long', sessionEvent({ id: 'i'.repeat(MAX_EVENT_FIELD_CHARS + 1) })],
  ['an id of 600,000 characters', sessionEvent({ id: 'i'.repeat(600_000) })],
  ['a type too long', sessionEvent({ type: `http://example.edu/${'t'.repeat(MAX_EVENT_FIELD_CHARS)}` })],
  ['an action too long', sessionEvent({ action: 'a'.repeat(MAX_EVENT_FIELD_CHARS + 1) })],
  ['an eventTime of 100,000 characters', sessionEvent({ eventTime: `2026-03-02T09:15:27.${'1'.repeat(100_000)}Z` })],
];

describe('eventProblem', () => {
  it.each(variants)('agrees with EventSchema on %s', (_name, event) => {
    const schemaAccepts = EventSchema.safeParse(event).success;
    const problem = eventProblem(event, 3);
    expect(problem === undefined).toBe(schemaAccepts);
    if (problem !== undefined) expect(problem).toMatch(/^data\[3\]\.(id|type|action|actor|eventTime): /);
  });

  it('refuses an id, type or action over the bound by its length, never quoting it', () => {
    const tooLong = MAX_EVENT_FIELD_CHARS + 1;
    expect(eventProblem(sessionEvent({ id: 'i'.repeat(tooLong) }), 3)).toBe(
      `data[3].id: the event id has ${tooLong} characters; at most ${MAX_EVENT_FIELD_CHARS} are allowed (Learn's are UUIDs)`,
    );
    expect(eventProblem(sessionEvent({ type: ` ${'t'.repeat(tooLong)} ` }), 0)).toBe(
      `data[0].type: the event type has ${tooLong} characters; at most ${MAX_EVENT_FIELD_CHARS} are allowed`,
    );
    expect(eventProblem(sessionEvent({ action: 'a'.repeat(600_000) }), 1)).toBe(
      `data[1].action: the action has 600000 characters; at most ${MAX_EVENT_FIELD_CHARS} are allowed`,
    );
    // An eventTime is bounded by its format.
    expect(eventProblem(sessionEvent({ eventTime: `2026-03-02T09:15:27.${'1'.repeat(100_000)}Z` }), 2)).toBe(
      'data[2].eventTime: expected an ISO 8601 date-time with a time zone, like 2024-05-01T12:00:00.000Z',
    );
  });

  it('names non-objects', () => {
    for (const value of [null, 'x', 3, [sessionEvent()]]) expect(eventProblem(value, 0)).toBe('data[0]: expected an event object');
  });

  it('checkEvent hands back the very object it checked', () => {
    const event = sessionEvent();
    expect(checkEvent(event, 0)).toEqual({ ok: true, event });
    expect((checkEvent(event, 0) as { event: unknown }).event).toBe(event);
    expect(checkEvent({}, 1)).toMatchObject({ ok: false, message: expect.stringMatching(/^data\[1\]\./) });
  });
});

describe('eventSummary', () => {
  it('keeps the fields of a rejected event as sent, trimmed', () => {
    expect(eventSummary({ id: ' e-1 ', type: 'T', action: 7, eventTime: 'yesterday' })).toEqual({
      sourceId: 'e-1',
      type: 'T',
      action: null,
      eventTime: 'yesterday',
    });
    const longest = 'i'.repeat(MAX_EVENT_FIELD_CHARS);
    expect(eventSummary({ id: longest }).sourceId).toBe(longest);
  });

  it('keeps a field over the bound as its start and a digest of the whole, so a resend still matches', () => {
    const long = (last: string) => `${'i'.repeat(600_000)}${last}`;
    const summary = eventSummary({ id: long('x'), type: long('t'), action: long('a'), eventTime: long('z') });
    for (const value of Object.values(summary)) {
      expect(value!.length).toBeLessThanOrEqual(200);
      expect(value).toMatch(/^i{64}… \(600001 characters, sha256 [0-9a-f]{64}\)$/);
    }
    expect(summary.sourceId).toBe(eventSummary({ id: ` ${long('x')} ` }).sourceId);
    expect(summary.sourceId).not.toBe(eventSummary({ id: long('y') }).sourceId);
    expect(summary.type).not.toBe(summary.action);
  });

  it('never cuts a character in two', () => {
    const id = `${'i'.repeat(63)}😀${'i'.repeat(MAX_EVENT_FIELD_CHARS)}`;
    const kept = eventSummary({ id }).sourceId!;
    expect(kept.startsWith(`${'i'.repeat(63)}…`)).toBe(true);
    // A lone surrogate would come back from UTF-8 as U+FFFD.
    expect(Buffer.from(kept).toString('utf8')).toBe(kept);
  });
});

describe('EnvelopeSchema', () => {
  it('accepts what Learn sends', () => {
    const result = EnvelopeSchema.safeParse({
      sensor: '7d0c3a52-91e4-4f6b-b2a8-5c1e9f04d3a7',
      sendTime: '2026-03-02T10:01:09.120Z',
      dataVersion: 'http://purl.imsglobal.org/ctx/caliper/v1p1',
      data: [sessionEvent()],
    });
    expect(result.success).toBe(true);
  });

  it('refuses a sensor over the bound by its length, never quoting it', () => {
    const envelopeWith = (sensor: string) => ({
      sensor,
      sendTime: '2026-03-02T10:01:09.120Z',
      dataVersion: 'http://purl.imsglobal.org/ctx/caliper/v1p1',
      data: [sessionEvent()],
    });
    const longest = 's'.repeat(MAX_EVENT_FIELD_CHARS);
    const kept = EnvelopeSchema.safeParse(envelopeWith(` ${longest}\t`));
    expect(kept.success && kept.data.sensor).toBe(longest);
    for (const [sensor, length] of [[`${longest}x`, MAX_EVENT_FIELD_CHARS + 1], [` ${'s'.repeat(600_000)} `, 600_000]] as const) {
      const result = EnvelopeSchema.safeParse(envelopeWith(sensor));
      expect(result.success).toBe(false);
      expect(result.error && describeZodError(result.error)).toBe(
        `sensor: the sensor id has ${length} characters; at most ${MAX_EVENT_FIELD_CHARS} are allowed (Learn's is its site id, a UUID)`,
      );
    }
  });

  it('recognises the Caliper 1.1 version IRI, with or without a trailing slash', () => {
    expect(isCaliper11('http://purl.imsglobal.org/ctx/caliper/v1p1')).toBe(true);
    expect(isCaliper11('http://purl.imsglobal.org/ctx/caliper/v1p1/')).toBe(true);
    expect(isCaliper11('http://purl.imsglobal.org/ctx/caliper/v1p2')).toBe(false);
    expect(isCaliper11('v1p1')).toBe(false);
  });

  it('reads a dataVersion of long runs of slashes in one pass', () => {
    // A trailing-slash regex retried at every slash of the run: this one took about 15 s.
    const slashes = '/'.repeat(200_000);
    expect(isCaliper11(`${slashes}x`)).toBe(false);
    expect(isCaliper11(`http:${slashes}purl.imsglobal.org/ctx/caliper/v1p1`)).toBe(false);
    expect(isCaliper11(`http://purl.imsglobal.org/ctx/caliper/v1p1${slashes}`)).toBe(true);
    expect(isCaliper11(slashes)).toBe(false);
  });
});
