import { request as httpRequest } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { statusReport } from '../src/ops/status-report.ts';
import { openStoreReadOnly } from '../src/store/database.ts';
import { startGateway, type Gateway } from '../src/server.ts';
import { envelope, sessionEvent } from './helpers/caliper-events.ts';
import { openWire, requestHead } from './helpers/wire.ts';
import { rawRequest } from './helpers/raw-http.ts';
import { waitFor } from './helpers/wait-for.ts';
import { rejectionOf } from './helpers/thrown.ts';

const KEY = 'server-test-key-8c1d';
const TIMEBACK = { TIMEBACK_CLIENT_ID: 'client', TIMEBACK_CLIENT_SECRET: 'secret', TIMEBACK_APP_ID: '0b6f9a3e-2c1d-4e5f-8a7b-9c0d1e2f3a4b' };

let dir: string;
let gateway: Gateway | undefined;
const logs: string[] = [];

// Nothing listens on loopback's discard port: a configured gateway's token requests are refused
// here, instead of going to the default TIMEBACK_BASE_URL, the real platform.
const NO_TIMEBACK = 'http://127.0.0.1:9';

async function start(env: Record<string, string> = {}, now?: () => number, bodyIdleMs?: number) {
  const config = parseConfig({ DB_PATH: join(dir, 'gateway.db'), HOST: '127.0.0.1', PORT: '0', INGEST_API_KEYS: KEY, TIMEBACK_BASE_URL: NO_TIMEBACK, ...env });
  gateway = await startGateway(config, { log: createLogger('debug', { write: (line: string) => void logs.push(line) }), now, bodyIdleMs });
  return gateway;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'caliper-gateway-server-'));
  logs.length = 0;
});
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('health and readiness', () => {
  it('/healthz answers 200 while the process runs', async () => {
    const { url } = await start();
    const response = await fetch(`${url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  it('/readyz is 503 with the reason while TimeBack credentials are missing, and says so once at start-up', async () => {
    const { url } = await start({ TIMEBACK_CLIENT_ID: 'client' });
    const response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({
      ready: false,
      reasons: ['delivery waits for TIMEBACK_CLIENT_SECRET (or TIMEBACK_CLIENT_SECRET_FILE), TIMEBACK_APP_ID'],
    });
    const warnings = logs.filter((line) => line.includes('Delivery to TimeBack waits for'));
    expect(warnings).toHaveLength(1);
  });

  it('warns once at start-up when TimeBack would get the client secret over plain http to another host', async () => {
    // The token URL is on this machine, so the token the gateway asks for at once stays on it.
    await start({ ...TIMEBACK, TIMEBACK_BASE_URL: 'http://timeback.invalid', TIMEBACK_TOKEN_URL: `${NO_TIMEBACK}/auth/1.0/token` });
    const warnings = logs.filter((line) => line.includes('plain http://'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 'warn', settings: ['TIMEBACK_BASE_URL'] });
    expect(warnings[0]).not.toContain('secret"');
  });

  it('/readyz is 200 when configured, and 503 once shutdown begins', async () => {
    const started = await start(TIMEBACK);
    expect((await fetch(`${started.url}/readyz`)).status).toBe(200);

    const closing = started.close();
    const during = await started.app.request('/readyz');
    expect(during.status).toBe(503);
    expect(((await during.json()) as { reasons: string[] }).reasons).toContain('shutting down');
    await closing;
  });

  it('/readyz is 503 while envelopes cannot be stored, and ready again once one is', async () => {
    let clock = Date.now();
    const { url } = await start(TIMEBACK, () => clock);
    const post = () =>
      fetch(`${url}/caliper`, {
        method: 'POST',
        headers: { authorization: KEY, 'content-type': 'application/json' },
        body: JSON.stringify(envelope([sessionEvent()])),
      });
    const readyz = async () => {
      const response = await fetch(`${url}/readyz`);
      return { status: response.status, reasons: ((await response.json()) as { reasons: string[] }).reasons };
    };
    expect((await readyz()).status).toBe(200);

    // Reads still work (SELECT 1), as on a full disk; every envelope's commit fails.
    const other = new Database(join(dir, 'gateway.db'));
    other.exec(`CREATE TRIGGER refuse_all BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    expect((await post()).status).toBe(503);
    const failing = await readyz();
    expect(failing.status).toBe(503);
    expect(failing.reasons).toEqual([expect.stringMatching(/could not store the last envelope \(database or disk is full, at .*\); POST \/caliper answers 503/)]);

    // Nothing more arrives (a balancer took the gateway out): the reason goes after a while, so the next envelope is tried.
    clock += 30_000;
    expect((await readyz()).status).toBe(200);
    expect((await post()).status).toBe(503);
    expect((await readyz()).status).toBe(503);

    other.exec('DROP TRIGGER refuse_all');
    other.close();
    expect((await post()).status).toBe(200);
    expect(await readyz()).toEqual({ status: 200, reasons: [] });
  });

  it('GET /metrics shows the queue measured from the database', async () => {
    const { url } = await start();
    await fetch(`${url}/caliper`, {
      method: 'POST',
      headers: { authorization: KEY, 'content-type': 'application/json' },
      body: JSON.stringify(envelope([sessionEvent(), sessionEvent({ eventTime: 'soon' })])),
    });
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/^caliper_gateway_queue_depth\{stage="translate"\} 1$/m);
    expect(text).toMatch(/^caliper_gateway_events\{fate="rejected"\} 1$/m);
  });
});

describe('POST /caliper over a real socket', () => {
  it('commits envelopes on the writer thread (fsynced), while the service connection skips fsyncs for its bookkeeping', async () => {
    const { url, store } = await start(TIMEBACK);
    const sent = envelope([sessionEvent(), sessionEvent()]);
    const response = await fetch(`${url}/caliper`, {
      method: 'POST',
      headers: { authorization: KEY, 'content-type': 'application/json' },
      body: JSON.stringify(sent),
    });
    expect(response.status).toBe(200);
    // Committed, and visible to another connection, when the 200 came back.
    const reader = new Database(store.file, { readonly: true });
    expect(reader.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 2 });
    reader.close();
    // synchronous=NORMAL (1) here: this connection no longer commits what Learn was told is stored.
    expect(store.sqlite.pragma('synchronous', { simple: true })).toBe(1);
    expect(logs.some((line) => line.includes('the event loop commits the pipeline writes'))).toBe(false);
  });

  for (const path of ['/caliper/', '/caliper?source=learn', 'http://gateway.school.test/caliper']) {
    it(`stores an envelope POSTed to ${path}, logged as /caliper`, async () => {
      const { url } = await start();
      const response = await rawRequest(url, {
        path,
        headers: [
          ['Authorization', KEY],
          ['Content-Type', 'application/json'],
        ],
        body: JSON.stringify(envelope([sessionEvent()])),
      });
      expect(response.status).toBe(200);
      expect(gateway!.store.sqlite.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 1 });
      const line = logs.map((text) => JSON.parse(text) as Record<string, unknown>).find((entry) => entry.msg === 'request');
      expect(line).toMatchObject({ method: 'POST', path: '/caliper', status: 200 });
    });
  }

  it('413 for a chunked body that grows over the limit, without reading it all', { timeout: 20_000 }, async () => {
    const { url } = await start({ MAX_BODY_BYTES: '65536' });
    const chunk = Buffer.alloc(16 * 1024, 'x');
    const result = await new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
      let sent = 0;
      let answered = false;
      const req = httpRequest(`${url}/caliper`, {
        method: 'POST',
        headers: { authorization: KEY, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        answered = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (data: string) => (body += data));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body, sent });
        });
      });
      req.on('error', (err) => (answered ? undefined : reject(err)));
      const pump = () => {
        // Keeps sending (up to 64 MiB) until the server answers.
        while (!answered && sent < 64 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
      };
      req.write('{"data":["');
      pump();
    });
    expect(result.status).toBe(413);
    expect(JSON.parse(result.body)).toMatchObject({ error: { code: 'payload-too-large' } });
    expect(result.sent).toBeLessThan(64 * 1024 * 1024);
    expect(gateway!.store.sqlite.prepare('SELECT count(*) AS n FROM envelopes').get()).toEqual({ n: 0 });
  });
});

describe('kept-alive connections', () => {
  it('are kept idle 65 s, longer than the 60 s a load balancer in front keeps them, and said so to the sender', async () => {
    const { url } = await start();
    const wire = await openWire(url);
    const body = JSON.stringify(envelope([sessionEvent()]));
    const post = requestHead(url, 'POST /caliper HTTP/1.1', { Authorization: KEY, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    wire.write(post + body);
    const [first] = await wire.waitForResponses(1);
    expect(first!.status).toBe(200);
    expect(first!.headers.connection).toBe('keep-alive');
    expect(first!.headers['keep-alive']).toBe('timeout=65');
    // The same connection carries the next request, as a sender's pool reuses it.
    wire.write(requestHead(url, 'GET /healthz HTTP/1.1', {}));
    const [, second] = await wire.waitForResponses(2);
    expect(second!.status).toBe(200);
    wire.socket.destroy();
  });

  it('do not hold shutdown open: an idle one is closed by the server at once', async () => {
    const { url } = await start();
    const wire = await openWire(url);
    wire.write(requestHead(url, 'GET /healthz HTTP/1.1', {}));
    await wire.waitForResponses(1);
    // Well under the 65 s the connection would otherwise stay open.
    await gateway!.close();
    gateway = undefined;
    await wire.serverClosed;
    expect(wire.closedByServer()).toBe(true);
  });
});

describe('an upload cut off midway', () => {
  it('is logged as a 400 incomplete body, not as a server error, and stores nothing', { timeout: 20_000 }, async () => {
    const { url } = await start();
    const req = httpRequest(`${url}/caliper`, {
      method: 'POST',
      headers: { authorization: KEY, 'content-type': 'application/json', 'content-length': '100000', expect: '100-continue' },
    });
    req.on('error', () => {});
    await new Promise<void>((resolve) => req.once('continue', () => resolve()));
    req.write('{"sensor": "cut off');
    await new Promise((resolve) => setTimeout(resolve, 50));
    req.destroy();

    await expect
      .poll(() => logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.msg === 'request'))
      .toMatchObject({ status: 400, level: 'warn' });
    expect(logs.join('')).not.toContain('unhandled error');
    expect(gateway!.store.sqlite.prepare('SELECT count(*) AS n FROM envelopes').get()).toEqual({ n: 0 });
  });
});

describe('a sender that hangs up right after the last byte', () => {
  it('has its envelope committed whole, once: the resend it makes for want of an answer adds no event', async () => {
    const { url } = await start();
    const body = JSON.stringify(envelope([sessionEvent(), sessionEvent(), sessionEvent()]));
    const headers = { Authorization: KEY, 'Content-Type': 'application/json' };
    const wire = await openWire(url);
    wire.write(requestHead(url, 'POST /caliper HTTP/1.1', { ...headers, 'Content-Length': Buffer.byteLength(body) }) + body);
    wire.socket.destroy();
    const events = () => (gateway!.store.sqlite.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    await expect.poll(events).toBe(3);

    expect((await fetch(`${url}/caliper`, { method: 'POST', headers, body })).status).toBe(200);
    expect(events()).toBe(3);
  });
});

describe('a sender that stalls mid-body', () => {
  it('gets 408 and is hung up on; nothing of it is stored, and its share of the intake bound goes to the next sender', { timeout: 20_000 }, async () => {
    // A bound of 1 KB: the stalled 50 KB envelope alone fills it, so the next one waits for it.
    const { url } = await start({ MAX_BYTES_IN_FLIGHT: '1024' }, undefined, 2_000);
    const headers = { Authorization: KEY, 'Content-Type': 'application/json' };
    const stalled = await openWire(url);
    stalled.write(requestHead(url, 'POST /caliper HTTP/1.1', { ...headers, 'Content-Length': 50_000 }) + '{"sensor": "stalls here');
    const intake = async (gauge: string) => (await (await fetch(`${url}/metrics`)).text()).match(new RegExp(`^caliper_gateway_intake_${gauge} (\\d+)$`, 'm'))?.[1];
    await expect.poll(() => intake('bytes_in_flight')).toBe('50000');

    const next = JSON.stringify(envelope([sessionEvent()]));
    const waiting = fetch(`${url}/caliper`, { method: 'POST', headers, body: next });
    await expect.poll(() => intake('requests_waiting')).toBe('1');

    const [answer] = await stalled.waitForResponses(1);
    expect(answer!.status).toBe(408);
    expect(JSON.parse(answer!.body)).toMatchObject({ error: { code: 'body-timeout' } });
    await stalled.serverClosed;
    expect((await waiting).status).toBe(200);
    expect(gateway!.store.sqlite.prepare('SELECT count(*) AS n FROM envelopes').get()).toEqual({ n: 1 });
    expect(gateway!.store.sqlite.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 1 });
  });
});

describe('mapping rules as status sees them', () => {
  const blogRules = (id: string) =>
    `rules:\n  - id: ${id}\n    match: { type: "http://caliper.blackboard.com/caliper/v1/BlogEvent" }\n    skip: Blog posts stay in Learn.\n`;

  /** What `caliper-gateway status` reads, on a connection of its own as the command has. */
  function rulesInStatus() {
    const reader = openStoreReadOnly(join(dir, 'gateway.db'));
    try {
      return statusReport(reader).mappingRules;
    } finally {
      reader.close();
    }
  }

  it('records a refused rule change where status can read it, until a change passes', { timeout: 20_000 }, async () => {
    const mappingsDir = join(dir, 'mappings');
    const fixturesDir = join(dir, 'fixtures');
    mkdirSync(mappingsDir);
    mkdirSync(fixturesDir);
    writeFileSync(join(mappingsDir, 'blog-event.yaml'), blogRules('blog-skip'));
    await start({ MAPPINGS_DIR: mappingsDir, FIXTURES_DIR: fixturesDir });
    expect(rulesInStatus()).toEqual({ state: 'active', at: expect.any(String), dir: mappingsDir, rules: 1 });
    const loadedAt = rulesInStatus()!.at;

    writeFileSync(join(mappingsDir, 'blog-event.yaml'), `${blogRules('blog-skip')}    skpi: typo\n`);
    await waitFor('the refusal recorded', () => rulesInStatus()?.state === 'change-refused');
    expect(rulesInStatus()).toEqual({
      state: 'change-refused',
      at: expect.any(String),
      dir: mappingsDir,
      activeSince: loadedAt,
      problems: [expect.stringMatching(/blog-event\.yaml:5: rule "blog-skip": skpi: unknown key/)],
      moreProblems: 0,
    });

    writeFileSync(join(mappingsDir, 'blog-event.yaml'), blogRules('blog-skip-fixed'));
    await waitFor('the good load recorded', () => rulesInStatus()?.state === 'active');
    expect(rulesInStatus()).toMatchObject({ state: 'active', rules: 1 });
  });

  it('records that no rules are active when they do not pass at start-up', { timeout: 20_000 }, async () => {
    const mappingsDir = join(dir, 'mappings');
    mkdirSync(mappingsDir);
    writeFileSync(join(mappingsDir, 'blog-event.yaml'), blogRules('blog-skip'));
    // No fixtures folder: nothing goes live.
    await start({ MAPPINGS_DIR: mappingsDir, FIXTURES_DIR: join(dir, 'missing-fixtures') });
    expect(rulesInStatus()).toMatchObject({ state: 'none-active', dir: mappingsDir, problems: [expect.stringContaining('missing-fixtures')] });
  });
});

describe('ADMIN_TOKEN and the generated ingest key', () => {
  it('refuses to start on a damaged stored key digest, naming its row, instead of answering every envelope 500', async () => {
    const base = { DB_PATH: join(dir, 'gateway.db'), HOST: '127.0.0.1', PORT: '0', TIMEBACK_BASE_URL: NO_TIMEBACK };
    const silent = createLogger('silent');
    await (await startGateway(parseConfig(base), { log: silent, announceKey: () => {} })).close();
    const db = new Database(join(dir, 'gateway.db'));
    db.prepare("UPDATE meta SET value = 'abc' WHERE key = 'ingest_api_key_sha256'").run();
    db.close();
    await expect(startGateway(parseConfig(base), { log: silent })).rejects.toThrow(/meta row ingest_api_key_sha256\) is damaged/);
  });

  it('refuses to start with an ADMIN_TOKEN that is the generated key, without echoing it, and leaves the database free', async () => {
    const announced: string[] = [];
    const base = { DB_PATH: join(dir, 'gateway.db'), HOST: '127.0.0.1', PORT: '0', TIMEBACK_BASE_URL: NO_TIMEBACK };
    const silent = createLogger('silent');
    const first = await startGateway(parseConfig(base), { log: silent, announceKey: (key) => announced.push(key) });
    await first.close();
    const key = announced[0]!;

    // Learn's admins can read the ingest key in Learn's settings; the admin token opens /admin.
    for (const token of [key, `  ${key}  `]) {
      const error = await rejectionOf(ConfigError, startGateway(parseConfig({ ...base, ADMIN_TOKEN: token }), { log: silent }));
      expect(error.problems).toEqual([expect.stringMatching(/^ADMIN_TOKEN: must differ from the ingest API key/)]);
      expect(error.message).not.toContain(key);
    }

    gateway = await startGateway(parseConfig({ ...base, ADMIN_TOKEN: 'a-different-admin-token-5e1f' }), { log: silent });
    const answer = await fetch(`${gateway.url}/admin/events`, { headers: { authorization: `Bearer ${key}` } });
    expect(answer.status).toBe(401);
  });
});
