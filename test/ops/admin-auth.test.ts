import { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type AppEnv } from '../../src/app.ts';
import { parseConfig } from '../../src/config.ts';
import { ingestKeysFromDigests } from '../../src/ingest/api-keys.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics.ts';
import { tempStore } from '../helpers/temp-store.ts';

const ADMIN_TOKEN = 'admin-auth-test-token-5f3e';
let db: ReturnType<typeof tempStore>;
let reached = 0;

beforeEach(() => {
  db = tempStore('admin-auth-');
  reached = 0;
});
afterEach(() => db.cleanup());

/** The app with one admin route that counts the requests that got past the guard. */
function app(env: Record<string, string> = { ADMIN_TOKEN }) {
  const router = new Hono<AppEnv>().get('/probe', (c) => {
    reached += 1;
    return c.json({ ok: true });
  });
  return createApp({
    config: parseConfig({ DB_PATH: db.file, LOG_LEVEL: 'silent', ...env }),
    store: db.store,
    log: createLogger('silent'),
    metrics: createMetrics(),
    ingestKeys: ingestKeysFromDigests([], 'environment'),
    readiness: async () => ({ ready: true, reasons: [] }),
    admin: [{ path: '', router }],
  });
}

const probe = (authorization?: string, env?: Record<string, string>) =>
  app(env).request('/admin/probe', { headers: authorization === undefined ? {} : { authorization } });

describe('adminAuth', () => {
  it('turns admin HTTP off (404) when ADMIN_TOKEN is unset, whatever is sent', async () => {
    for (const authorization of [undefined, `Bearer ${ADMIN_TOKEN}`, 'Bearer ']) {
      const res = await probe(authorization, {});
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: { code: 'admin-disabled', message: 'Admin HTTP is off; set ADMIN_TOKEN to turn it on' } });
    }
    expect(reached).toBe(0);
  });

  it.each([
    ['no Authorization header', undefined],
    ['the raw token without Bearer', ADMIN_TOKEN],
    ['a wrong token', 'Bearer admin-auth-test-token-5f3f'],
    ['a prefix of the token', `Bearer ${ADMIN_TOKEN.slice(0, -1)}`],
    ['the token with more after it', `Bearer ${ADMIN_TOKEN}x`],
    ['an empty bearer', 'Bearer '],
    ['another scheme', `Basic ${ADMIN_TOKEN}`],
  ])('401s %s, with a WWW-Authenticate challenge', async (_, authorization) => {
    const res = await probe(authorization);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="caliper-gateway admin"');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    expect(reached).toBe(0);
  });

  it.each([`Bearer ${ADMIN_TOKEN}`, `bearer ${ADMIN_TOKEN}`, `Bearer   ${ADMIN_TOKEN}  `])('lets %j through', async (authorization) => {
    const res = await probe(authorization);
    expect(res.status).toBe(200);
    expect(reached).toBe(1);
  });

  it.each([
    ['an answer', `Bearer ${ADMIN_TOKEN}`, 200],
    ['a refusal', 'Bearer wrong', 401],
  ])('marks %s as not to be cached (it can name students) nor sniffed', async (_, authorization, status) => {
    const res = await probe(authorization);
    expect(res.status).toBe(status);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
