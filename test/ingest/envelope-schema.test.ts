import { describe, expect, it } from 'vitest';
import { checkEvent, EnvelopeSchema, EventSchema, eventProblem, isCaliper11 } from '../../src/ingest/envelope-schema.ts';
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
];

describe('eventProblem', () => {
  it.each(variants)('agrees with EventSchema on %s', (_name, event) => {
    const schemaAccepts = EventSchema.safeParse(event).success;
    const problem = eventProblem(event, 3);
    expect(problem === undefined).toBe(schemaAccepts);
    if (problem !== undefined) expect(problem).toMatch(/^data\[3\]\.(id|type|action|actor|eventTime): /);
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
