/**
 * The app's own parts, around the routes: its one error handler, its 404, the request log
 * line and metric, and the shutdown gate. Admin routers that throw on purpose are mounted
 * the way the stages mount theirs; the app runs on a real SQLite file in a temp dir.
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp, type AppEnv } from '../src/app.ts';
import { parseConfig } from '../src/config.ts';
import { GatewayError } from '../src/errors.ts';
import { ingestKeysFrom } from '../src/ingest/api-keys.ts';
import { createMetrics, type Metrics } from '../src/metrics.ts';
import { captureLog, type CapturedLog } from './helpers/identity-harness.ts';
import { metricValue } from './helpers/metric-value.ts';
import { tempStore } from './helpers/temp-store.ts';
import { firstUnshown, UNSHOWN_SAMPLE } from './helpers/unshown.ts';

const ADMIN_TOKEN = 'admin-token-for-app-tests-77';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const SECRET = 'password=hunter2 at /srv/gateway/internal.ts:42';

let db: ReturnType<typeof tempStore>;
let captured: CapturedLog;
let metrics: Metrics;
let shuttingDown: boolean;

/** A router whose routes fail in each of the ways a route can. */
function failing(): Hono<AppEnv> {
  const router = new Hono<AppEnv>();
  router.get('/gateway-error', () => {
    throw new GatewayError(409, 'already-there', 'Event 7 is already delivered', { headers: { 'x-hint': 'look it up' } });
  });
  router.get('/store-down', () => {
    throw new GatewayError(503, 'store-unavailable', 'The store cannot write', { cause: new Error('SQLITE_BUSY deep inside') });
  });
  router.get('/zod', (c) => {
    z.object({ items: z.array(z.object({ name: z.string() })) }).parse({ items: [{ name: 'a' }, { name: 5 }] });
    return c.text('unreachable');
  });
  router.get('/http-exception', () => {
    throw new HTTPException(418, { message: 'short and stout' });
  });
  router.get('/bug', () => {
    throw new TypeError(SECRET);
  });
  router.get('/things/:id', (c) => c.json({ id: c.req.param('id') }));
  router.get('/unknown/:id', (c) => {
    throw new GatewayError(404, 'not-found', `No thing ${c.req.param('id')}`);
  });
  return router;
}

function app() {
  const config = parseConfig({ DB_PATH: db.file, ADMIN_TOKEN });
  return createApp({
    config,
    store: db.store,
    log: captured.log,
    metrics,
    ingestKeys: ingestKeysFrom(['ingest-key-for-app-tests']),
    readiness: async () => ({ ready: true, reasons: [] }),
    admin: [{ path: '/test', router: failing() }],
    shuttingDown: () => shuttingDown,
  });
}

const requestLines = () => captured.lines().filter((line) => line.msg === 'request');

beforeEach(() => {
  db = tempStore('caliper-gateway-app-');
  captured = captureLog();
  metrics = createMetrics();
  shuttingDown = false;
});
afterEach(() => db.cleanup());

describe('the error handler', () => {
  it('answers a GatewayError with its status, its headers and {"error": {"code", "message"}}', async () => {
    const response = await app().request('/admin/test/gateway-error', { headers: admin });
    expect(response.status).toBe(409);
    expect(response.headers.get('x-hint')).toBe('look it up');
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ error: { code: 'already-there', message: 'Event 7 is already delivered' } });
    // A 4xx is the caller's problem: no error line for it.
    expect(captured.lines().filter((line) => line.level === 'error')).toEqual([]);
  });

  it('logs a GatewayError of 500 and above with its cause', async () => {
    const response = await app().request('/admin/test/store-down', { headers: admin });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: { code: 'store-unavailable', message: 'The store cannot write' } });
    const logged = captured.lines().find((line) => line.msg === 'The store cannot write');
    expect(logged).toMatchObject({ level: 'error', code: 'store-unavailable', err: { message: 'SQLITE_BUSY deep inside' } });
  });

  it('answers a zod error with a 400 naming the failing path', async () => {
    const response = await app().request('/admin/test/zod', { headers: admin });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid-request');
    expect(body.error.message).toMatch(/^items\[1\]\.name: /);
  });

  it("answers Hono's HTTPException with its status and an http-<status> code", async () => {
    const response = await app().request('/admin/test/http-exception', { headers: admin });
    expect(response.status).toBe(418);
    expect(await response.json()).toEqual({ error: { code: 'http-418', message: 'short and stout' } });
  });

  it('answers an unexpected error with a bare 500, keeping its message and stack for the log only', async () => {
    const response = await app().request('/admin/test/bug', { headers: admin });
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: 'internal error' } });
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('TypeError');
    expect(text).not.toContain('.ts:');
    const logged = captured.lines().find((line) => line.msg === 'unhandled error');
    expect(logged).toMatchObject({ level: 'error', err: { type: 'TypeError', message: SECRET, stack: expect.stringContaining('TypeError') } });
    expect(requestLines().at(-1)).toMatchObject({ level: 'error', status: 500, error: 'internal' });
  });
});

describe('every JSON answer', () => {
  // Echoed raw, a right-to-left override or a C1 control reorders or hides what an admin's
  // terminal shows of the answer; escaped, it parses to the same value.
  const tricky = `id-${UNSHOWN_SAMPLE}-end`;

  it('escapes the code points a terminal does not show as written, in a route\'s own answer', async () => {
    const response = await app().request(`/admin/test/things/${encodeURIComponent(tricky)}`, { headers: admin });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await response.text();
    expect(firstUnshown(text)).toBeUndefined();
    expect(JSON.parse(text)).toEqual({ id: tricky });
  });

  it('escapes them in a refusal whose message holds them as written', async () => {
    const response = await app().request(`/admin/test/unknown/${encodeURIComponent(tricky)}`, { headers: admin });
    expect(response.status).toBe(404);
    const text = await response.text();
    expect(firstUnshown(text)).toBeUndefined();
    expect(JSON.parse(text)).toEqual({ error: { code: 'not-found', message: `No thing ${tricky}` } });
  });

  it('is written as JSON.stringify writes it when there is nothing to escape', async () => {
    const response = await app().request('/admin/test/things/plain-id-%C3%A9', { headers: admin });
    expect(await response.text()).toBe(JSON.stringify({ id: 'plain-id-é' }));
  });
});

describe('a path no route takes', () => {
  it('is a 404 naming the method and path, counted and logged as unmatched by its first two segments', async () => {
    const response = await app().request('/nowhere/at/all/kid@school.test', { method: 'PUT' });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: 'not-found', message: 'No route for PUT /nowhere/at/all/kid@school.test' } });
    expect(await metricValue(metrics.httpRequests, { route: 'unmatched', status: '404' })).toBe(1);
    expect(requestLines()).toEqual([expect.objectContaining({ level: 'info', method: 'PUT', path: '/nowhere/at/…', status: 404, error: 'not-found' })]);
    expect(captured.text()).not.toContain('kid@school');
  });

  it('is logged as sent when it has no more than two segments', async () => {
    await app().request('/favicon.ico');
    await app().request('/a/b');
    expect(requestLines().map((line) => line.path)).toEqual(['/favicon.ico', '/a/b']);
  });

  it('is logged cut to its first 100 characters, as a message quotes a value, however long its segments', async () => {
    // Anyone can send one (up to the server's 16 KB of headers), and an admin past the token
    // check too: each was logged whole, a line as long as the path, for every request.
    await app().request(`/${'x'.repeat(12_000)}`);
    await app().request(`/admin/${'y'.repeat(12_000)}`, { headers: admin });
    await app().request(`/a/${'z'.repeat(99)}`);
    await app().request(`/${'w'.repeat(200)}/b/kid@school.test`);
    expect(requestLines().map((line) => [line.status, line.path])).toEqual([
      [404, `/${'x'.repeat(99)}… (12001 characters)`],
      [404, `/admin/${'y'.repeat(93)}… (12007 characters)`],
      [404, `/a/${'z'.repeat(97)}… (102 characters)`],
      [404, `/${'w'.repeat(99)}… (219 characters)`],
    ]);
    expect(captured.text()).not.toContain('kid@school');
  });
});

describe('response headers', () => {
  it('tell browsers not to sniff any answer, including a 404 that echoes the path it was sent', async () => {
    const answers = await Promise.all([
      app().request('/%3Cscript%3Ealert(1)%3C/script%3E'),
      app().request('/caliper', { method: 'POST' }),
      app().request('/healthz'),
      app().request('/admin/test/things/1', { headers: admin }),
    ]);
    expect(answers.map((res) => res.status)).toEqual([404, 401, 200, 200]);
    for (const res of answers) expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('keep admin answers, and only those, out of caches', async () => {
    expect((await app().request('/admin/test/things/1', { headers: admin })).headers.get('cache-control')).toBe('no-store');
    expect((await app().request('/admin/test/gateway-error', { headers: admin })).headers.get('cache-control')).toBe('no-store');
    expect((await app().request('/healthz')).headers.get('cache-control')).toBeNull();
  });
});

describe('the request log line and metric', () => {
  it('name the route pattern, not the path with its ids', async () => {
    const response = await app().request('/admin/test/things/student-42', { headers: admin });
    expect(response.status).toBe(200);
    expect(await metricValue(metrics.httpRequests, { route: '/admin/test/things/:id', status: '200' })).toBe(1);
    expect(requestLines()).toEqual([expect.objectContaining({ level: 'info', method: 'GET', path: '/admin/test/things/:id', status: 200 })]);
    expect(captured.text()).not.toContain('student-42');
  });

  it('keep the error code but not the message of an admin refusal, which can name a student', async () => {
    await app().request('/admin/test/gateway-error', { headers: admin });
    const line = requestLines().at(-1)!;
    expect(line).toMatchObject({ status: 409, error: 'already-there' });
    expect(line).not.toHaveProperty('reason');
  });

  it('keep the message of a POST /caliper refusal, for the operator Learn tells nothing', async () => {
    const response = await app().request('/caliper', { method: 'POST', body: '{}' });
    expect(response.status).toBe(401);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(requestLines().at(-1)).toMatchObject({ path: '/caliper', status: 401, error: error.code, reason: error.message });
  });

  it("put a refused POST /caliper at warn, so LOG_LEVEL=warn keeps Learn's refused envelopes and drops the line per accepted one", async () => {
    await app().request('/caliper', { method: 'POST', body: '{}' });
    await app().request('/admin/test/gateway-error', { headers: admin });
    expect(requestLines().map((line) => [line.path, line.status, line.level])).toEqual([
      ['/caliper', 401, 'warn'],
      // An admin's own mistake answered to them: no one else needs to hear of it.
      ['/admin/test/gateway-error', 409, 'info'],
    ]);
  });

  it('put probes at debug level', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) expect((await app().request(path)).status).toBe(200);
    expect(requestLines().map((line) => [line.path, line.level])).toEqual([
      ['/healthz', 'debug'],
      ['/readyz', 'debug'],
      ['/metrics', 'debug'],
    ]);
  });
});

describe('during shutdown', () => {
  it('turns a request away with 503, Retry-After and Connection: close, without running it', async () => {
    shuttingDown = true;
    const response = await app().request('/admin/test/things/1', { headers: admin });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(response.headers.get('connection')).toBe('close');
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('shutting-down');
  });

  it('still answers probes, closing their connections', async () => {
    shuttingDown = true;
    const response = await app().request('/healthz');
    expect(response.status).toBe(200);
    expect(response.headers.get('connection')).toBe('close');
    expect(response.headers.get('retry-after')).toBeNull();
  });
});
