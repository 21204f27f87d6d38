/**
 * Hostile input against the real gateway process: well over a hundred generated bad requests
 * (see hostile-cases.ts), sent in concurrent batches with good requests interleaved. Each bad
 * request must get its status and a `{"error": {"code", "message"}}` body naming the problem;
 * the process must answer its health check after every batch and still be the same process
 * at the end; and the database must hold exactly what the good requests put there, so no
 * refused request left part of itself behind.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killGatewayProcesses, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { makeTempDir, type TempDir } from '../helpers/identity-harness.ts';
import { errorAnswerProblems, rawRequest, type RawResponse } from '../helpers/raw-http.ts';
import { BODY_LIMIT, KEY, badCases, controls, type BadCase, type Control } from './hostile-cases.ts';

/** Bad requests in flight together; one good request rides along in each batch. */
const BATCH = 12;
/** An error message is for a person: it names the problem, it does not echo the request. */
const MAX_MESSAGE_CHARS = 1_000;

let temp: TempDir;
let gateway: GatewayProcess;
let pid: number;

beforeAll(async () => {
  temp = makeTempDir('hostile-input');
  // No TimeBack settings: stored events wait for translation, so the rows stay as intake left them.
  gateway = await startGatewayProcess({
    DB_PATH: `${temp.dir}/gateway.db`,
    INGEST_API_KEYS: KEY,
    MAX_BODY_BYTES: String(BODY_LIMIT),
    // Dozens of wrong keys from one address, each of which must get its own 401: the
    // wrong-key limit has tests of its own (auth-failures.test.ts).
    AUTH_FAILURE_LIMIT: '0',
  });
  pid = gateway.child.pid!;
}, 30_000);

afterAll(async () => {
  await killGatewayProcesses();
  temp.remove();
});

const bad = badCases();
const good = controls();
const sent: Control[] = [];

/** What is wrong with the answer to `testCase`, in words; empty when it is right. */
function problemsWith(testCase: BadCase, response: RawResponse): string[] {
  const problems: string[] = [];
  if (response.status !== testCase.status) problems.push(`status ${response.status}, expected ${testCase.status}`);
  // Node's own answer to a request it cannot parse: no route ran, so there is no JSON to check.
  if (testCase.code === 'http-parser') return problems;
  problems.push(...errorAnswerProblems(response, { code: testCase.code, mentions: testCase.mentions, maxMessageChars: MAX_MESSAGE_CHARS }).problems);
  if (testCase.header) {
    const [name, pattern] = testCase.header;
    if (!pattern.test(response.headers[name] ?? '')) problems.push(`header ${name}: ${response.headers[name] ?? 'missing'}`);
  }
  return problems;
}

async function expectAlive(after: string): Promise<void> {
  const response = await fetch(`${gateway.url}/healthz`);
  expect(response.status, `health check after ${after}`).toBe(200);
  expect(gateway.child.exitCode, `gateway exit after ${after}`).toBeNull();
}

describe('POST /caliper under hostile input, in the gateway process', () => {
  it('answers each of the bad requests with its status and a JSON error naming the problem', { timeout: 60_000 }, async () => {
    expect(bad.length).toBeGreaterThanOrEqual(100);
    const failures: string[] = [];
    const controlsLeft = [...good];
    for (let start = 0; start < bad.length; start += BATCH) {
      const batch = bad.slice(start, start + BATCH);
      const control = controlsLeft.shift();
      const [controlAnswer, ...answers] = await Promise.all([
        control ? rawRequest(gateway.url, control.request) : undefined,
        ...batch.map((testCase) => rawRequest(gateway.url, testCase.request)),
      ]);
      batch.forEach((testCase, i) => {
        const problems = problemsWith(testCase, answers[i]!);
        if (problems.length > 0) failures.push(`${testCase.group} / ${testCase.name}: ${problems.join('; ')}`);
      });
      if (control) {
        if (controlAnswer!.status === 200 && controlAnswer!.body === '') sent.push(control);
        else failures.push(`control ${control.name}: ${controlAnswer!.status} ${controlAnswer!.body.slice(0, 200)}`);
      }
      await expectAlive(`requests ${start + 1}–${start + batch.length}`);
    }
    for (const control of controlsLeft) {
      const answer = await rawRequest(gateway.url, control.request);
      if (answer.status === 200) sent.push(control);
      else failures.push(`control ${control.name}: ${answer.status} ${answer.body.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
  });

  it('stores exactly what the good requests sent, and nothing of the bad ones', async () => {
    expect(sent).toHaveLength(good.length);
    const db = new Database(`${temp.dir}/gateway.db`, { readonly: true });
    try {
      const envelopes = (db.prepare('SELECT COUNT(*) AS n FROM envelopes').get() as { n: number }).n;
      const byFate = Object.fromEntries(
        (db.prepare('SELECT fate, COUNT(*) AS n FROM events GROUP BY fate').all() as Array<{ fate: string; n: number }>).map((row) => [row.fate, row.n]),
      );
      const orphans = (db.prepare('SELECT COUNT(*) AS n FROM events WHERE envelope_id NOT IN (SELECT id FROM envelopes)').get() as { n: number }).n;
      expect(envelopes).toBe(good.length);
      expect(byFate).toEqual({
        pending: good.reduce((sum, control) => sum + control.pending, 0),
        rejected: good.reduce((sum, control) => sum + control.rejected, 0),
      });
      expect(orphans).toBe(0);
    } finally {
      db.close();
    }
  });

  it('is still the same process, and logged no error', async () => {
    await expectAlive('every request');
    expect(gateway.child.pid).toBe(pid);
    expect(() => process.kill(pid, 0)).not.toThrow();
    expect(gateway.logs.filter((line) => line.msg === 'caliper-gateway listening')).toHaveLength(1);
    // pino's error level is 50: a 5xx or an unhandled exception would have logged one.
    expect(gateway.logs.filter((line) => Number(line.level) >= 50)).toEqual([]);
  });
});
