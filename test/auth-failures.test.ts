/**
 * The wrong-key limit, against the real server on 127.0.0.1 (startGateway), with the clock
 * injected so a window can pass without waiting; and its memory bounds on the limiter itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthFailures } from '../src/auth-failures.ts';
import { createLogger } from '../src/log.ts';
import { createMetrics } from '../src/metrics.ts';
import { envelope, sessionEvent } from './helpers/caliper-events.ts';
import { startLoopbackGateway, type LoopbackGateway } from './helpers/loopback-gateway.ts';

const KEY = 'auth-failures-key-7c41d2';
const ADMIN_TOKEN = 'auth-failures-admin-token-90ab';
const LIMIT = 3;
const WINDOW_SECONDS = 60;
const START = Date.UTC(2026, 5, 1, 8, 0, 0);

let clock = START;
let lines: Array<Record<string, unknown>> = [];
let running: LoopbackGateway | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function start(env: Record<string, string> = {}) {
  clock = START;
  lines = [];
  const log = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  running = await startLoopbackGateway({
    key: KEY,
    maxBodyBytes: 1024 * 1024,
    dirPrefix: 'auth-failures-',
    log,
    now: () => clock,
    env: { ADMIN_TOKEN, AUTH_FAILURE_LIMIT: String(LIMIT), AUTH_FAILURE_WINDOW: String(WINDOW_SECONDS), ...env },
  });
  return running.gateway;
}

const url = () => running!.gateway.url;
let sent = 0;

function post(authorization: string, headers: Record<string, string> = {}) {
  sent += 1;
  return fetch(`${url()}/caliper`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(envelope([sessionEvent({ id: `auth-failures-event-${sent}` })])),
  });
}

const admin = (authorization: string, headers: Record<string, string> = {}) =>
  fetch(`${url()}/admin/events`, { headers: { authorization, ...headers } });

const stored = () => (running!.gateway.store.sqlite.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
/** The refusal counter, read from /metrics as a scraper would. */
async function scrapedRefusals(realm: string): Promise<number> {
  const text = await (await fetch(`${url()}/metrics`)).text();
  const line = text.split('\n').find((row) => row.startsWith(`caliper_gateway_auth_refusals_total{realm="${realm}"}`));
  return Number(line?.split(' ')[1]);
}

async function wrongKeys(count: number, send: (authorization: string) => Promise<Response> = post) {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const response = await send(`Bearer wrong-key-${i}-guess`);
    statuses.push(response.status);
    await response.body?.cancel();
  }
  return statuses;
}

describe('wrong ingest keys from one address', () => {
  it(`get 401 ${LIMIT} times, then 429 with Retry-After, even for the right key, and nothing is stored`, async () => {
    await start();
    expect(await wrongKeys(LIMIT)).toEqual(Array(LIMIT).fill(401));
    expect(await scrapedRefusals('ingest')).toBe(0);

    clock += 20_000;
    const refused = await post(`Bearer ${KEY}`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe(String(WINDOW_SECONDS - 20));
    expect(refused.headers.get('www-authenticate')).toBeNull();
    expect(await refused.json()).toEqual({
      error: { code: 'too-many-wrong-keys', message: `Too many wrong keys from this address; try again in ${WINDOW_SECONDS - 20} s` },
    });
    expect((await post('Bearer yet-another-guess')).status).toBe(429);
    expect(stored()).toBe(0);
    expect(await scrapedRefusals('ingest')).toBe(2);
  });

  it('are logged once per address and window, at warn, naming the address and not the keys', async () => {
    await start();
    await wrongKeys(LIMIT + 3);
    const warned = lines.filter((line) => line.realm === 'ingest' && line.level === 'warn');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ address: '127.0.0.1', failures: LIMIT, windowSeconds: WINDOW_SECONDS, knownGood: false });
    // The refusals themselves are request lines at debug: a guesser sends them as fast as it can.
    expect(lines.filter((line) => line.msg === 'request' && line.status === 429)).toEqual([]);
    expect(lines.filter((line) => line.msg === 'request' && line.status === 401)).toHaveLength(LIMIT);
    expect(JSON.stringify(lines)).not.toContain('wrong-key-');
    expect(JSON.stringify(lines)).not.toContain(KEY);

    clock += WINDOW_SECONDS * 1000;
    await wrongKeys(LIMIT);
    expect(lines.filter((line) => line.realm === 'ingest' && line.level === 'warn')).toHaveLength(2);
  });

  it('are forgiven once the window that began with the first of them has passed', async () => {
    await start();
    await wrongKeys(LIMIT);
    clock += WINDOW_SECONDS * 1000 - 1;
    const last = await post(`Bearer ${KEY}`);
    expect(last.status).toBe(429);
    expect(last.headers.get('retry-after')).toBe('1');

    clock += 1;
    expect((await post(`Bearer ${KEY}`)).status).toBe(200);
    expect(await wrongKeys(LIMIT + 1)).toEqual([...Array(LIMIT).fill(401), 429]);
  });

  it('do not lock out an address that sent a right key within the last day: its keys are still checked', async () => {
    await start();
    expect((await post(KEY)).status).toBe(200);
    clock += 23 * 3_600_000;
    expect(await wrongKeys(LIMIT + 2)).toEqual([...Array(LIMIT).fill(401), 429, 429]);
    expect((await post(`Bearer ${KEY}`)).status).toBe(200);
    expect(stored()).toBe(2);
    expect(lines.find((line) => line.realm === 'ingest' && line.level === 'warn')).toMatchObject({ knownGood: true });

    // A day after its last right key, the address is a stranger again.
    clock += 24 * 3_600_000;
    expect(await wrongKeys(LIMIT)).toEqual(Array(LIMIT).fill(401));
    expect((await post(`Bearer ${KEY}`)).status).toBe(429);
  });

  it('count apart from wrong admin tokens', async () => {
    await start();
    expect(await wrongKeys(LIMIT + 1, admin)).toEqual([...Array(LIMIT).fill(401), 429]);
    expect((await admin(`Bearer ${ADMIN_TOKEN}`)).status).toBe(429);
    expect(await scrapedRefusals('admin')).toBe(2);
    expect((await post(`Bearer ${KEY}`)).status).toBe(200);
    expect(await scrapedRefusals('ingest')).toBe(0);

    const refused = await admin(`Bearer ${ADMIN_TOKEN}`);
    expect(refused.headers.get('retry-after')).toBe(String(WINDOW_SECONDS));
    expect(refused.headers.get('cache-control')).toBe('no-store');
    clock += WINDOW_SECONDS * 1000;
    expect((await admin(`Bearer ${ADMIN_TOKEN}`)).status).toBe(200);
  });

  it('are not limited with AUTH_FAILURE_LIMIT=0', async () => {
    await start({ AUTH_FAILURE_LIMIT: '0' });
    expect(await wrongKeys(LIMIT * 3)).toEqual(Array(LIMIT * 3).fill(401));
    expect((await post(`Bearer ${KEY}`)).status).toBe(200);
  });
});

describe('X-Forwarded-For', () => {
  it('is ignored without TRUSTED_PROXIES: every request counts against the peer', async () => {
    await start();
    for (let i = 0; i < LIMIT; i++) {
      expect((await post(`Bearer wrong-${i}`, { 'x-forwarded-for': `198.51.100.${i + 1}` })).status).toBe(401);
    }
    expect((await post(`Bearer ${KEY}`, { 'x-forwarded-for': '198.51.100.200' })).status).toBe(429);
  });

  it('names the client when the peer is a trusted proxy; what the client wrote before it is not believed', async () => {
    await start({ TRUSTED_PROXIES: '127.0.0.0/8, 10.0.0.5' });
    for (let i = 0; i < LIMIT; i++) {
      // The client (203.0.113.7) makes up a different first hop each time; the proxies append the truth.
      const response = await post(`Bearer wrong-${i}`, { 'x-forwarded-for': `192.0.2.${i + 1}, 203.0.113.7, 10.0.0.5` });
      expect(response.status).toBe(401);
    }
    expect((await post(`Bearer ${KEY}`, { 'x-forwarded-for': '192.0.2.99, 203.0.113.7' })).status).toBe(429);
    expect(lines.find((line) => line.realm === 'ingest' && line.level === 'warn')).toMatchObject({ address: '203.0.113.7' });
    // Written with a port, as some proxies do, it is the same client.
    expect((await post(`Bearer ${KEY}`, { 'x-forwarded-for': '203.0.113.7:50123' })).status).toBe(429);
    // Another client behind the same proxy is not held back, whichever way its address is written.
    expect((await post(`Bearer ${KEY}`, { 'x-forwarded-for': '203.0.113.8' })).status).toBe(200);
    expect(await wrongKeys(LIMIT + 1, (authorization) => post(authorization, { 'x-forwarded-for': '[2001:db8:7:7::1]:443' }))).toEqual([
      ...Array(LIMIT).fill(401),
      429,
    ]);
    expect((await post(`Bearer ${KEY}`, { 'x-forwarded-for': '2001:db8:7:7::99' })).status).toBe(429);
    expect((await post(`Bearer ${KEY}`, { 'x-forwarded-for': '2001:db8:7:8::1' })).status).toBe(200);
  });
});

describe('Forwarded (RFC 7239)', () => {
  it('is ignored without TRUSTED_PROXIES', async () => {
    await start();
    for (let i = 0; i < LIMIT; i++) {
      expect((await post(`Bearer wrong-${i}`, { forwarded: `for=198.51.100.${i + 1}` })).status).toBe(401);
    }
    expect((await post(`Bearer ${KEY}`, { forwarded: 'for=198.51.100.200' })).status).toBe(429);
  });

  it('names the client when the peer is a trusted proxy, read as X-Forwarded-For is', async () => {
    await start({ TRUSTED_PROXIES: '127.0.0.0/8, 10.0.0.5' });
    for (let i = 0; i < LIMIT; i++) {
      const forwarded = `for=192.0.2.${i + 1};proto=https, for="203.0.113.7:${50_000 + i}";by=10.0.0.5, for=10.0.0.5`;
      expect((await post(`Bearer wrong-${i}`, { forwarded })).status).toBe(401);
    }
    expect((await post(`Bearer ${KEY}`, { forwarded: 'for=203.0.113.7' })).status).toBe(429);
    expect(lines.find((line) => line.realm === 'ingest' && line.level === 'warn')).toMatchObject({ address: '203.0.113.7' });
    // The same client, named in both headers by a proxy that writes both.
    expect((await post(`Bearer ${KEY}`, { forwarded: 'for=203.0.113.7', 'x-forwarded-for': '203.0.113.7' })).status).toBe(429);
    expect((await post(`Bearer ${KEY}`, { forwarded: 'for="[2001:db8:7:7::1]:443"' })).status).toBe(200);
    expect((await post(`Bearer ${KEY}`, { forwarded: 'for=203.0.113.8' })).status).toBe(200);
  });

  it('made up by a client behind a proxy that writes X-Forwarded-For buys it no fresh guesses, and locks nobody else out', async () => {
    await start({ TRUSTED_PROXIES: '127.0.0.0/8' });
    // The proxy appends the truth to X-Forwarded-For and passes the client's Forwarded on.
    const guesses = await wrongKeys(LIMIT + 1, (authorization) =>
      post(authorization, { 'x-forwarded-for': '203.0.113.9', forwarded: `for=198.51.100.${++sent % 250}` }),
    );
    expect(guesses).toEqual([...Array(LIMIT).fill(401), 429]);
    expect(lines.find((line) => line.realm === 'ingest' && line.level === 'warn')).toMatchObject({ address: '127.0.0.1' });
    // Learn, through the same proxy, sends no Forwarded of its own.
    expect((await post(`Bearer ${KEY}`, { 'x-forwarded-for': '203.0.113.10' })).status).toBe(200);
  });
});

describe('the limiter keeps its memory bounded', () => {
  const limiter = (maxAddresses: number, maxKnownGood: number, now: () => number) =>
    createAuthFailures({
      realm: 'ingest',
      limit: 2,
      windowMs: 60_000,
      now,
      log: createLogger('silent'),
      refusals: createMetrics().authRefusals,
      maxAddresses,
      maxKnownGood,
    });

  it('counts at most maxAddresses addresses, forgetting the oldest window first', () => {
    let at = START;
    const failures = limiter(100, 10, () => at);
    for (let i = 0; i < 5_000; i++) {
      at += 1;
      failures.check(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, () => false);
      expect(failures.sizes.counted).toBeLessThanOrEqual(100);
    }
    // The newest are still counted: a second wrong key puts each at its limit.
    failures.check('10.0.19.135', () => false);
    expect(failures.check('10.0.19.135', () => true)).toMatchObject({ outcome: 'limited' });
  });

  it('drops ended windows before live ones', () => {
    let at = START;
    const failures = limiter(3, 10, () => at);
    failures.check('192.0.2.1', () => false);
    failures.check('192.0.2.1', () => false);
    at += 30_000;
    failures.check('192.0.2.2', () => false);
    failures.check('192.0.2.3', () => false);
    at += 30_000;
    // 192.0.2.1's window has ended; 192.0.2.2's is the oldest live one and stays.
    failures.check('192.0.2.4', () => false);
    failures.check('192.0.2.2', () => false);
    expect(failures.sizes.counted).toBe(3);
    expect(failures.check('192.0.2.2', () => true)).toMatchObject({ outcome: 'limited' });
  });

  it('cannot be made to forget a right key by wrong keys from other addresses', () => {
    let at = START;
    const failures = limiter(10, 10, () => at);
    expect(failures.check('192.0.2.50', () => true)).toEqual({ outcome: 'accepted' });
    for (let i = 0; i < 1_000; i++) failures.check(`198.51.100.${i % 250}`, () => false);
    expect(failures.sizes.knownGood).toBe(1);
    failures.check('192.0.2.50', () => false);
    failures.check('192.0.2.50', () => false);
    at += 1;
    expect(failures.check('192.0.2.50', () => true)).toEqual({ outcome: 'accepted' });
  });

  it('does not compare the key of an address it refuses', () => {
    const failures = limiter(10, 10, () => START);
    failures.check('192.0.2.9', () => false);
    failures.check('192.0.2.9', () => false);
    expect(failures.check('192.0.2.9', () => expect.unreachable('the key was compared'))).toMatchObject({ outcome: 'limited', retryAfterSeconds: 60 });
  });
});
