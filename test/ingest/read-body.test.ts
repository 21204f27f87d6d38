/**
 * readBody on its own, from both sources it reads: a web Request's stream (requests built
 * in-process) and Node's IncomingMessage (a real HTTP server on 127.0.0.1, fed raw bytes).
 * POST /caliper's answers to the same inputs are in caliper-routes, hostile-input and server tests.
 */
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.ts';
import { declaredLength, payloadTooLarge, readBody } from '../../src/ingest/read-body.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { rejectionOf } from '../helpers/thrown.ts';

const LIMIT = 1024;

/** A POST whose body is a stream of `chunks`, counting how many were pulled and whether it was cancelled. */
function streamed(chunks: Array<string | Uint8Array>, headers: Record<string, string> = {}) {
  const state = { pulled: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks[state.pulled];
      state.pulled += 1;
      if (next === undefined) controller.close();
      else controller.enqueue(typeof next === 'string' ? new TextEncoder().encode(next) : next);
    },
    cancel() {
      state.cancelled = true;
    },
    // Nothing is pulled ahead of the reader: `pulled` counts what readBody asked for.
  }, { highWaterMark: 0 });
  const request = new Request('http://127.0.0.1/caliper', { method: 'POST', headers, body, duplex: 'half' } as RequestInit);
  return { request, state };
}

const refusal = (reading: Promise<unknown>) => rejectionOf(GatewayError, reading);

describe('declaredLength', () => {
  it('reads a plain count of bytes', () => {
    expect(declaredLength('0')).toBe(0);
    expect(declaredLength('1048576')).toBe(1048576);
  });

  it.each([null, undefined, '', ' 12', '12 ', '-1', '1e3', '0x10', '1.5', 'lots'])('takes %j as no length at all', (header) => {
    expect(declaredLength(header)).toBeUndefined();
  });
});

describe('payloadTooLarge', () => {
  it('is a 413 naming the limit and MAX_BODY_BYTES, and the size when it is known', () => {
    const known = payloadTooLarge(2048, 5000);
    expect(known).toMatchObject({ status: 413, code: 'payload-too-large' });
    expect(known.message).toContain('The body (5000 bytes) is over');
    expect(known.message).toContain('limit of 2048 bytes (MAX_BODY_BYTES)');
    expect(payloadTooLarge(2048).message).toMatch(/^The body is over/);
  });

  it('asks to close the connection only when part of the upload is still unread', () => {
    expect(payloadTooLarge(2048).headers).toBeUndefined();
    expect(payloadTooLarge(2048, undefined, true).headers).toEqual({ connection: 'close' });
  });
});

describe('readBody from a web Request', () => {
  it('gives an empty buffer for a request without a body', async () => {
    const body = await readBody(new Request('http://127.0.0.1/caliper', { method: 'POST' }), LIMIT);
    expect(body.length).toBe(0);
  });

  it('reads a body of exactly the limit, with or without a Content-Length', async () => {
    const text = 'a'.repeat(LIMIT - 4) + 'end!';
    const declared = streamed([text.slice(0, 300), text.slice(300)], { 'content-length': String(LIMIT) });
    expect((await readBody(declared.request, LIMIT)).toString()).toBe(text);
    const chunked = streamed([text.slice(0, 300), text.slice(300)]);
    expect((await readBody(chunked.request, LIMIT)).toString()).toBe(text);
  });

  it('refuses a Content-Length over the limit before reading a byte', async () => {
    const { request, state } = streamed(['x'.repeat(LIMIT + 1)], { 'content-length': String(LIMIT + 1) });
    const error = await refusal(readBody(request, LIMIT));
    expect(error).toMatchObject({ status: 413, code: 'payload-too-large' });
    expect(error.message).toContain(`(${LIMIT + 1} bytes)`);
    expect(error.headers).toEqual({ connection: 'close' });
    expect(state.pulled).toBe(0);
  });

  it('refuses a body without a Content-Length once it grows over the limit, and stops reading it', async () => {
    const { request, state } = streamed(Array.from({ length: 100 }, () => 'x'.repeat(300)));
    const error = await refusal(readBody(request, LIMIT));
    expect(error).toMatchObject({ status: 413, code: 'payload-too-large' });
    // 4 × 300 bytes is the first read over 1024.
    expect(state.pulled).toBe(4);
    expect(state.cancelled).toBe(true);
  });

  it('refuses a body shorter than its Content-Length', async () => {
    const { request } = streamed(['{"short":1}'], { 'content-length': '100' });
    const error = await refusal(readBody(request, LIMIT));
    expect(error).toMatchObject({ status: 400, code: 'invalid-request' });
    expect(error.message).toContain('(100)');
  });

  it('refuses a body longer than its Content-Length without reading past it', async () => {
    const { request, state } = streamed(['12345', '67890', 'more', 'and more'], { 'content-length': '8' });
    const error = await refusal(readBody(request, LIMIT));
    expect(error).toMatchObject({ status: 400, code: 'invalid-request' });
    expect(error.message).toContain('(8)');
    expect(state.pulled).toBe(2);
    expect(state.cancelled).toBe(true);
  });

  it('answers a stream that fails midway as an incomplete body (400), keeping the cause', async () => {
    const gone = new Error('socket hang up');
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) return controller.error(gone);
        sent = true;
        controller.enqueue(new TextEncoder().encode('{"sensor":'));
      },
    });
    const request = new Request('http://127.0.0.1/caliper', { method: 'POST', body, duplex: 'half' } as RequestInit);
    const error = await refusal(readBody(request, LIMIT));
    expect(error).toMatchObject({ status: 400, code: 'incomplete-body' });
    expect(error.cause).toBe(gone);
  });

  it('returns memory of its own, not a view of what the stream handed over', async () => {
    for (const headers of [{}, { 'content-length': '10' }] as Array<Record<string, string>>) {
      const chunk = new TextEncoder().encode('0123456789');
      const { request } = streamed([chunk], headers);
      const body = await readBody(request, LIMIT);
      chunk.fill(0);
      expect(body.toString()).toBe('0123456789');
    }
  });
});

describe('readBody from Node’s request stream', () => {
  let server: Server;
  let url: string;
  /** What readBody gave the handler for each request, in order. */
  const outcomes: Array<{ body?: Buffer; error?: GatewayError }> = [];

  beforeAll(async () => {
    server = createServer((incoming: IncomingMessage, res) => {
      const headers: Record<string, string> = {};
      const length = incoming.headers['content-length'];
      if (length !== undefined) headers['content-length'] = length;
      // As @hono/node-server hands it over: the headers on a web Request, the body unread on `incoming`.
      const request = new Request(`http://127.0.0.1${incoming.url}`, { method: 'POST', headers });
      readBody(request, LIMIT, { incoming }).then(
        (body) => {
          outcomes.push({ body });
          res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
        },
        (error: GatewayError) => {
          outcomes.push({ error });
          if (!res.writable) return;
          res.writeHead(error.status, { 'content-type': 'application/json', ...error.headers }).end(JSON.stringify(error.toJSON()));
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const lastOutcome = () => outcomes.at(-1)!;

  it('reads a body sent with a Content-Length', async () => {
    const sent = JSON.stringify({ data: ['é', 'x'.repeat(500)] });
    const response = await rawRequest(url, { body: sent });
    expect(response.status).toBe(200);
    expect(response.body).toBe(sent);
  });

  it('reads a chunked body sent in many small chunks, up to exactly the limit', async () => {
    const sent = 'c'.repeat(LIMIT);
    const response = await rawRequest(url, { body: sent, framing: 'chunked', chunkSize: 100 });
    expect(response.status).toBe(200);
    expect(response.body).toBe(sent);
  });

  it('refuses a chunked body over the limit with a 413 that closes even a keep-alive connection', async () => {
    // The rest of the upload is still on the wire: the server must hang up, not read it all.
    const agent = new Agent({ keepAlive: true });
    try {
      const answer = await new Promise<{ status: number; connection?: string; body: string }>((resolve, reject) => {
        const req = httpRequest(`${url}/caliper`, { method: 'POST', agent, headers: { 'transfer-encoding': 'chunked' } });
        req.on('response', (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (data: string) => (body += data));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
        });
        req.on('error', reject);
        for (let i = 0; i < 8; i++) req.write('c'.repeat(LIMIT));
      });
      expect(answer.status).toBe(413);
      expect(answer.connection).toBe('close');
      expect(JSON.parse(answer.body)).toEqual({ error: { code: 'payload-too-large', message: expect.stringContaining('MAX_BODY_BYTES') } });
    } finally {
      agent.destroy();
    }
  });

  it('refuses a Content-Length over the limit without waiting for the body', async () => {
    // The body is never sent: the answer must not depend on it.
    const response = await rawRequest(url, { headers: [['Content-Length', String(LIMIT * 1000)]], framing: 'none' });
    expect(response.status).toBe(413);
    expect(response.headers.connection).toBe('close');
    expect(JSON.parse(response.body).error.message).toContain(`(${LIMIT * 1000} bytes)`);
  });

  it('answers a sender that hangs up mid-body as an incomplete body', async () => {
    const before = outcomes.length;
    // A Content-Length that promises more than is sent, then the sender goes.
    await rawRequest(url, { headers: [['Content-Length', '500']], body: '{"sensor":"cut', framing: 'none', endEarly: true }).catch(() => undefined);
    await expect.poll(() => outcomes.length).toBeGreaterThan(before);
    expect(lastOutcome().error).toMatchObject({ status: 400, code: 'incomplete-body' });
  });

  it('answers a chunked upload cut off before its last chunk as an incomplete body', async () => {
    const before = outcomes.length;
    await rawRequest(url, { body: 'z'.repeat(300), framing: 'chunked', chunkSize: 100, endEarly: true }).catch(() => undefined);
    await expect.poll(() => outcomes.length).toBeGreaterThan(before);
    expect(lastOutcome().error).toMatchObject({ status: 400, code: 'incomplete-body' });
  });

  it('reads through the web stream when the request stream was already read', async () => {
    const incoming = { readableDidRead: true } as IncomingMessage;
    const { request } = streamed(['from the web stream']);
    expect((await readBody(request, LIMIT, { incoming })).toString()).toBe('from the web stream');
  });
});
