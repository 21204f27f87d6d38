import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.ts';
import { toEnvelopeBatch } from '../../src/ingest/envelope-batch.ts';
import { describeJsonSyntaxError } from '../../src/ingest/json-syntax.ts';
import { parseEnvelope } from '../../src/ingest/parse-envelope.ts';

const V1P1 = 'http://purl.imsglobal.org/ctx/caliper/v1p1';
const event = (id: string) => ({ id, type: 'ViewEvent', actor: 'urn:uuid:a', action: 'Viewed', eventTime: '2026-01-01T00:00:00.000Z' });
const envelopeText = (data: string, dataVersion = V1P1) =>
  `{"sensor": "s", "sendTime": "2026-01-01T00:00:00.000Z", "dataVersion": "${dataVersion}", "data": ${data}}`;

async function refusal(text: string): Promise<{ status: number; code: string; message: string }> {
  try {
    // As POST /caliper does: each event is parsed when its row is made.
    await toEnvelopeBatch(await parseEnvelope(Buffer.from(text)), { receivedAt: 0 });
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    return { status: error.status, code: error.code, message: error.message };
  }
  throw new Error(`accepted: ${text}`);
}

/** What JSON.parse of the whole body says, as the gateway words it. */
function wholeParseMessage(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('parses');
}

describe('parseEnvelope', () => {
  it('reads the envelope and each event, keeping every event as the bytes received', async () => {
    // The second event spells its id with an escape and spreads over lines.
    const second = JSON.stringify(event('ID'), null, 2).replace('"ID"', '"e\\u00e9"');
    const data = `[ ${JSON.stringify(event('e1'))} ,\n${second} ]`;
    const { envelope, events, bytes } = await parseEnvelope(Buffer.from(envelopeText(data)));
    expect(envelope).toEqual({ sensor: 's', sendTime: '2026-01-01T00:00:00.000Z', dataVersion: V1P1 });
    expect(bytes).toBe(Buffer.byteLength(envelopeText(data)));
    expect(events.count).toBe(2);
    expect(events.value(1)).toEqual(event('eé'));
    expect(Buffer.from(events.raw(1)).toString()).toBe(second);
    expect(events.transferable).toBeInstanceOf(ArrayBuffer);
  });

  it('words a syntax error inside an event as a parse of the whole body would', async () => {
    const text = envelopeText(`[${JSON.stringify(event('e1'))}, {"id": "e2", "type": tru}]`);
    const answer = await refusal(text);
    expect(answer).toMatchObject({ status: 400, code: 'malformed-json' });
    // Where the error is, counted in the whole body, not in the event.
    expect(answer.message).toBe(describeJsonSyntaxError(text, wholeParseMessage(text)));
    expect(answer.message).toBe(`The body is not valid JSON in data[1].type (line 1, column ${text.indexOf('tru}') + 1}): expected a value, found "t"`);
  });

  it('refuses a missing comma between events as malformed JSON', async () => {
    const answer = await refusal(envelopeText(`[${JSON.stringify(event('e1'))} ${JSON.stringify(event('e2'))}]`));
    expect(answer).toMatchObject({ status: 400, code: 'malformed-json' });
  });

  it('reports a syntax error before what the envelope says (400 before 422)', async () => {
    const answer = await refusal(envelopeText(`[{"id": "e1",}]`, 'http://purl.imsglobal.org/ctx/caliper/v1p2'));
    expect(answer).toMatchObject({ status: 400, code: 'malformed-json' });
    expect(await refusal(envelopeText(`[{"id": "e1"}]`, 'http://purl.imsglobal.org/ctx/caliper/v1p2'))).toMatchObject({ status: 422 });
  });

  it('refuses an envelope whose data is not a list, naming the field', async () => {
    const answer = await refusal(envelopeText('{"0": 1}'));
    expect(answer).toMatchObject({ status: 400, code: 'invalid-envelope' });
    expect(answer.message).toContain('data');
  });

  it('refuses a sensor over 1,024 characters whether or not the scanner finds the events', async () => {
    const message = `sensor: the sensor id has 1025 characters; at most 1024 are allowed (Learn's is its site id, a UUID)`;
    const text = envelopeText(`[${JSON.stringify(event('e1'))}]`).replace('"s"', `"${'s'.repeat(1025)}"`);
    expect(await refusal(text)).toEqual({ status: 400, code: 'invalid-envelope', message });
    // An escaped key hides data from the scanner: the body is parsed whole.
    expect(await refusal(text.replace('"data"', '"d\\u0061ta"'))).toEqual({ status: 400, code: 'invalid-envelope', message });
    // A repeated sensor: the last one counts, as in JSON.parse.
    expect(await refusal(text.replace('{', '{"sensor": "short", '))).toEqual({ status: 400, code: 'invalid-envelope', message });
    const last = envelopeText(`[${JSON.stringify(event('e1'))}]`).replace('{', `{"sensor": "${'s'.repeat(1025)}", `);
    expect((await parseEnvelope(Buffer.from(last))).envelope.sensor).toBe('s');
  });

  it('takes the last data member when the key repeats, as JSON.parse does', async () => {
    const text = envelopeText(`[${JSON.stringify(event('last'))}]`).replace('{', `{"data": [1, 2, 3], `);
    const { events } = await parseEnvelope(Buffer.from(text));
    expect(events.count).toBe(1);
    expect(events.value(0)).toEqual(event('last'));
  });
});
