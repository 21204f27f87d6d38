/**
 * What Learn really sends, and what we require of it.
 *
 * The envelope is checked as a whole: a bad envelope is refused (400, or 422 for another
 * Caliper version) and nothing of it is stored. Events are checked one by one: a malformed
 * event inside a good envelope is stored as `rejected` with the message, the rest go on.
 * Learn deviates from Caliper 1.1 in ways we accept on purpose (see docs in README):
 * bare-UUID `sensor` and event ids, full-IRI Blackboard types, string or array `@context`.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { describeZodError } from '../errors.ts';
import { isRecord } from '../is-record.ts';

export const CALIPER_1_1 = 'http://purl.imsglobal.org/ctx/caliper/v1p1';
/** Learn's largest Event Batch Size; more is refused as too large (413), as too many bytes are. */
export const MAX_EVENTS_PER_ENVELOPE = 5_000;
/**
 * The most JSON that intake parses in one piece: an event, or the envelope around its `data`.
 * Learn's events are 2-5 KB. JSON.parse builds a heap object per `{}` or `[]`, so one 60 MB
 * event of `{},{},…` took the gateway to 4.3 GB and held the event loop for 35 s. Above this
 * an event is checked for syntax without being parsed, and kept as rejected.
 */
export const MAX_PARSED_BYTES = 1024 * 1024;

/**
 * The longest event id, type or action intake takes, counted as zod counts (UTF-16 units)
 * once trimmed. Learn's ids are UUIDs (36 characters) and its types and actions IRIs of under
 * 100. Each goes into the event's row (the id into the resend key's index) and comes back in
 * admin answers: unbounded, an id of half a megabyte within the body limit was kept whole.
 * The envelope's sensor (Learn's site id, a UUID) is held to it too: it goes into every row
 * of the envelope and the same index, and a longer one refuses the envelope.
 * Replay names events by id within the same bound. An eventTime needs none: its format
 * (ISO_DATE_TIME) allows at most 35 characters.
 */
export const MAX_EVENT_FIELD_CHARS = 1024;

// ISO 8601 date-time with a zone, as Caliper requires; Learn sends `…T12:59:47.248Z`.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;

export const isIsoDateTime = (value: string) => ISO_DATE_TIME.test(value) && !Number.isNaN(Date.parse(value));

const isoDateTime = z
  .string({ error: 'expected an ISO 8601 date-time string' })
  .refine(isIsoDateTime, {
    error: 'expected an ISO 8601 date-time with a time zone, like 2024-05-01T12:00:00.000Z',
  });

const nonEmpty = (what: string) =>
  z.string({ error: `expected ${what} as a string` }).trim().min(1, `${what} is empty`);

/** Refused by its length, never quoted: a message names the place, not what was there. */
const bounded = (what: string, hint = '') =>
  nonEmpty(what).max(MAX_EVENT_FIELD_CHARS, {
    error: (issue) => `${what} has ${String(issue.input).length} characters; at most ${MAX_EVENT_FIELD_CHARS} are allowed${hint}`,
  });

export const EnvelopeSchema = z.looseObject({
  // Bounded as an event id is: it goes into every event's row and the resend index with it.
  sensor: bounded('the sensor id', " (Learn's is its site id, a UUID)"),
  sendTime: isoDateTime,
  dataVersion: z.string({ error: 'expected the Caliper version IRI as a string' }),
  data: z
    .array(z.unknown(), { error: 'expected a list of events' })
    .min(1, 'the envelope holds no events')
    .max(MAX_EVENTS_PER_ENVELOPE, `an envelope holds at most ${MAX_EVENTS_PER_ENVELOPE} events`),
});

/** True for the Caliper 1.1 version IRI (a trailing slash is tolerated). */
export function isCaliper11(dataVersion: string): boolean {
  return withoutTrailingSlashes(dataVersion) === CALIPER_1_1;
}

/**
 * `text` without the slashes it ends with. Not `text.replace(/\/+$/, '')`: a regex tries it at
 * every slash, so a long run of slashes followed by anything else took quadratic time (150,000
 * held the event loop for 8 s).
 */
export function withoutTrailingSlashes(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x2f) end -= 1;
  return text.slice(0, end);
}

const entityOrIri = (what: string) =>
  z.union(
    [
      nonEmpty(what),
      z.looseObject({ id: z.string().optional(), type: z.string().optional() }),
    ],
    { error: `expected ${what} as an IRI or an object` },
  );

/** The minimum an event needs before any later stage can work with it. */
export const EventSchema = z.looseObject({
  id: bounded('the event id', " (Learn's are UUIDs)"),
  type: bounded('the event type'),
  actor: entityOrIri('the actor'),
  action: bounded('the action'),
  eventTime: isoDateTime,
});

export type InboundEvent = z.infer<typeof EventSchema> & Record<string, unknown>;

export type EventCheck =
  | { ok: true; event: InboundEvent }
  | { ok: false; message: string; event: unknown };

/** Checks one element of `data`; `index` makes the message point into the envelope. */
export function checkEvent(value: unknown, index: number): EventCheck {
  const message = eventProblem(value, index);
  // Keep the caller's object: only the fields above were checked, nothing was coerced.
  return message === undefined ? { ok: true, event: value as InboundEvent } : { ok: false, message, event: value };
}

/**
 * Why one element of `data` is not a usable event, or undefined when it is. The intake
 * path calls this for up to 5,000 events per request, so well-formed events are
 * recognised by hand-written checks (a few property reads each) and `EventSchema` runs
 * only for the rare malformed one, to word the message. A test keeps the two in step.
 */
export function eventProblem(value: unknown, index: number): string | undefined {
  if (!isRecord(value)) {
    return `data[${index}]: expected an event object`;
  }
  if (isWellFormedEvent(value as Record<string, unknown>)) return undefined;
  const result = EventSchema.safeParse(value);
  return result.success ? `data[${index}]: malformed event` : describeZodError(result.error, ['data', index]);
}

// `\S` and `String.prototype.trim` agree on what whitespace is, so this matches `nonEmpty`.
const HAS_TEXT = /\S/;
export const hasText = (value: unknown): value is string => typeof value === 'string' && HAS_TEXT.test(value);
const optionalString = (value: unknown) => value === undefined || typeof value === 'string';
/** Whether `text`, trimmed, is within MAX_EVENT_FIELD_CHARS (trimmed only when it has to be). */
export const withinBound = (text: string) =>
  text.length <= MAX_EVENT_FIELD_CHARS || text.trim().length <= MAX_EVENT_FIELD_CHARS;

function isWellFormedEvent(event: Record<string, unknown>): boolean {
  const actor = event.actor;
  const eventTime = event.eventTime;
  return (
    hasText(event.id) &&
    withinBound(event.id) &&
    hasText(event.type) &&
    withinBound(event.type) &&
    hasText(event.action) &&
    withinBound(event.action) &&
    (hasText(actor) ||
      (actor !== null &&
        typeof actor === 'object' &&
        !Array.isArray(actor) &&
        optionalString((actor as Record<string, unknown>).id) &&
        optionalString((actor as Record<string, unknown>).type))) &&
    typeof eventTime === 'string' &&
    isIsoDateTime(eventTime)
  );
}

/**
 * The id, type, action and eventTime of an event, where present, for indexing a stored row.
 * A rejected event may carry any of them over MAX_EVENT_FIELD_CHARS: see `keptText`.
 */
export function eventSummary(value: unknown): {
  sourceId: string | null;
  type: string | null;
  action: string | null;
  eventTime: string | null;
} {
  const record = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  const text = (key: string) => {
    const field = record[key];
    return typeof field === 'string' && field.trim() !== '' ? keptText(field.trim()) : null;
  };
  return { sourceId: text('id'), type: text('type'), action: text('action'), eventTime: text('eventTime') };
}

/** How much of a field over the bound its row keeps, before the digest. */
const KEPT_START_CHARS = 64;

/**
 * A field as a rejected event's row keeps it: whole within MAX_EVENT_FIELD_CHARS; past it, its
 * start, its length and a SHA-256 of the whole. Short enough for the index and the admin's
 * screen, yet a resend of the same event gets the same value and is stored once, and two long
 * ids that differ only past the start stay two events (a cut alone would take the second for
 * a resend and drop it).
 */
function keptText(text: string): string {
  if (text.length <= MAX_EVENT_FIELD_CHARS) return text;
  let end = KEPT_START_CHARS;
  const last = text.charCodeAt(end - 1);
  // Never half of a surrogate pair: stored as UTF-8, it would become U+FFFD.
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  // UTF-16 units as they are, so a lone surrogate is not folded into U+FFFD either.
  const digest = createHash('sha256').update(text, 'utf16le').digest('hex');
  return `${text.slice(0, end)}… (${text.length} characters, sha256 ${digest})`;
}
