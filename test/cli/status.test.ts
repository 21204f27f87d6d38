import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { envelope, forumEvent, sessionEvent } from '../helpers/caliper-events.ts';
import { BIN, killGatewayProcesses, startGatewayProcess } from '../helpers/gateway-process.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { UNTIL_CONFIGURED } from '../../src/store/schema.ts';
import { statusCommand } from '../../src/cli/status.ts';
import { openStore } from '../../src/store/database.ts';

const run = promisify(execFile);
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'caliper-gateway-status-cli-'));
});
afterEach(async () => {
  await killGatewayProcesses();
  rmSync(dir, { recursive: true, force: true });
});

const status = (args: string[], env: Record<string, string>) =>
  run(process.execPath, [BIN, 'status', ...args], { env: { PATH: process.env.PATH ?? '', ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );

describe('caliper-gateway status', () => {
  // A gateway and two runs of the command, each a process of its own (3-10 s under heavy load).
  it('reports the database of a running gateway, as JSON and as a table', { timeout: 60_000 }, async () => {
    const env = { DB_PATH: join(dir, 'gateway.db'), INGEST_API_KEYS: 'status-test-key' };
    const gateway = await startGatewayProcess(env);
    const response = await fetch(`${gateway.url}/caliper`, {
      method: 'POST',
      headers: { authorization: 'status-test-key', 'content-type': 'application/json' },
      body: JSON.stringify(envelope([sessionEvent(), forumEvent(), sessionEvent({ action: 7 })])),
    });
    expect(response.status).toBe(200);
    // Without TimeBack settings translation holds both events; wait until it has.
    const reader = new Database(env.DB_PATH, { readonly: true });
    try {
      const held = reader.prepare('SELECT count(*) AS n FROM events WHERE next_attempt_at = ?');
      await waitFor('both events held', () => (held.get(UNTIL_CONFIGURED) as { n: number }).n === 2);
    } finally {
      reader.close();
    }

    // Both views of the same database, run at once: each run spends its time starting node and tsx.
    const [json, table] = await Promise.all([status(['--json'], env), status([], env)]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      total: 3,
      byFate: { pending: 2, delivered: 0, skipped: 0, rejected: 1, dead: 0 },
      byReason: { 'rejected:invalid-event': 1 },
      queueDepth: { translate: 2, deliver: 0 },
      heldUntilConfigured: 2,
      oldestWaiting: { seq: 1, stage: 'translate', ageSeconds: expect.any(Number), detail: expect.stringMatching(/^waiting: .*TIMEBACK_/) },
      rosterCacheEntries: 0,
      envelopes: { received: 1, lastReceivedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    });

    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^events {2,}3$/m);
    expect(table.stdout).toMatch(/^ {4}invalid-event {2,}1$/m);
    expect(table.stdout).toMatch(/^waiting {2,}translate 2, deliver 0 \(2 held until TimeBack is configured\)$/m);
    expect(table.stdout).toMatch(/^oldest waiting {2,}#1 \(translate\), \d+ s old: waiting: .*TIMEBACK_/m);
  });

  // A gateway, stopped, and four runs of the command: each a process of its own.
  it('says whether a gateway serves the database, and words the rules as the last one ran them once it stops', { timeout: 90_000 }, async () => {
    const env = { DB_PATH: join(dir, 'gateway.db'), INGEST_API_KEYS: 'status-test-key' };
    const gateway = await startGatewayProcess(env);
    // The rules are recorded in the database once loaded (and checked against the fixtures).
    const reader = new Database(env.DB_PATH, { readonly: true });
    try {
      const recorded = reader.prepare(`SELECT count(*) AS n FROM meta WHERE key = 'mapping-rules'`);
      await waitFor('the rules recorded', () => (recorded.get() as { n: number }).n === 1, 30_000);
    } finally {
      reader.close();
    }

    const [runningJson, running] = await Promise.all([status(['--json'], env), status([], env)]);
    expect(JSON.parse(runningJson.stdout)).toMatchObject({
      gateway: { serving: true, holder: { pid: gateway.child.pid, host: expect.any(String), startedAt: expect.any(String) } },
      mappingRules: { state: 'active' },
    });
    expect(running.stdout).toMatch(new RegExp(`^gateway {2,}serving this database: pid ${gateway.child.pid} on `, 'm'));
    expect(running.stdout).toMatch(/^mapping rules {2,}\d+ active since /m);

    gateway.child.kill('SIGTERM');
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    const [stoppedJson, stopped] = await Promise.all([status(['--json'], env), status([], env)]);
    expect(JSON.parse(stoppedJson.stdout)).toMatchObject({ gateway: { serving: false, holder: null }, mappingRules: { state: 'active' } });
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toMatch(/^gateway {2,}not running: no gateway is serving this database/m);
    expect(stopped.stdout).toMatch(/^mapping rules {2,}none running: the last gateway ran \d+ rules, loaded at /m);
    expect(stopped.stdout).not.toContain('active since');
  });

  it('runs with TIMEBACK_CLIENT_SECRET_FILE set to a file it cannot read: it needs no secret', async () => {
    const file = join(dir, 'gateway.db');
    openStore(file).close();
    let out = '';
    let err = '';
    const io = { out: (text: string) => void (out += text), err: (text: string) => void (err += text) };
    const code = await statusCommand(['--json'], { DB_PATH: file, TIMEBACK_CLIENT_SECRET_FILE: join(dir, 'no-such-secret') }, io);
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(JSON.parse(out)).toMatchObject({ total: 0 });
  });

  // Ignored without a word, a misspelt setting leaves the report on a database or folder not meant.
  it('warns on stderr, once and before the report, about a variable that looks like a misspelt setting; --json stays pure', async () => {
    const file = join(dir, 'gateway.db');
    openStore(file).close();
    const printed: string[] = [];
    const io = { out: (text: string) => void printed.push(`out:${text}`), err: (text: string) => void printed.push(`err:${text}`) };
    const code = await statusCommand(['--json'], { DB_PATH: file, MAPPING_DIR: join(dir, 'rules') }, io);
    expect(code).toBe(0);
    expect(printed).toHaveLength(2);
    expect(printed[0]).toBe('err:caliper-gateway status: warning: MAPPING_DIR is not a caliper-gateway setting and is ignored (did you mean MAPPINGS_DIR?)\n');
    expect(JSON.parse(printed[1]!.slice('out:'.length))).toMatchObject({ total: 0 });
  });

  it('says where it looked when there is no database yet', async () => {
    const result = await status([], { DB_PATH: join(dir, 'none.db') });
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(/no database at .*none\.db/);
  });

  it('refuses a DB_PATH that is a named pipe at once, where it waited forever for a writer', async () => {
    const fifo = join(dir, 'gateway.db');
    execFileSync('mkfifo', [fifo]);
    const failed = await run(process.execPath, [BIN, 'status'], { env: { PATH: process.env.PATH ?? '', DB_PATH: fifo }, timeout: 15_000 }).then(
      () => expect.unreachable('it read the pipe'),
      (error: { code: number | null; killed: boolean; stdout: string; stderr: string }) => error,
    );
    expect({ code: failed.code, killed: failed.killed, stdout: failed.stdout }).toEqual({ code: 1, killed: false, stdout: '' });
    expect(failed.stderr).toBe(
      `caliper-gateway status: cannot open the database at ${fifo} (DB_PATH): it is a named pipe (opening it waits for a writer forever), not a file; name a file on a disk, such as ./data/gateway.db\n`,
    );
  });

  it('rejects unknown options', async () => {
    const result = await status(['--jsn'], { DB_PATH: join(dir, 'none.db') });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown option --jsn/);
  });
});
