import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventsClient, type EventsClient } from '../../src/deliver/events-client.ts';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let server: Server | undefined;
let client: EventsClient | undefined;

/** A stand-in for TimeBack's events endpoint on 127.0.0.1, answering with `handler`. */
async function timeback(handler: Handler): Promise<string> {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/base`;
}

afterEach(async () => {
  await client?.close();
  client = undefined;
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe('events client', () => {
  it('POSTs the body as it is, with the bearer token, and returns the answer', async () => {
    const seen: Array<{ url?: string; method?: string; auth?: string; type?: string; body: string }> = [];
    const base = await timeback((req, body, res) => {
      seen.push({ url: req.url, method: req.method, auth: req.headers.authorization, type: req.headers['content-type'], body });
      res.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' }).end('{"error":"slow down"}');
    });
    client = createEventsClient({ baseUrl: base, connections: 2, timeoutMs: 2_000 });
    const body = '{"id":"urn:uuid:5c1e…","type":"ViewEvent"}';
    expect(await client.post(body, 'token-1')).toEqual({ kind: 'response', status: 429, retryAfter: '7', body: '{"error":"slow down"}' });
    expect(seen).toEqual([{ url: '/base/events/1.0/', method: 'POST', auth: 'Bearer token-1', type: 'application/json', body }]);
    // A new token is used as soon as it is given.
    await client.post(body, 'token-2');
    expect(seen[1]?.auth).toBe('Bearer token-2');
  });

  it('returns an answer that echoes the request without the bearer token in it', async () => {
    const base = await timeback((req, body, res) => {
      res.writeHead(422, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'refused', headers: req.headers, body }));
    });
    client = createEventsClient({ baseUrl: base, connections: 1, timeoutMs: 2_000 });
    const token = 'tok-4c7e9a1b-echoed-by-a-proxy';
    const result = await client.post('{"id":"urn:uuid:5c1e…"}', token);
    expect(result).toMatchObject({ kind: 'response', status: 422 });
    const answer = result.kind === 'response' ? result.body : '';
    expect(answer).not.toContain(token);
    expect(JSON.parse(answer)).toMatchObject({ error: 'refused', headers: { authorization: 'Bearer [redacted]' }, body: '{"id":"urn:uuid:5c1e…"}' });
  });

  it('keeps the first 64 KB of a long answer, says how much was cut, and reuses the connection', async () => {
    const sockets = new Set<unknown>();
    const base = await timeback((req, _body, res) => {
      sockets.add(req.socket);
      res.writeHead(400).end('x'.repeat(100_000));
    });
    client = createEventsClient({ baseUrl: base, connections: 1, timeoutMs: 2_000 });
    const first = await client.post('{}', 't');
    expect(first.kind).toBe('response');
    expect(first.kind === 'response' && first.body).toBe(`${'x'.repeat(64 * 1024)}… (${100_000 - 64 * 1024} more bytes)`);
    await client.post('{}', 't');
    expect(sockets.size).toBe(1);
  });

  it('answers with the final status after an informational one', async () => {
    const base = await timeback((_req, _body, res) => {
      res.writeEarlyHints({ link: '</x>; rel=preload' });
      res.writeHead(201).end('ok');
    });
    client = createEventsClient({ baseUrl: base, connections: 1, timeoutMs: 2_000 });
    expect(await client.post('{}', 't')).toMatchObject({ kind: 'response', status: 201, body: 'ok' });
  });

  it('gives up on an answer that does not come within the timeout', async () => {
    const base = await timeback(() => {});
    client = createEventsClient({ baseUrl: base, connections: 1, timeoutMs: 200 });
    const result = await client.post('{}', 't');
    expect(result).toEqual({ kind: 'failure', failure: 'timeout', message: 'no answer within 200 ms' });
  });

  it('reports a refused connection as a network failure', async () => {
    const base = await timeback(() => {});
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    client = createEventsClient({ baseUrl: base, connections: 1, timeoutMs: 2_000 });
    expect(await client.post('{}', 't')).toMatchObject({ kind: 'failure', failure: 'network' });
  });

  it('reports POSTs in flight as aborted when told to abort them all, and sends nothing after', async () => {
    let arrived = 0;
    const base = await timeback(() => (arrived += 1));
    client = createEventsClient({ baseUrl: base, connections: 2, timeoutMs: 5_000 });
    const inFlight = [client.post('{}', 't'), client.post('{}', 't')];
    while (arrived < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    client.abortAll();
    expect(await Promise.all(inFlight)).toEqual([
      expect.objectContaining({ kind: 'failure', failure: 'aborted' }),
      expect.objectContaining({ kind: 'failure', failure: 'aborted' }),
    ]);
    expect(await client.post('{}', 't')).toMatchObject({ kind: 'failure', failure: 'aborted' });
    expect(arrived).toBe(2);
  });
});
