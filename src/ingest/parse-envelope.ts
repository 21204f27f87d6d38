/**
 * From request bytes to a checked envelope, with the Caliper endpoint's answers for what
 * is wrong: 400 for bytes that are not JSON or not an envelope (the message says where),
 * 422 for an envelope of another Caliper version.
 */
import { isUtf8 } from 'node:buffer';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { GatewayError, badRequest, describeZodError, quote } from '../errors.ts';
import { CALIPER_1_1, EnvelopeSchema, isCaliper11, type Envelope } from './envelope-schema.ts';
import { describeJsonSyntaxError } from './json-syntax.ts';

export interface ParsedEnvelope {
  envelope: Envelope;
}

/**
 * Bodies above this size give the event loop a turn between the decoding, parsing and
 * checking passes, so one 25 MB envelope does not hold every other request for the sum
 * of them.
 */
const YIELD_ABOVE_BYTES = 1024 * 1024;

export async function parseEnvelope(body: Buffer): Promise<ParsedEnvelope> {
  if (body.length === 0) throw badRequest('malformed-json', 'The body is empty; send a Caliper envelope as JSON');
  if (!isUtf8(body)) throw badRequest('malformed-json', 'The body is not valid UTF-8; Caliper envelopes are UTF-8 JSON');
  const big = body.length > YIELD_ABOVE_BYTES;

  let text = body.toString('utf8');
  // A byte-order mark is not JSON, but some clients write one; it carries no data.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (big) await nextTurn();

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badRequest('malformed-json', describeJsonSyntaxError(text, (error as Error).message), error);
  }
  if (big) await nextTurn();

  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest(
      'invalid-envelope',
      '(root): expected a Caliper envelope object: {"sensor", "sendTime", "dataVersion", "data": [events]}',
    );
  }
  const result = EnvelopeSchema.safeParse(value);
  if (!result.success) throw badRequest('invalid-envelope', describeZodError(result.error));
  const envelope = result.data;
  if (!isCaliper11(envelope.dataVersion)) {
    throw new GatewayError(
      422,
      'unsupported-data-version',
      `dataVersion ${quote(envelope.dataVersion)} is not supported: this endpoint accepts Caliper 1.1 envelopes (${CALIPER_1_1})`,
    );
  }
  return { envelope };
}
