/**
 * Hostile input against the admin routes and the routes that answer without a key, in the real
 * gateway process: every request of admin-hostile-cases.ts, in concurrent batches, must get its
 * status and a `{"error": {"code", "message"}}` body naming the parameter or field; the process
 * must answer its health check after every batch and still be the same process at the end; no
 * event's fate and no roster cache row may have changed; and no log line may hold the admin
 * token or a Learn id a request named.
 */
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRosterCache } from '../../src/identity/roster-cache.ts';
import { openStore } from '../../src/store/database.ts';
import { killGatewayProcesses, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { makeTempDir, type TempDir } from '../helpers/identity-harness.ts';
import { errorAnswerProblems, rawRequest, type RawResponse } from '../helpers/raw-http.ts';
import { insertTranslatedEvents } from '../helpers/translated-events.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { ADMIN_TOKEN, CACHED_STUDENTS, INGEST_KEY, SENT_STUDENT, adminCases, type AdminCase } from './admin-hostile-cases.ts';

const BATCH = 12;
/** An error message is for a person: it names the problem, it does not echo the request. */
const MAX_MESSAGE_CHARS = 1_000;

let temp: TempDir;
let gateway: GatewayProcess;
let pid: number;
let before: string;

/** Every row an admin route could change, as text to compare. */
function snapshot(): string {
  const db = new Database(`${temp.dir}/gateway.db`, { readonly: true });
  try {
    return JSON.stringify({
      events: db.prepare('SELECT * FROM events ORDER BY seq').all(),
      roster: db.prepare('SELECT * FROM roster_cache ORDER BY external_id').all(),
    });
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  temp = makeTempDir('admin-hostile');
  // Events in every fate a replay takes, and cached students, for a stray write to change.
  const store = openStore(`${temp.dir}/gateway.db`);
  insertTranslatedEvents(store.sqlite, 3, { fate: 'dead', reason: 'http-400', stage: null });
  insertTranslatedEvents(store.sqlite, 2, { fate: 'skipped', reason: 'user-not-in-timeback', stage: null });
  insertTranslatedEvents(store.sqlite, 2, { fate: 'rejected', reason: 'invalid-output', stage: null });
  const cache = createRosterCache(store);
  const outcomes = ['found', 'not-found', 'ambiguous'] as const;
  CACHED_STUDENTS.forEach((externalId, i) =>
    cache.put({
      externalId,
      outcome: outcomes[i]!,
      platformId: outcomes[i] === 'found' ? randomUUID() : null,
      strategy: 'identifier',
      detail: null,
      learnedAt: Date.now(),
    }),
  );
  store.close();
  before = snapshot();
  // No TimeBack settings: nothing is pending, so only an admin route could change a row.
  gateway = await startGatewayProcess({
    DB_PATH: `${temp.dir}/gateway.db`,
    INGEST_API_KEYS: INGEST_KEY,
    ADMIN_TOKEN,
    // Dozens of wrong tokens from one address, each of which must get its own 401.
    AUTH_FAILURE_LIMIT: '0',
    // Every line, probes' included, to look for what must never be logged.
    LOG_LEVEL: 'debug',
  });
  pid = gateway.child.pid!;
}, 30_000);

afterAll(async () => {
  await killGatewayProcesses();
  temp.remove();
});

const cases = adminCases();

/** What is wrong with the answer to `testCase`, in words; empty when it is right. */
function problemsWith(testCase: AdminCase, response: RawResponse): string[] {
  const problems: string[] = [];
  if (response.status !== testCase.status) problems.push(`status ${response.status}, expected ${testCase.status}: ${response.body.slice(0, 200)}`);
  if (/^\/admin(\/|\?|$)/.test(testCase.request.path ?? '') && response.headers['cache-control'] !== 'no-store' && testCase.code !== 'http-parser') {
    problems.push(`cache-control ${response.headers['cache-control'] ?? 'missing'}`);
  }
  if (testCase.header) {
    const [name, pattern] = testCase.header;
    if (!pattern.test(response.headers[name] ?? '')) problems.push(`header ${name}: ${response.headers[name] ?? 'missing'}`);
  }
  if (testCase.code === undefined || testCase.code === 'http-parser') return problems;
  const answer = errorAnswerProblems(response, { code: testCase.code, mentions: testCase.mentions, maxMessageChars: MAX_MESSAGE_CHARS });
  problems.push(...answer.problems);
  const { message } = answer;
  if (message !== undefined) {
    // A control character of the sender's would reach a terminal as written.
    if (/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(message)) problems.push(`message holds a control character: ${JSON.stringify(message.slice(0, 200))}`);
    if (message.includes(ADMIN_TOKEN)) problems.push('message echoes the admin token');
  }
  return problems;
}

async function expectAlive(after: string): Promise<void> {
  const response = await fetch(`${gateway.url}/healthz`);
  expect(response.status, `health check after ${after}`).toBe(200);
  expect(gateway.child.exitCode, `gateway exit after ${after}`).toBeNull();
}

describe('the admin routes and the probes under hostile input, in the gateway process', () => {
  it('answers each bad request with its status and a JSON error naming the parameter or field', { timeout: 60_000 }, async () => {
    expect(cases.length).toBeGreaterThanOrEqual(80);
    const failures: string[] = [];
    for (let start = 0; start < cases.length; start += BATCH) {
      const batch = cases.slice(start, start + BATCH);
      // A request that gets no answer at all is a failure of its own case, not of the batch.
      const answers = await Promise.all(batch.map((testCase) => rawRequest(gateway.url, testCase.request).catch((err: Error) => err)));
      batch.forEach((testCase, i) => {
        const answer = answers[i]!;
        const problems = answer instanceof Error ? [answer.message] : problemsWith(testCase, answer);
        if (problems.length > 0) failures.push(`${testCase.group} / ${testCase.name}: ${problems.join('; ')}`);
      });
      await expectAlive(`requests ${start + 1}–${start + batch.length}`);
    }
    expect(failures).toEqual([]);
  });

  it('changed no event and no roster cache row', () => {
    expect(snapshot()).toBe(before);
  });

  it('is still the same process, logged no error, and logged neither the token nor a Learn id sent', async () => {
    await expectAlive('every request');
    expect(gateway.child.pid).toBe(pid);
    expect(() => process.kill(pid, 0)).not.toThrow();
    // The child's lines reach this process through a pipe: the last batch's may still be on their way.
    const requestLines = () => gateway.logs.filter((line) => line.msg === 'request');
    await waitFor('a request line for every request', () => requestLines().length >= cases.length - 2).catch(() => undefined);
    expect(gateway.logs.filter((line) => line.msg === 'caliper-gateway listening')).toHaveLength(1);
    // pino's error level is 50: a 5xx or an unhandled exception would have logged one.
    expect(gateway.logs.filter((line) => Number(line.level) >= 50)).toEqual([]);
    // Every request has its line (the parser's refusals a warning of their own).
    expect(requestLines().length).toBeGreaterThanOrEqual(cases.length - 2);
    const text = `${gateway.logs.map((line) => JSON.stringify(line)).join('\n')}\n${gateway.notJson.join('\n')}\n${gateway.stderr()}`;
    for (const secret of [ADMIN_TOKEN, ADMIN_TOKEN.slice(0, 12), INGEST_KEY, SENT_STUDENT, ...CACHED_STUDENTS]) {
      expect(text, `the log holds ${secret}`).not.toContain(secret);
    }
  });
});
