/**
 * `Expect: 100-continue`, as Java HTTP clients send it, against the gateway's own HTTP
 * server on a real socket: the body is invited only once the request passes the checks that
 * need none, and a refused request is answered without being invited.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/server.ts';
import { envelope, sessionEvent } from '../helpers/caliper-events.ts';
import { startLoopbackGateway, type LoopbackGateway } from '../helpers/loopback-gateway.ts';
import { openWire, requestHead } from '../helpers/wire.ts';

const KEY = 'expect-continue-key-3e9a';
const ADMIN_TOKEN = 'expect-continue-admin-token-5c2e81f0d7';
const LIMIT = 64 * 1024;

let running: LoopbackGateway;
let gateway: Gateway;

// One gateway for the file (starting one takes a second or two); each test counts the envelopes it added.
beforeAll(async () => {
  // AUTH_FAILURE_LIMIT=0: each wrong admin token gets its own 401, not a 429.
  running = await startLoopbackGateway({ key: KEY, maxBodyBytes: LIMIT, dirPrefix: 'caliper-gateway-expect', env: { ADMIN_TOKEN, AUTH_FAILURE_LIMIT: '0' } });
  gateway = running.gateway;
});
afterAll(() => running.close());

const envelopes = () => (gateway.store.sqlite.prepare('SELECT count(*) AS n FROM envelopes').get() as { n: number }).n;
let before: number;
beforeEach(() => {
  before = envelopes();
});
const envelopesStored = () => ({ n: envelopes() - before });

function head(headers: Record<string, string | number>) {
  return requestHead(gateway.url, 'POST /caliper HTTP/1.1', { 'Content-Type': 'application/json', Expect: '100-continue', ...headers });
}

describe('POST /caliper with Expect: 100-continue', () => {
  it('says 100 Continue, then stores the body it invited and keeps the connection', async () => {
    const body = JSON.stringify(envelope([sessionEvent()]));
    const wire = await openWire(gateway.url);
    wire.write(head({ Authorization: KEY, 'Content-Length': Buffer.byteLength(body) }));
    const [interim] = await wire.waitForResponses(1);
    expect(interim!.status).toBe(100);

    wire.write(body);
    const [, final] = await wire.waitForResponses(2);
    expect(final!.status).toBe(200);
    expect(final!.headers.connection).toBe('keep-alive');
    expect(envelopesStored()).toEqual({ n: 1 });
    wire.socket.destroy();
  });

  const refusals: Array<[string, Record<string, string | number>, number, string]> = [
    ['a wrong key', { Authorization: 'not-the-key-at-all', 'Content-Length': 50_000 }, 401, 'unauthorized'],
    ['no key', { 'Content-Length': 50_000 }, 401, 'unauthorized'],
    ['a body that is not JSON', { Authorization: KEY, 'Content-Type': 'text/csv', 'Content-Length': 50_000 }, 415, 'unsupported-media-type'],
    ['a compression we cannot decode', { Authorization: KEY, 'Content-Encoding': 'br', 'Content-Length': 50_000 }, 415, 'unsupported-content-encoding'],
    ['a Content-Length over MAX_BODY_BYTES', { Authorization: KEY, 'Content-Length': LIMIT + 1 }, 413, 'payload-too-large'],
  ];
  for (const [what, headers, status, code] of refusals) {
    it(`refuses ${what} (${status}) without inviting the body, and closes the connection`, async () => {
      const wire = await openWire(gateway.url);
      wire.write(head(headers));
      // Nothing of the body is sent: the answer must come without it.
      const [answer] = await wire.waitForResponses(1);
      expect(answer!.status).toBe(status);
      expect(JSON.parse(answer!.body)).toMatchObject({ error: { code } });
      expect(answer!.headers.connection).toBe('close');
      await wire.serverClosed;
      expect(wire.responses().map((response) => response.status)).toEqual([status]);
      expect(envelopesStored()).toEqual({ n: 0 });
    });
  }

  it('still says 100 Continue at once on other routes', async () => {
    const wire = await openWire(gateway.url);
    wire.write(requestHead(gateway.url, 'POST /healthz HTTP/1.1', { Expect: '100-continue', 'Content-Length': 2 }));
    const [interim] = await wire.waitForResponses(1);
    expect(interim!.status).toBe(100);
    wire.write('{}');
    const [, final] = await wire.waitForResponses(2);
    expect(final!.status).toBe(404);
    wire.socket.destroy();
  });
});

describe('/admin/* with Expect: 100-continue', () => {
  const adminHead = (requestLine: string, headers: Record<string, string | number>) =>
    requestHead(gateway.url, requestLine, { 'Content-Type': 'application/json', Expect: '100-continue', ...headers });

  const refusals: Array<[string, string, Record<string, string | number>, number, string]> = [
    ['a wrong token', 'POST /admin/replay HTTP/1.1', { Authorization: 'Bearer not-the-admin-token', 'Content-Length': 50_000 }, 401, 'unauthorized'],
    ['no token', 'POST /admin/replay HTTP/1.1', { 'Content-Length': 50_000 }, 401, 'unauthorized'],
    ['a wrong token, on a path no route takes', 'POST /admin/nothing-here HTTP/1.1', { Authorization: 'Bearer not-the-admin-token', 'Content-Length': 50_000 }, 401, 'unauthorized'],
    ['the right token, on a path no route takes', 'POST /admin/nothing-here HTTP/1.1', { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Length': 50_000 }, 404, 'not-found'],
    ['a body over the replay limit', 'POST /admin/replay HTTP/1.1', { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Length': 2 * 1024 * 1024 }, 413, 'payload-too-large'],
  ];
  for (const [what, requestLine, headers, status, code] of refusals) {
    it(`refuses ${what} (${status}) without a 100 first, and closes the connection`, async () => {
      const wire = await openWire(gateway.url);
      wire.write(adminHead(requestLine, headers));
      // Nothing of the body is sent: the answer must come without it.
      const [answer] = await wire.waitForResponses(1);
      expect(answer!.status).toBe(status);
      expect(JSON.parse(answer!.body)).toMatchObject({ error: { code } });
      expect(answer!.headers.connection).toBe('close');
      await wire.serverClosed;
      expect(wire.responses().map((response) => response.status)).toEqual([status]);
    });
  }

  it('says 100 Continue to the right token once the route reads the body, and keeps the connection', async () => {
    const body = '{"ids":[987654]}';
    const wire = await openWire(gateway.url);
    wire.write(adminHead('POST /admin/replay HTTP/1.1', { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Length': Buffer.byteLength(body) }));
    const [interim] = await wire.waitForResponses(1);
    expect(interim!.status).toBe(100);
    wire.write(body);
    const [, final] = await wire.waitForResponses(2);
    expect(final!.status).toBe(200);
    expect(final!.headers.connection).toBe('keep-alive');
    wire.socket.destroy();
  });
});
