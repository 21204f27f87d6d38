/**
 * The gateway as a process: started the way users start it, killed the ways machines die.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { envelope, forumEvent, sessionEvent } from '../helpers/caliper-events.ts';
import { BIN, killGatewayProcesses, ROOT, startGatewayProcess } from '../helpers/gateway-process.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { REPEATED_SIGNAL_MS } from '../../src/stop-signals.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'caliper-gateway-process-'));
});
afterEach(async () => {
  await killGatewayProcesses();
  rmSync(dir, { recursive: true, force: true });
});

/** The processes below `pid`, from Linux's /proc (none elsewhere). */
function descendants(pid: number): number[] {
  let children: number[];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
}

const storedIds = (dbPath: string) => {
  const db = new Database(dbPath, { readonly: true });
  try {
    return new Set((db.prepare('SELECT source_id FROM events').all() as Array<{ source_id: string }>).map((row) => row.source_id));
  } finally {
    db.close();
  }
};

describe('caliper-gateway serve', () => {
  it('keeps every acknowledged event through kill -9, with the key it generated on first start', { timeout: 60_000 }, async () => {
    const dbPath = join(dir, 'gateway.db');
    const first = await startGatewayProcess({ DB_PATH: dbPath });
    const key = /^\s+([0-9a-f-]{36})\s*$/m.exec(first.stderr())?.[1];
    expect(key, first.stderr()).toBeDefined();

    // 40 envelopes of 50 events, 8 in flight at a time; kill -9 as the 20th 200 arrives.
    const acknowledged: string[] = [];
    let answered = 0;
    let killed = false;
    const queue = Array.from({ length: 40 }, (_, i) =>
      envelope(Array.from({ length: 50 }, () => (i % 2 ? forumEvent() : sessionEvent()))),
    );
    const sender = async () => {
      for (let next = queue.shift(); next && !killed; next = queue.shift()) {
        try {
          const response = await fetch(`${first.url}/caliper`, {
            method: 'POST',
            headers: { authorization: key!, 'content-type': 'application/json' },
            body: JSON.stringify(next),
          });
          if (response.status !== 200) throw new Error(`status ${response.status}: ${await response.text()}`);
          for (const event of next.data as Array<{ id: string }>) acknowledged.push(event.id);
          answered += 1;
          if (answered === 20 && !killed) {
            killed = true;
            first.child.kill('SIGKILL');
          }
        } catch (err) {
          if (!killed) throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, sender));
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
    expect(acknowledged.length).toBeGreaterThanOrEqual(20 * 50);

    const second = await startGatewayProcess({ DB_PATH: dbPath });
    // The key was shown once and is not shown again, but it still works.
    expect(second.stderr()).not.toContain(key);
    expect(second.logs).toContainEqual(expect.objectContaining({ msg: 'caliper-gateway listening', keys: 'stored' }));
    const after = await fetch(`${second.url}/caliper`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(envelope([sessionEvent()])),
    });
    expect(after.status).toBe(200);

    const stored = storedIds(dbPath);
    const missing = acknowledged.filter((id) => !stored.has(id));
    expect(missing).toEqual([]);

    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });

  it('starts with nothing configured: ./data/gateway.db made with its folder, events accepted, settled as far as they can be', { timeout: 60_000 }, async () => {
    // Only where to listen (loopback, any port) and where this project keeps its rules: as
    // `npm start` in a checkout, but run from an empty folder so ./data is the test's own.
    const gateway = await startGatewayProcess({ MAPPINGS_DIR: join(ROOT, 'mappings'), FIXTURES_DIR: join(ROOT, 'fixtures') }, { cwd: dir });
    const dbPath = join(dir, 'data', 'gateway.db');
    expect(existsSync(dbPath)).toBe(true);
    const key = /^\s+([0-9a-f-]{36})\s*$/m.exec(gateway.stderr())?.[1];
    expect(key, gateway.stderr()).toBeDefined();

    const ready = await fetch(`${gateway.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toMatch(/TIMEBACK_CLIENT_ID.*TIMEBACK_CLIENT_SECRET.*TIMEBACK_APP_ID/);

    const noRule = sessionEvent({ type: 'http://caliper.blackboard.com/caliper/v1/NoSuchEvent' });
    const response = await fetch(`${gateway.url}/caliper`, {
      method: 'POST',
      headers: { authorization: key!, 'content-type': 'application/json' },
      body: JSON.stringify(envelope([sessionEvent(), noRule])),
    });
    expect({ status: response.status, body: await response.text() }).toEqual({ status: 200, body: '' });
    // Translated as far as it can be: no rule takes one, so it is settled; the other needs a
    // student's TimeBack id and the app id, and waits for them.
    const fates = () => {
      const db = new Database(dbPath, { readonly: true });
      try {
        return db.prepare('SELECT source_id AS id, fate, reason FROM events ORDER BY seq').all();
      } finally {
        db.close();
      }
    };
    await waitFor('the no-rule event skipped', () => fates().some((row) => (row as { fate: string }).fate === 'skipped'));
    expect(fates()).toEqual([
      { id: expect.any(String), fate: 'pending', reason: null },
      { id: noRule.id, fate: 'skipped', reason: 'no-rule' },
    ]);

    gateway.child.kill('SIGTERM');
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    // Logs are JSON lines on stdout; the key went to stderr, outside them.
    expect(gateway.notJson).toEqual([]);
    expect(gateway.logs.length).toBeGreaterThan(0);
    expect(JSON.stringify(gateway.logs)).not.toContain(key);
  });

  it('on SIGTERM finishes the request in flight, says so on /readyz meanwhile, turns new requests away, and exits 0', { timeout: 30_000 }, async () => {
    const dbPath = join(dir, 'gateway.db');
    const gateway = await startGatewayProcess({ DB_PATH: dbPath, INGEST_API_KEYS: 'sigterm-test-key' });
    const sent = envelope([sessionEvent(), forumEvent()]);
    const body = Buffer.from(JSON.stringify(sent));

    // Expect: 100-continue tells us when the server has the request in hand.
    const req = httpRequest(`${gateway.url}/caliper`, {
      method: 'POST',
      headers: {
        authorization: 'sigterm-test-key',
        'content-type': 'application/json',
        'content-length': String(body.length),
        expect: '100-continue',
      },
    });
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
    });
    await new Promise<void>((resolve) => req.once('continue', () => resolve()));
    req.write(body.subarray(0, 100));

    gateway.child.kill('SIGTERM');
    // Shutdown begins. While the old request is still open, a probe hears why the gateway is
    // not ready, and a new envelope is turned away unread: nothing new starts.
    await expect.poll(() => gateway.logs.some((line) => line.msg === 'shutting down')).toBe(true);
    const readyz = await fetch(`${gateway.url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(readyz.headers.get('connection')).toBe('close');
    expect(((await readyz.json()) as { reasons: string[] }).reasons).toContain('shutting down');
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    const late = await fetch(`${gateway.url}/caliper`, {
      method: 'POST',
      headers: { authorization: 'sigterm-test-key', 'content-type': 'application/json' },
      body: JSON.stringify(envelope([sessionEvent()])),
    });
    expect(late.status).toBe(503);
    expect(late.headers.get('retry-after')).toBe('5');
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe('shutting-down');

    req.end(body.subarray(100));
    expect(await response).toEqual({ status: 200, body: '' });
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    expect(gateway.logs.map((line) => line.msg)).toContain('stopped');
    expect(storedIds(dbPath)).toEqual(new Set((sent.data as Array<{ id: string }>).map((event) => event.id)));
    // Once the request in flight is done, the port closes.
    await expect(fetch(`${gateway.url}/healthz`)).rejects.toThrow();
  });

  it('on SIGTERM gives up on a stalled request after SHUTDOWN_TIMEOUT and still exits 0', { timeout: 30_000 }, async () => {
    const gateway = await startGatewayProcess({ DB_PATH: join(dir, 'gateway.db'), INGEST_API_KEYS: 'sigterm-test-key', SHUTDOWN_TIMEOUT: '1' });
    const req = httpRequest(`${gateway.url}/caliper`, {
      method: 'POST',
      headers: { authorization: 'sigterm-test-key', 'content-type': 'application/json', 'content-length': '1000', expect: '100-continue' },
    });
    const outcome = new Promise<string>((resolve) => {
      req.on('error', (err) => resolve(`error ${(err as NodeJS.ErrnoException).code}`));
      req.on('response', (res) => resolve(`status ${res.statusCode}`));
    });
    await new Promise<void>((resolve) => req.once('continue', () => resolve()));
    req.write('{"sensor": "never finished');

    gateway.child.kill('SIGTERM');
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    expect(await outcome).toMatch(/^error (ECONNRESET|EPIPE)$/);
  });

  /** A POST /caliper the gateway has in hand (100-continue) and whose body is held back, so shutdown waits for it. */
  async function heldRequest(url: string, key: string, body: Buffer) {
    const req = httpRequest(`${url}/caliper`, {
      method: 'POST',
      headers: { authorization: key, 'content-type': 'application/json', 'content-length': String(body.length), expect: '100-continue' },
    });
    const outcome = new Promise<string>((resolve) => {
      req.on('error', (err) => resolve(`error ${(err as NodeJS.ErrnoException).code}`));
      req.on('response', (res) => {
        res.resume();
        resolve(`status ${res.statusCode}`);
      });
    });
    await new Promise<void>((resolve) => req.once('continue', () => resolve()));
    req.write(body.subarray(0, 10));
    return { finish: () => req.end(body.subarray(10)), outcome };
  }

  // Ctrl-C on `npm start`: the terminal sends SIGINT to the gateway and to npm, and npm passes
  // its own copy on, a few milliseconds later. That copy is not the admin's second Ctrl-C.
  it('takes a SIGINT repeated at once (npm passing on the Ctrl-C the gateway already got) as the same graceful stop', { timeout: 30_000 }, async () => {
    const dbPath = join(dir, 'gateway.db');
    const gateway = await startGatewayProcess({ DB_PATH: dbPath, INGEST_API_KEYS: 'sigint-test-key' });
    const sent = envelope([sessionEvent()]);
    const held = await heldRequest(gateway.url, 'sigint-test-key', Buffer.from(JSON.stringify(sent)));

    gateway.child.kill('SIGINT');
    await expect.poll(() => gateway.logs.some((line) => line.msg === 'shutting down')).toBe(true);
    gateway.child.kill('SIGINT');
    // The stop goes on: the request in flight is finished and stored, then a clean exit.
    held.finish();
    expect(await held.outcome).toBe('status 200');
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    expect(gateway.logs.map((line) => line.msg)).toContain('stopped');
    expect(storedIds(dbPath)).toEqual(new Set((sent.data as Array<{ id: string }>).map((event) => event.id)));
    expect(existsSync(`${dbPath}.lock.holder`)).toBe(false);
  });

  it('exits at once (130) on a second signal, of either kind, sent a while after the first', { timeout: 30_000 }, async () => {
    const gateway = await startGatewayProcess({ DB_PATH: join(dir, 'gateway.db'), INGEST_API_KEYS: 'sigint-test-key', SHUTDOWN_TIMEOUT: '60' });
    const held = await heldRequest(gateway.url, 'sigint-test-key', Buffer.from(JSON.stringify(envelope([sessionEvent()]))));

    gateway.child.kill('SIGTERM');
    await expect.poll(() => gateway.logs.some((line) => line.msg === 'shutting down')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, REPEATED_SIGNAL_MS + 200));
    gateway.child.kill('SIGINT');
    expect(await gateway.exited).toEqual({ code: 130, signal: null });
    expect(await held.outcome).toMatch(/^error (ECONNRESET|EPIPE)$/);
  });

  it('stops when `npm start` gets SIGTERM, as `docker stop` or a supervisor sends it to npm alone', { timeout: 30_000 }, async () => {
    const gateway = await startGatewayProcess({ DB_PATH: join(dir, 'gateway.db'), INGEST_API_KEYS: 'npm-start-test-key' }, { npmStart: true });
    // npm's children, so that a gateway npm leaves behind does not outlive the test.
    const below = descendants(gateway.child.pid!);
    try {
      gateway.child.kill('SIGTERM');
      await gateway.exited;
      await waitFor('the gateway behind npm to stop', () => gateway.logs.some((entry) => entry.msg === 'stopped'));
      await expect(fetch(`${gateway.url}/healthz`)).rejects.toThrow();
    } finally {
      for (const pid of below) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already, as it should be
        }
      }
    }
  });

  // Three gateway starts (3-5 s each under load) and the refused one's 3 s wait: up to 25 s seen.
  it('refuses to serve a database another gateway serves, and takes it once that one is gone, even by kill -9', { timeout: 60_000 }, async () => {
    const dbPath = join(dir, 'gateway.db');
    const env = { DB_PATH: dbPath, INGEST_API_KEYS: 'lock-test-key', SHUTDOWN_TIMEOUT: '1' };
    const first = await startGatewayProcess(env);
    // Both would send the same pending events: the second waits SHUTDOWN_TIMEOUT + 2 s, then gives
    // up, naming the first so that an admin can find and stop it.
    const holder = new RegExp(`another caliper-gateway \\(pid ${first.child.pid} on [^,]+, started [^)]+\\)`);
    const refused = await startGatewayProcess(env).then(
      () => undefined,
      (err: Error) => err.message,
    );
    expect(refused).toMatch(/exited \(1\) before listening:[\s\S]*caliper-gateway cannot start: another caliper-gateway .* is serving the database at .*gateway\.db \(DB_PATH\)/);
    expect(refused).toMatch(new RegExp(`cannot start: ${holder.source} is serving`));

    // The lock goes with the process, however it ends: nothing stale is left to trip over. The
    // holder file kill -9 leaves behind is only overwritten by the next gateway.
    first.child.kill('SIGKILL');
    await first.exited;
    expect(JSON.parse(readFileSync(`${dbPath}.lock.holder`, 'utf8'))).toMatchObject({ pid: first.child.pid });
    const second = await startGatewayProcess(env);
    expect(JSON.parse(readFileSync(`${dbPath}.lock.holder`, 'utf8'))).toMatchObject({ pid: second.child.pid });
    const response = await fetch(`${second.url}/caliper`, {
      method: 'POST',
      headers: { authorization: 'lock-test-key', 'content-type': 'application/json' },
      body: JSON.stringify(envelope([sessionEvent()])),
    });
    expect(response.status).toBe(200);

    // A clean stop deletes it: it names no gateway that has gone.
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(`${dbPath}.lock.holder`)).toBe(false);
  });

  it('refuses to start when the database cannot be opened, saying where and why', async () => {
    writeFileSync(join(dir, 'not-a-folder'), '');
    await expect(startGatewayProcess({ DB_PATH: join(dir, 'not-a-folder', 'gateway.db') })).rejects.toThrow(
      /exited \(1\) before listening:[\s\S]*caliper-gateway cannot start: cannot open the database at .*not-a-folder\/gateway\.db \(DB_PATH\): /,
    );
  });

  it('refuses a DB_PATH that is a folder, saying what it should name, and leaves no lock file beside it', async () => {
    const folder = join(dir, 'caliper-data');
    mkdirSync(folder);
    await expect(startGatewayProcess({ DB_PATH: folder })).rejects.toThrow(
      /caliper-gateway cannot start: cannot open the database at .*caliper-data \(DB_PATH\): it is a folder; DB_PATH names the database file itself, such as .*caliper-data\/gateway\.db/,
    );
    expect(existsSync(`${folder}.lock`)).toBe(false);
  });

  it('warns at start-up about a variable that looks like a setting and is not, naming the one meant, and a ROSTER_MATCH strategy named twice', async () => {
    const gateway = await startGatewayProcess({
      DB_PATH: join(dir, 'gateway.db'),
      INGEST_API_KEYS: 'typo-test-key',
      DELIVERY_CONCURENCY: '4',
      ROSTER_MATCH: 'identifier,email,identifier',
    });
    expect(gateway.logs.filter((entry) => entry.variable !== undefined)).toEqual([
      expect.objectContaining({
        level: 'warn',
        variable: 'DELIVERY_CONCURENCY',
        closest: 'DELIVERY_CONCURRENCY',
        msg: 'DELIVERY_CONCURENCY is not a caliper-gateway setting and is ignored (did you mean DELIVERY_CONCURRENCY?)',
      }),
      expect.objectContaining({
        level: 'warn',
        variable: 'ROSTER_MATCH',
        repeated: ['identifier'],
        msg: 'ROSTER_MATCH names identifier more than once; each strategy is tried once, where first named',
      }),
    ]);
  });

  it('exits 1 when PORT is taken, saying so and naming the setting', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = taken.address() as AddressInfo;
      await expect(startGatewayProcess({ DB_PATH: join(dir, 'gateway.db'), INGEST_API_KEYS: 'port-test-key', PORT: String(port) })).rejects.toThrow(
        new RegExp(`exited \\(1\\) before listening:[\\s\\S]*caliper-gateway cannot start: port ${port} is in use \\(set PORT\\)`),
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('refuses DB_PATH=:memory:, where every acknowledged event would be lost at the next restart', async () => {
    await expect(startGatewayProcess({ DB_PATH: ':memory:', INGEST_API_KEYS: 'memory-test-key' })).rejects.toThrow(
      /exited \(2\) before listening:\ncaliper-gateway: Invalid configuration:\n {2}- DB_PATH: :memory: keeps nothing across a restart/,
    );
  });

  it.each([
    ['under /proc', () => '/proc/self/gateway.db', /it is under \/proc, where the kernel shows its state and no file is kept/],
    ['that is a device', () => '/dev/null', /it is a character device, not a file/],
    // Before, start-up waited forever in open(), where no signal handler runs (killed here after 20 s).
    ['that is a named pipe', () => {
      const fifo = join(dir, 'gateway.db');
      execFileSync('mkfifo', [fifo]);
      return fifo;
    }, /it is a named pipe \(opening it waits for a writer forever\), not a file/],
  ])('refuses, as a bad setting, a DB_PATH %s, at once, touching nothing beside it', { timeout: 30_000 }, async (_, dbPath, problem) => {
    const file = dbPath();
    const env = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', DB_PATH: file, INGEST_API_KEYS: 'db-path-test-key' };
    const failed = await promisify(execFile)(process.execPath, [BIN, 'serve'], { env, timeout: 20_000 }).then(
      () => expect.unreachable('it started'),
      (error: { code: number | null; killed: boolean; stderr: string }) => error,
    );
    expect({ code: failed.code, killed: failed.killed }).toEqual({ code: 2, killed: false });
    expect(failed.stderr).toMatch(new RegExp(`^caliper-gateway: Invalid configuration:\n {2}- DB_PATH: ${file}: ${problem.source}; name a file on a disk`));
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('refuses, as a bad setting, an ADMIN_TOKEN that is the key it generated', { timeout: 30_000 }, async () => {
    const dbPath = join(dir, 'gateway.db');
    const first = await startGatewayProcess({ DB_PATH: dbPath });
    const key = /^\s+([0-9a-f-]{36})\s*$/m.exec(first.stderr())?.[1];
    expect(key, first.stderr()).toBeDefined();
    await killGatewayProcesses();
    const refusal = await startGatewayProcess({ DB_PATH: dbPath, ADMIN_TOKEN: key! }).then(
      () => expect.unreachable('it started'),
      (error: Error) => error.message,
    );
    expect(refusal).toMatch(/exited \(2\) before listening:\ncaliper-gateway: Invalid configuration:\n {2}- ADMIN_TOKEN: must differ from the ingest API key/);
    expect(refusal).not.toContain(key);
  });

  it('refuses to start on a bad user-overrides.yaml (exit 2), listing every problem by line and naming no student', { timeout: 30_000 }, async () => {
    const mappings = join(dir, 'mappings');
    mkdirSync(mappings);
    const file = join(mappings, 'user-overrides.yaml');
    writeFileSync(file, 'overrides:\n  jstudent9@school.test: 42\n  kstudent4@school.test: 0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05\n  jstudent9@school.test: nope\n');
    const env = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'debug', DB_PATH: join(dir, 'gateway.db'), MAPPINGS_DIR: mappings };
    const failed = await promisify(execFile)(process.execPath, [BIN, 'serve'], { env }).then(
      () => expect.unreachable('it started'),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed.code).toBe(2);
    expect(failed.stderr).toBe(
      'caliper-gateway: user overrides not loaded:\n' +
        `  ${file}:2: an entry under overrides: must be the TimeBack platform id (a UUID); got a number\n` +
        `  ${file}:4: an entry under overrides: pins the same Learn externalId as line 2: a student is pinned once; keep one of the two\n` +
        `  ${file}:4: an entry under overrides: must be the TimeBack platform id (a UUID); got text (4 characters) that is not a UUID\n`,
    );
    // The log (stdout) as a supervisor keeps it, and stderr, name no student.
    for (const student of ['jstudent9', 'kstudent4']) expect(failed.stdout + failed.stderr).not.toContain(student);
  });

  it('refuses to start with a bad configuration, naming every bad variable', async () => {
    await expect(startGatewayProcess({ DB_PATH: join(dir, 'gateway.db'), PORT: 'x', LOG_LEVEL: 'loud' })).rejects.toThrow(
      /exited \(2\) before listening:\ncaliper-gateway: Invalid configuration:\n {2}- PORT: .*\n {2}- LOG_LEVEL: /,
    );
  });

  it('with a bad configuration, still names the misspelt setting beside it, before the refusal (exit 2)', async () => {
    const env = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: 'x', DB_PATH: join(dir, 'gateway.db'), DELIVERY_CONCURENCY: '8' };
    const failed = await promisify(execFile)(process.execPath, [BIN, 'serve'], { env }).then(
      () => expect.unreachable('it started'),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed.code).toBe(2);
    // No logger yet (LOG_LEVEL is part of what was refused): said on stderr, as the refusal is.
    expect(failed.stderr).toMatch(
      /^caliper-gateway serve: warning: DELIVERY_CONCURENCY is not a caliper-gateway setting and is ignored \(did you mean DELIVERY_CONCURRENCY\?\)\ncaliper-gateway: Invalid configuration:\n {2}- PORT: /,
    );
  });
});
