/**
 * Reads what `caliper-gateway translate` and the fixtures are given: a Caliper 1.1 envelope
 * as Learn sends it, or a single event. Checks it the way intake does, so a dry run refuses
 * exactly what the gateway would refuse.
 */
import { describeZodError } from '../errors.ts';
import { EnvelopeSchema, EventSchema, isCaliper11 } from '../ingest/envelope-schema.ts';
import { findJsonSyntaxError } from '../ingest/json-syntax.ts';
import type { TranslateItem } from './translate.ts';

export type TranslateInput = { ok: true; sensor: string; items: TranslateItem[]; envelope: boolean } | { ok: false; message: string };

/**
 * `file` is the file's content. An object with `data` is an envelope; any other object is a
 * single event, translated with an empty sensor (so its output id differs from the id the
 * gateway would give it inside Learn's envelope).
 */
export function readTranslateInput(file: string): TranslateInput {
  // Intake skips a byte-order mark too (parse-envelope.ts): a saved body must read the same.
  const text = file.charCodeAt(0) === 0xfeff ? file.slice(1) : file;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // Where, as POST /caliper says it: V8's own message rarely has a position.
    const found = findJsonSyntaxError(text);
    if (!found) return { ok: false, message: `not JSON: ${(err as Error).message}` };
    const where = found.path === '(root)' ? '' : ` in ${found.path}`;
    return { ok: false, message: `not JSON: line ${found.line}, column ${found.column}${where}: ${found.problem}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, message: 'expected a Caliper envelope ({ sensor, sendTime, dataVersion, data }) or a single event object' };
  }
  if ('data' in value || 'sensor' in value || 'dataVersion' in value) {
    const envelope = EnvelopeSchema.safeParse(value);
    if (!envelope.success) return { ok: false, message: describeZodError(envelope.error) };
    if (!isCaliper11(envelope.data.dataVersion)) {
      return { ok: false, message: `dataVersion: ${JSON.stringify(envelope.data.dataVersion)} is not Caliper 1.1 (http://purl.imsglobal.org/ctx/caliper/v1p1)` };
    }
    const sensor = envelope.data.sensor;
    return { ok: true, sensor, envelope: true, items: envelope.data.data.map((event, index) => ({ sensor, event, index })) };
  }
  const event = EventSchema.safeParse(value);
  if (!event.success) return { ok: false, message: describeZodError(event.error) };
  return { ok: true, sensor: '', envelope: false, items: [{ sensor: '', event: value, index: 0 }] };
}
