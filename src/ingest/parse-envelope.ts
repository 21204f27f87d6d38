/**
 * From request bytes to a checked envelope, with the Caliper endpoint's answers for what
 * is wrong: 400 for bytes that are not JSON or not an envelope (the message says where),
 * 422 for an envelope of another Caliper version.
 *
 * The body is not parsed as one document. The scanner (event-slices.ts) finds the `data`
 * array and each event in it; the envelope around the array is parsed with the array left
 * empty, and each event is parsed on its own when intake gets to it. That is the same JSON,
 * read in parts: a 25 MB envelope never becomes one 25 MB string and a tree of 5,000 events
 * all alive at once (about 100 MB of heap), only one event at a time, and each event's
 * text stays a view of the body's bytes, which is what intake stores.
 *
 * Whenever a part does not parse, the whole body is parsed after all, so a sender gets the
 * same message, with the same position, as if it had been parsed whole; and a syntax error
 * anywhere is reported before anything the envelope says (400 before 422).
 */
import { isUtf8 } from 'node:buffer';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { GatewayError, badRequest, describeZodError, quote } from '../errors.ts';
import { isRecord } from '../is-record.ts';
import { CALIPER_1_1, EnvelopeSchema, MAX_EVENTS_PER_ENVELOPE, MAX_PARSED_BYTES, isCaliper11 } from './envelope-schema.ts';
import type { EventFields } from './event-fields.ts';
import { locateEnvelopeData, type DataLayout } from './event-slices.ts';
import { describeJsonSyntaxError, findJsonSyntaxError, withoutBom } from './json-syntax.ts';

/** What the envelope says about itself. */
export interface EnvelopeHead {
  sensor: string;
  sendTime: string;
  dataVersion: string;
}

/** The events of an accepted envelope, read one at a time. */
/**
 * What `EnvelopeEvents.value` gives for an event of more than MAX_PARSED_BYTES: valid JSON
 * (it was checked), but not parsed.
 */
export class UnparsedEvent {
  constructor(readonly bytes: number) {}
}

export interface EnvelopeEvents {
  count: number;
  /** The `i`th element of `data`, parsed (it is not kept: each call parses again); an UnparsedEvent when too large. */
  value(i: number): unknown;
  /**
   * Its JSON text as received: a view of the body's bytes. Only when the scanner could not
   * find the events (never expected for a body JSON.parse accepts) is it a re-serialisation,
   * which keeps every key and value, if not the original spacing and escapes.
   */
  raw(i: number): Uint8Array | string;
  /** The memory the byte `raw`s are views of, when it belongs to these events alone. */
  transferable?: ArrayBuffer;
  /**
   * Per event, what intake stores of it when it was read without being parsed: it is valid
   * JSON and `eventProblem` finds nothing wrong with it (event-fields.ts). Undefined for an
   * event that was not, which `value` then parses.
   */
  fields?: ReadonlyArray<EventFields | undefined>;
}

export interface ParsedEnvelope {
  envelope: EnvelopeHead;
  events: EnvelopeEvents;
  /** Size of the request body in bytes. */
  bytes: number;
}

const YIELD_ABOVE_BYTES = 1024 * 1024;

export async function parseEnvelope(body: Buffer): Promise<ParsedEnvelope> {
  if (body.length === 0) throw badRequest('malformed-json', 'The body is empty; send a Caliper envelope as JSON');
  if (!isUtf8(body)) throw badRequest('malformed-json', 'The body is not valid UTF-8; Caliper envelopes are UTF-8 JSON');

  // The events are views of a buffer that belongs to them alone, so intake can hand it to
  // its thread without a copy. A body read by readBody has its memory to itself; a small
  // one may share Node's buffer pool (and a copy of it costs next to nothing).
  const owned =
    body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer
      ? body
      : Buffer.from(new Uint8Array(body));
  const layout = locateEnvelopeData(owned);
  // Give other requests a turn after scanning a large body.
  if (owned.length > YIELD_ABOVE_BYTES) await nextTurn();
  return layout ? inParts(owned, layout) : whole(owned);
}

/** The usual way: the envelope without its events, then each event when asked for. */
function inParts(body: Buffer, layout: DataLayout): ParsedEnvelope {
  const { slices, fields } = layout;
  const count = slices.length / 2;
  const outside = withoutBom(body.toString('utf8', 0, layout.open + 1) + body.toString('utf8', layout.close - 1));
  // The envelope is refused; if an event is not even JSON, that is what the sender hears.
  const checkEvents = () => {
    for (let i = 0; i < count; i++) if (!fields[i]) parseSlice(body, slices, i);
  };
  if (outside.length > MAX_PARSED_BYTES) {
    if (findJsonSyntaxError(outside)) throw syntaxError(body);
    checkEvents();
    throw badRequest('invalid-envelope', `(root): the envelope's members besides data take ${outside.length} characters; at most ${MAX_PARSED_BYTES} are read`);
  }
  let value: unknown;
  try {
    value = JSON.parse(outside);
  } catch {
    throw syntaxError(body);
  }
  const head = checkHead(value, count, checkEvents);
  return {
    envelope: head,
    bytes: body.length,
    events: {
      count,
      value: (i) => parseSlice(body, slices, i),
      raw: (i) => body.subarray(slices[2 * i], slices[2 * i + 1]),
      transferable: body.buffer as ArrayBuffer,
      fields,
    },
  };
}

/** The fallback: the body parsed whole, events re-serialised. */
function whole(body: Buffer): ParsedEnvelope {
  const { head, data } = parseWhole(body);
  return {
    envelope: head,
    bytes: body.length,
    events: {
      count: data.length,
      value: (i) => data[i],
      raw: (i) => JSON.stringify(data[i]) ?? 'null',
    },
  };
}

function parseWhole(body: Buffer): { head: EnvelopeHead; data: unknown[] } {
  const text = withoutBom(body.toString('utf8'));
  if (text.length > MAX_PARSED_BYTES) refuseUnparsed(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badRequest('malformed-json', describeJsonSyntaxError(text, (error as Error).message), error);
  }
  const data = isRecord(value) ? value.data : undefined;
  // With `data` not an array, checkHead refuses the envelope (the schema says what is wrong).
  const head = checkHead(value, Array.isArray(data) ? data.length : undefined, () => {});
  return { head, data: data as unknown[] };
}

/**
 * A large body the scanner found no `data` array in (or one that is not JSON), refused
 * without JSON.parse: it is not an envelope either way, and parsing it whole is what
 * MAX_PARSED_BYTES is there to prevent. The syntax error, if any, is found as usual.
 */
function refuseUnparsed(text: string): never {
  const error = findJsonSyntaxError(text);
  if (error) throw badRequest('malformed-json', describeJsonSyntaxError(text, error.problem));
  const root = text.trimStart().charCodeAt(0);
  throw badRequest(
    'invalid-envelope',
    root === 0x7b
      ? 'data: expected a list of events'
      : '(root): expected a Caliper envelope object: {"sensor", "sendTime", "dataVersion", "data": [events]}',
  );
}

function parseSlice(body: Buffer, slices: Uint32Array, i: number): unknown {
  const start = slices[2 * i]!;
  const end = slices[2 * i + 1]!;
  if (end - start > MAX_PARSED_BYTES) {
    if (findJsonSyntaxError(body.toString('utf8', start, end))) throw syntaxError(body);
    return new UnparsedEvent(end - start);
  }
  try {
    return JSON.parse(body.toString('utf8', start, end));
  } catch {
    throw syntaxError(body);
  }
}

/** The 400 for a body that does not parse, worded from a parse of the whole body. */
function syntaxError(body: Buffer): GatewayError {
  try {
    parseWhole(body);
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  // Unreachable unless the scanner and JSON.parse disagree; say so rather than guess.
  return badRequest('malformed-json', 'The body could not be read as a Caliper envelope; check that it is valid JSON');
}

/**
 * Checks the envelope's own fields; `count` stands in for `data` (undefined: `data` is not
 * an array). `beforeRefusing` runs before any refusal, so a syntax error wins over it.
 */
function checkHead(value: unknown, count: number | undefined, beforeRefusing: () => void): EnvelopeHead {
  if (!isRecord(value)) {
    beforeRefusing();
    throw badRequest(
      'invalid-envelope',
      '(root): expected a Caliper envelope object: {"sensor", "sendTime", "dataVersion", "data": [events]}',
    );
  }
  // Too many events is a size limit, like MAX_BODY_BYTES: 413 tells the sender to send fewer,
  // where a 400 would call a well-formed envelope malformed.
  if (count !== undefined && count > MAX_EVENTS_PER_ENVELOPE) {
    beforeRefusing();
    throw new GatewayError(
      413,
      'payload-too-large',
      `data: an envelope holds at most ${MAX_EVENTS_PER_ENVELOPE} events (this one has ${count}); send fewer events per envelope`,
    );
  }
  // `data` as an array of the right length, its elements left out: they are checked one
  // by one, and a malformed event does not refuse the envelope.
  const result = EnvelopeSchema.safeParse(count === undefined ? value : { ...value, data: new Array<undefined>(count) });
  if (!result.success) {
    beforeRefusing();
    throw badRequest('invalid-envelope', describeZodError(result.error));
  }
  const { sensor, sendTime, dataVersion } = result.data;
  if (!isCaliper11(dataVersion)) {
    beforeRefusing();
    throw new GatewayError(
      422,
      'unsupported-data-version',
      `dataVersion ${quote(dataVersion)} is not supported: this endpoint accepts Caliper 1.1 envelopes (${CALIPER_1_1})`,
    );
  }
  return { sensor, sendTime, dataVersion };
}
