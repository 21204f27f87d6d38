/**
 * Reads what `caliper-gateway translate` and the fixtures are given: a Caliper 1.1 envelope
 * as Learn sends it, or a single event. Checks it the way intake does, so a dry run refuses
 * exactly what the gateway would refuse.
 */
import { isUtf8 } from 'node:buffer';
import { describeZodError, quoteValue } from '../errors.ts';
import { EnvelopeSchema, EventSchema, eventSummary, isCaliper11 } from '../ingest/envelope-schema.ts';
import { jsonSyntaxProblem, withoutBom } from '../ingest/json-syntax.ts';
import { isRecord } from '../is-record.ts';
import type { TranslateItem } from './translate.ts';

export type TranslateInput = { ok: true; sensor: string; items: TranslateItem[]; envelope: boolean } | { ok: false; message: string };

/**
 * `content` is the file's bytes (or its text, already decoded). An object with `data` is an
 * envelope; any other object is a single event, translated with an empty sensor (so its output
 * id differs from the id the gateway would give it inside Learn's envelope).
 */
export function readTranslateInput(content: Uint8Array | string): TranslateInput {
  // The same byte-level answers as POST /caliper (parse-envelope.ts), in a file's words.
  if (content.length === 0) return { ok: false, message: 'the file is empty; a Caliper envelope as JSON was expected' };
  if (typeof content !== 'string' && !isUtf8(content)) return { ok: false, message: 'not valid UTF-8; Caliper envelopes are UTF-8 JSON' };
  const text = withoutBom(typeof content === 'string' ? content : Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('utf8'));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: jsonSyntaxProblem(text, (err as Error).message) };
  }
  if (!isRecord(value)) {
    return { ok: false, message: 'expected a Caliper envelope ({ sensor, sendTime, dataVersion, data }) or a single event object' };
  }
  if ('data' in value || 'sensor' in value || 'dataVersion' in value) {
    const envelope = EnvelopeSchema.safeParse(value);
    if (!envelope.success) return { ok: false, message: describeZodError(envelope.error) };
    if (!isCaliper11(envelope.data.dataVersion)) {
      return { ok: false, message: `dataVersion: ${quoteValue(envelope.data.dataVersion)} is not Caliper 1.1 (http://purl.imsglobal.org/ctx/caliper/v1p1)` };
    }
    const sensor = envelope.data.sensor;
    return { ok: true, sensor, envelope: true, items: envelope.data.data.map((event, index) => ({ sensor, event, index })) };
  }
  const event = EventSchema.safeParse(value);
  if (!event.success) return { ok: false, message: describeZodError(event.error) };
  return { ok: true, sensor: '', envelope: false, items: [{ sensor: '', event: value, index: 0 }] };
}

/**
 * For each item, the index of the earlier item it repeats, or undefined. Intake stores a resend
 * (same sensor, id and eventTime; for an event without an eventTime, same sensor and id) once,
 * keyed by the same summary as here, so the gateway translates and sends it once: a dry run
 * that printed it twice would show a POST the gateway never makes.
 */
export function resendsOf(items: readonly TranslateItem[]): Array<number | undefined> {
  const first = new Map<string, number>();
  return items.map((item, at) => {
    const { sourceId, eventTime } = eventSummary(item.event);
    // Intake always stores an event without an id: it has no key to be a resend by.
    if (sourceId === null) return undefined;
    const key = JSON.stringify([item.sensor, sourceId, eventTime]);
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, at);
    return earlier;
  });
}
