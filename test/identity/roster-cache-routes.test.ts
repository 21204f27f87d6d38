import { execFile } from 'node:child_process';
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import type { Config } from '../../src/config.ts';
import { startTimebackEmulator, type TimebackEmulator } from '../../src/dev/timeback-emulator.ts';
import { ingestKeysFrom } from '../../src/ingest/api-keys.ts';
import { MAX_EXTERNAL_ID_LENGTH } from '../../src/identity/identity-resolver.ts';
import { createRosterCache, type RosterCacheView } from '../../src/identity/roster-cache.ts';
import { rosterCacheRoutes } from '../../src/identity/roster-cache-routes.ts';
import { createUserOverrides } from '../../src/identity/user-overrides.ts';
import { createMetrics } from '../../src/metrics.ts';
import { startGateway } from '../../src/server.ts';
import { openStore, type Store } from '../../src/store/database.ts';
import type { RetryWhileBusyOptions } from '../../src/store/lock-wait.ts';
import { captureLog, makeTempDir, testConfig, type TempDir } from '../helpers/identity-harness.ts';
import { serveOnLoopback, type LoopbackServer } from '../helpers/loopback-server.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { eventLoopTurns } from '../helpers/wait-for.ts';

const ADMIN_TOKEN = 'admin-token-for-tests-0123';
const NOW = Date.parse('2026-03-02T10:00:00.000Z');
const HOUR = 3_600_000;
const FOUND_ID = randomUUID();

let temp: TempDir;
let store: Store;
let config: Config;
/** The app on a real HTTP server on 127.0.0.1, as the gateway serves it. */
let server: LoopbackServer;
/** How long an eviction waits for the write lock; a test that shortens it sets it before its request. */
let lockRetry: RetryWhileBusyOptions | undefined;

beforeEach(async () => {
  temp = makeTempDir('roster-routes');
  config = testConfig({ dir: temp.dir, timebackUrl: 'http://127.0.0.1:9' });
  config.adminToken = ADMIN_TOKEN;
  store = openStore(config.dbPath);
  const cache = createRosterCache(store);
  cache.put({ externalId: 'ada.l', platformId: FOUND_ID, outcome: 'found', strategy: 'identifier', detail: null, learnedAt: NOW - HOUR });
  cache.put({ externalId: 'new/kid@school.test', platformId: null, outcome: 'not-found', strategy: null, detail: 'no TimeBack user has this email', learnedAt: NOW - 2 * HOUR });
  cache.put({ externalId: 'twin', platformId: null, outcome: 'ambiguous', strategy: 'identifier', detail: '2 TimeBack users have this identifier', learnedAt: NOW - 3 * HOUR });
  lockRetry = undefined;
  // A new app for each request, so it takes the test's lockRetry as the test set it.
  server = await serveOnLoopback((request, env) => app().fetch(request, env));
});

afterEach(async () => {
  await server.close();
  store.close();
  temp.remove();
});

/** The pins in temp.dir's user-overrides.yaml as it is now (app() is made anew for each request). */
const overridesNow = () => createUserOverrides({ file: config.overridesFile, log: captureLog().log, watch: false });

function app() {
  return createApp({
    config,
    store,
    log: captureLog().log,
    metrics: createMetrics(),
    ingestKeys: ingestKeysFrom(['ingest-key-for-tests']),
    readiness: async () => ({ ready: true, reasons: [] }),
    now: () => NOW,
    admin: [{ path: '/roster-cache', router: rosterCacheRoutes({ store, config, overrides: overridesNow(), now: () => NOW, lockRetry }) }],
  });
}

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const at = (path: string) => `${server.url}${path}`;
const get = (path: string) => fetch(at(path), { headers: auth });
const del = (path: string) => fetch(at(path), { method: 'DELETE', headers: auth });

interface Listing {
  total: number;
  limit: number;
  offset: number;
  entries: RosterCacheView[];
}

const listing = async (res: Response) => (await res.json()) as Listing;

describe('/admin/roster-cache', () => {
  it('Should require the admin token', async () => {
    const res = await fetch(at('/admin/roster-cache'));
    expect(res.status).toBe(401);
  });

  it('Should list entries newest first with their expiry', async () => {
    const res = await get('/admin/roster-cache');
    expect(res.status).toBe(200);
    const body = await listing(res);
    expect(body).toMatchObject({ total: 3, limit: 100, offset: 0 });
    expect(body.entries.map((entry) => entry.externalId)).toEqual(['ada.l', 'new/kid@school.test', 'twin']);
    expect(body.entries[0]).toEqual({
      externalId: 'ada.l',
      outcome: 'found',
      platformId: FOUND_ID,
      strategy: 'identifier',
      detail: null,
      learnedAt: new Date(NOW - HOUR).toISOString(),
      expiresAt: new Date(NOW - HOUR + config.roster.cacheTtlMs).toISOString(),
      expired: false,
    });
    // ROSTER_NEGATIVE_TTL is an hour: the not-found learned two hours ago is stale.
    expect(body.entries[1]).toMatchObject({ outcome: 'not-found', expired: true });
  });

  it('Should filter by outcome and page with limit and offset', async () => {
    const filtered = await listing(await get('/admin/roster-cache?outcome=ambiguous'));
    expect(filtered.total).toBe(1);
    expect(filtered.entries).toEqual([expect.objectContaining({ externalId: 'twin', detail: '2 TimeBack users have this identifier' })]);

    const page = await listing(await get('/admin/roster-cache?limit=1&offset=1'));
    expect(page).toMatchObject({ total: 3, limit: 1, offset: 1 });
    expect(page.entries.map((entry) => entry.externalId)).toEqual(['new/kid@school.test']);
  });

  it.each([
    ['outcome=maybe', 'outcome: must be one of found, not-found, ambiguous'],
    ['limit=0', 'limit: must be at least 1'],
    ['limit=all', 'limit: must be a number'],
    ['limit=5000', 'limit: must be at most 1000'],
    ['offset=-1', 'offset: must be at least 0'],
    ['offset=1.5', 'offset: must be a whole number'],
    // Whole numbers past what a double holds exactly: they were "not a whole number".
    ['offset=99999999999999999999', 'offset: must be at most 9007199254740991'],
    ['limit=99999999999999999999', 'limit: must be at most 1000'],
    ['limit=-99999999999999999999', 'limit: must be at least 1'],
    [`offset=${'9'.repeat(400)}`, 'offset: must be at most 9007199254740991'],
    [`limit=${'9'.repeat(400)}`, 'limit: must be at most 1000'],
    ['outcomes=found', 'outcomes: unknown parameter; use outcome, limit, offset'],
  ])('Should refuse ?%s with a message naming the parameter', async (query, message) => {
    const res = await get(`/admin/roster-cache?${query}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'invalid-request', message } });
  });

  it('Should evict one entry, URL-decoding its id, and 404 when it is not cached', async () => {
    const path = `/admin/roster-cache/${encodeURIComponent('new/kid@school.test')}`;
    const res = await del(path);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ evicted: ['new/kid@school.test'] });
    expect(createRosterCache(store).get('new/kid@school.test')).toBeUndefined();

    const again = await del(path);
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({
      error: { code: 'not-cached', message: '"new/kid@school.test" is not in the roster cache' },
    });
  });

  it('Should evict an id pasted with whitespace around it, and name it trimmed when it is not cached', async () => {
    const path = `/admin/roster-cache/${encodeURIComponent(' new/kid@school.test\n')}`;
    const res = await del(path);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ evicted: ['new/kid@school.test'] });
    expect(createRosterCache(store).get('new/kid@school.test')).toBeUndefined();

    const again = await del(path);
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({
      error: { code: 'not-cached', message: '"new/kid@school.test" is not in the roster cache' },
    });
  });

  it('Should evict an id holding dots and slashes, percent-encoded, and point a . or .. id, which a path cannot carry as it is, to its padded form or the command', async () => {
    const cache = createRosterCache(store);
    for (const externalId of ['..', '.', 'a/../b', 'x/..', '%2E%2E']) {
      cache.put({ externalId, platformId: null, outcome: 'not-found', strategy: null, detail: null, learnedAt: NOW - HOUR });
    }
    // Sent byte for byte: fetch would resolve the dot segments before sending, as any URL parser does.
    const rawDelete = (path: string, headers: Array<[string, string]> = [['Authorization', `Bearer ${ADMIN_TOKEN}`]]) =>
      rawRequest(server.url, { method: 'DELETE', path, headers });
    for (const [path, evicted] of [
      ['/admin/roster-cache/a%2F..%2Fb', 'a/../b'],
      ['/admin/roster-cache/x%2F..', 'x/..'],
      ['/admin/roster-cache/%252E%252E', '%2E%2E'],
    ] as const) {
      const res = await rawDelete(path);
      expect([path, res.status, JSON.parse(res.body)]).toEqual([path, 200, { evicted: [evicted] }]);
    }
    const hint =
      'a Learn externalId of . or .. cannot be named in a URL path as it is, which resolves it (encoded or not) as a step of the path; nothing was evicted: send it with a space before it (%20..), which is trimmed off as from any id, or evict it with `caliper-gateway roster-cache evict`';
    for (const [path, reached] of [
      ['/admin/roster-cache/..', '/admin/'],
      ['/admin/roster-cache/%2E%2E', '/admin/'],
      ['/admin/roster-cache/.%2e', '/admin/'],
      ['/admin/roster-cache/.', '/admin/roster-cache/'],
      ['/admin/roster-cache/%2E', '/admin/roster-cache/'],
    ] as const) {
      const res = await rawDelete(path);
      expect([path, res.status, JSON.parse(res.body)]).toEqual([path, 404, { error: { code: 'not-found', message: `No route for DELETE ${reached}: ${hint}` } }]);
    }
    // Only an admin hears it; a path under no other route gets the plain 404.
    expect((await rawDelete('/admin/roster-cache/..', [])).status).toBe(401);
    expect(JSON.parse((await rawDelete('/admin/roster-cache/...')).body)).toEqual({ error: { code: 'not-cached', message: '"..." is not in the roster cache' } });
    expect(JSON.parse((await rawDelete('/admin/events/..')).body)).toEqual({ error: { code: 'not-found', message: 'No route for DELETE /admin/' } });
    expect(cache.list().entries.map((entry) => entry.externalId).sort()).toEqual(['.', '..', 'ada.l', 'new/kid@school.test', 'twin']);
    // Padded, the segment is no dot segment, and the id is trimmed as any other is: the way the hint gives.
    for (const [path, evicted] of [
      ['/admin/roster-cache/%20..', '..'],
      ['/admin/roster-cache/.%0A', '.'],
    ] as const) {
      const res = await rawDelete(path);
      expect([path, res.status, JSON.parse(res.body)]).toEqual([path, 200, { evicted: [evicted] }]);
    }
    expect(cache.list().entries.map((entry) => entry.externalId).sort()).toEqual(['ada.l', 'new/kid@school.test', 'twin']);
  });

  it('Should say that a student user-overrides.yaml pins keeps the pin, whether evicted or not cached', async () => {
    writeFileSync(config.overridesFile, `overrides:\n  ada.l: ${randomUUID()}\n  pat.lee: ${randomUUID()}\n`);
    const pinNote = 'it is pinned in user-overrides.yaml, and the pin decides for this student: edit that file to change their platform id';

    const evicted = await del('/admin/roster-cache/ada.l');
    expect(evicted.status).toBe(200);
    expect(await evicted.json()).toEqual({ evicted: ['ada.l'], pinned: true, note: `"ada.l" was evicted, but ${pinNote}` });
    expect(createRosterCache(store).get('ada.l')).toBeUndefined();

    const notCached = await del('/admin/roster-cache/pat.lee');
    expect(notCached.status).toBe(404);
    expect(await notCached.json()).toEqual({ error: { code: 'not-cached', message: `"pat.lee" is not in the roster cache; ${pinNote}` } });

    // Not pinned: the answers as before.
    expect(await (await del('/admin/roster-cache/twin')).json()).toEqual({ evicted: ['twin'] });
    expect(await (await del('/admin/roster-cache/stranger')).json()).toEqual({
      error: { code: 'not-cached', message: '"stranger" is not in the roster cache' },
    });
  });

  it.each([
    ['a blank', '%20%0A%09', 'a Learn externalId must not be empty; nothing was evicted'],
    [
      'an overlong',
      `%20${'x'.repeat(MAX_EXTERNAL_ID_LENGTH + 1)}%0A`,
      `a Learn externalId is at most ${MAX_EXTERNAL_ID_LENGTH} characters (this one has ${MAX_EXTERNAL_ID_LENGTH + 1}): the gateway takes a longer one as no student, so it is never cached; nothing was evicted`,
    ],
  ])('Should refuse %s id with 400, evicting nothing', async (_, encoded, message) => {
    const res = await del(`/admin/roster-cache/${encoded}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'invalid-request', message } });
    expect(createRosterCache(store).size()).toBe(3);
  });

  it('Should not log the id of a request no route takes', async () => {
    const captured = captureLog();
    const logged = createApp({
      config,
      store,
      log: captured.log,
      metrics: createMetrics(),
      ingestKeys: ingestKeysFrom(['ingest-key-for-tests']),
      readiness: async () => ({ ready: true, reasons: [] }),
      admin: [{ path: '/roster-cache', router: rosterCacheRoutes({ store, config, overrides: overridesNow(), now: () => NOW }) }],
    });
    const loggedServer = await serveOnLoopback((request, env) => logged.fetch(request, env));
    try {
      // An id with a slash, sent unencoded, and one with a trailing slash: neither matches the route.
      for (const path of ['/admin/roster-cache/new/kid@school.test', '/admin/roster-cache/ada.l/']) {
        const res = await fetch(`${loggedServer.url}${path}`, { method: 'DELETE', headers: auth });
        expect(res.status).toBe(404);
      }
    } finally {
      await loggedServer.close();
    }
    const requests = captured.lines().filter((line) => line.msg === 'request');
    expect(requests.map((line) => [line.path, line.status, line.error])).toEqual([
      ['/admin/roster-cache/…', 404, 'not-found'],
      ['/admin/roster-cache/…', 404, 'not-found'],
    ]);
    expect(captured.text()).not.toMatch(/kid@school|ada\.l/);
    expect(createRosterCache(store).get('ada.l')).toMatchObject({ outcome: 'found', platformId: FOUND_ID });
    expect(createRosterCache(store).size()).toBe(3);
  });

  it('Should refuse a clear with an unknown parameter, clearing nothing', async () => {
    // Ignored, the misspelt filter would have made this "clear everything".
    const res = await del('/admin/roster-cache?outcom=not-found');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'invalid-request', message: 'outcom: unknown parameter; use outcome' } });
    expect(createRosterCache(store).size()).toBe(3);
  });

  it('Should refuse a query parameter on one eviction, evicting nothing', async () => {
    const res = await del('/admin/roster-cache/ada.l?outcome=found');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { code: 'invalid-request', message: 'outcome: unknown parameter; this route takes none; nothing was evicted' },
    });
    expect(createRosterCache(store).get('ada.l')).toMatchObject({ outcome: 'found', platformId: FOUND_ID });
    expect(createRosterCache(store).size()).toBe(3);
  });

  it('Should wait for a write lock held elsewhere a short while at a time, the event loop free between, then evict', async () => {
    // Another connection (the writer thread committing a large envelope) holds the lock.
    const locker = new Database(config.dbPath);
    try {
      locker.exec('BEGIN IMMEDIATE');
      let answered = false;
      const evicting = del('/admin/roster-cache/twin').then((res) => {
        answered = true;
        return res;
      });
      // With the connection's 5 s busy timeout the loop would not turn until the eviction failed.
      await eventLoopTurns();
      expect(answered).toBe(false);

      locker.exec('ROLLBACK');
      const res = await evicting;
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ evicted: ['twin'] });
      expect(createRosterCache(store).get('twin')).toBeUndefined();
    } finally {
      if (locker.inTransaction) locker.exec('ROLLBACK');
      locker.close();
    }
  });

  it('Should answer 503 busy when the lock stays held past the retries, evicting nothing', async () => {
    const locker = new Database(config.dbPath);
    try {
      locker.exec('BEGIN IMMEDIATE');
      lockRetry = { giveUpAfterMs: 300 };
      const res = await del('/admin/roster-cache');
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: { code: 'busy', message: expect.stringContaining('nothing was evicted') } });
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    expect(createRosterCache(store).size()).toBe(3);
  });

  it('Should clear every entry with an outcome', async () => {
    const res = await del('/admin/roster-cache?outcome=not-found');
    expect(await res.json()).toEqual({ cleared: 1 });
    expect(createRosterCache(store).size()).toBe(2);
  });
});

describe('the gateway wires identity in', () => {
  let emulator: TimebackEmulator;

  beforeAll(async () => {
    emulator = await startTimebackEmulator();
  });

  afterAll(async () => {
    await emulator.close();
  });

  it('Should serve /admin/roster-cache and the cache size on /metrics, and shut down cleanly', async () => {
    store.close();
    writeFileSync(config.overridesFile, `overrides:\n  pat.lee: ${randomUUID()}\n`);
    const gatewayConfig: Config = {
      ...config,
      port: 0,
      host: '127.0.0.1',
      ingestApiKeys: ['ingest-key-for-tests'],
      timeback: { ...config.timeback, baseUrl: emulator.url, tokenUrl: `${emulator.url}/auth/1.0/token` },
    };
    const gateway = await startGateway(gatewayConfig, { log: captureLog().log });
    try {
      const list = await fetch(`${gateway.url}/admin/roster-cache?outcome=found`, { headers: auth });
      expect(list.status).toBe(200);
      expect((await listing(list)).entries).toEqual([expect.objectContaining({ externalId: 'ada.l', platformId: FOUND_ID })]);

      const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
      expect(metrics).toMatch(/^caliper_gateway_roster_cache_entries 3$/m);

      // The running gateway's pins: an eviction names a student they pin as pinned.
      const pinned = await fetch(`${gateway.url}/admin/roster-cache/pat.lee`, { method: 'DELETE', headers: auth });
      expect(pinned.status).toBe(404);
      expect(((await pinned.json()) as { error: { message: string } }).error.message).toContain('; it is pinned in user-overrides.yaml');
    } finally {
      await gateway.close();
      store = openStore(config.dbPath); // afterEach closes it
    }
  });

  it('Should refuse to start on a bad user-overrides.yaml, naming file and key', async () => {
    writeFileSync(join(temp.dir, 'user-overrides.yaml'), 'overrides:\n  jstudent9: not-a-uuid\n');
    const bin = fileURLToPath(new URL('../../src/bin.mjs', import.meta.url));
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [bin, 'serve'],
        // On loopback, and killed if it serves after all, so a regression fails here and leaves no gateway running.
        {
          env: { PATH: process.env.PATH ?? '', DB_PATH: config.dbPath, MAPPINGS_DIR: temp.dir, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent' },
          timeout: 15_000,
          killSignal: 'SIGKILL',
        },
        (error, _stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stderr }),
      );
    });
    expect(result.code).toBe(2);
    // It stops before generating an ingest key that would be shown once, in a failed run.
    expect(result.stderr).not.toContain('generated this ingest API key');
    expect(result.stderr).toContain(`${join(temp.dir, 'user-overrides.yaml')}:2: an entry under overrides: must be the TimeBack platform id (a UUID)`);
  }, 20_000);
});
