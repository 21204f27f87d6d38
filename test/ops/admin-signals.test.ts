/**
 * What an admin sees of each kind of trouble, and of a normal day, from /metrics, the log,
 * /readyz and `status` alone: the real gateway against the emulated TimeBack, every metric and
 * log line the README promises for the scenario checked by name, labels and movement.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EVENTS_WRITE_SCOPE, parseConfig } from '../../src/config.ts';
import { startTimebackEmulator, type TimebackEmulator } from '../../src/dev/timeback-emulator.ts';
import { statusReport } from '../../src/ops/status-report.ts';
import { startGateway, type Gateway } from '../../src/server.ts';
import { captureLog, type CapturedLog, type TempDir } from '../helpers/identity-harness.ts';
import { pipelineEnv, pipelineFolder } from '../helpers/pipeline-gateway.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { BB, envelope, forumPost, NEWCOMER, OTHER_STUDENT, STUDENT } from '../mapping/learn-events.ts';

const INGEST_KEY = 'admin-signals-test-key';
const ADMIN_TOKEN = 'admin-signals-admin-token';
const ROSTER_READONLY = 'https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly';

let temp: TempDir;
let emulator: TimebackEmulator;
let gateway: Gateway | undefined;
let captured: CapturedLog;

beforeEach(async () => {
  temp = pipelineFolder('admin-signals');
  emulator = await startTimebackEmulator({
    users: [
      { sourcedId: STUDENT.platformId, identifier: STUDENT.externalId },
      { sourcedId: OTHER_STUDENT.platformId, identifier: OTHER_STUDENT.externalId },
    ],
  });
  captured = captureLog();
  gateway = await startGateway(
    parseConfig({
      ...pipelineEnv(temp.dir, emulator),
      ROSTER_MATCH: 'identifier',
      INGEST_API_KEYS: INGEST_KEY,
      ADMIN_TOKEN,
      // Pauses short enough for a test: a probe every second at most.
      DELIVERY_BACKOFF_CAP: '1',
    }),
    { log: captured.log },
  );
});

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  await emulator.close();
  temp.remove();
});

async function post(data: unknown[]): Promise<void> {
  const res = await fetch(`${gateway!.url}/caliper`, {
    method: 'POST',
    headers: { authorization: `Bearer ${INGEST_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(envelope(data)),
  });
  expect(res.status).toBe(200);
}

/** Every sample of the scrape: `name{labels}` → value. */
async function scrape(): Promise<Map<string, number>> {
  const text = await (await fetch(`${gateway!.url}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const [, series, value] of text.matchAll(/^(caliper_gateway_\S+) (\S+)$/gm)) samples.set(series!, Number(value));
  return samples;
}

/** One series' value; a series the scrape lacks fails the test (a renamed metric or label). */
function sample(samples: Map<string, number>, series: string): number {
  const value = samples.get(`caliper_gateway_${series}`);
  if (value === undefined) throw new Error(`no series caliper_gateway_${series} in the scrape`);
  return value;
}

async function readyz(): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${gateway!.url}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const logLines = (msg: string) => captured.lines().filter((line) => line.msg === msg);
const pendingCount = () => statusReport(gateway!.store).byFate.pending;
const noteSent = (platformId: string) => (body: string) => body.includes(platformId);

describe('what an admin sees', () => {
  it('of delivered, skipped, rejected and dead events, and of a replay', { timeout: 30_000 }, async () => {
    // TimeBack refuses the other student's event once: it is dead, and delivered after a replay.
    emulator.addFault({ route: 'events', status: 422, times: 1, when: noteSent(OTHER_STUDENT.platformId), body: { status: 'error', message: 'unprocessable' } });
    const malformed = forumPost();
    delete malformed.id;
    await post([
      forumPost(),
      forumPost({}, OTHER_STUDENT),
      forumPost({}, NEWCOMER),
      { ...forumPost(), type: `${BB}AttendanceEvent` },
      malformed,
    ]);
    await waitFor('every event settled', () => pendingCount() === 0, 20_000);

    let m = await scrape();
    expect(sample(m, 'envelopes_received_total')).toBe(1);
    expect(sample(m, 'events_received_total')).toBe(5);
    expect(sample(m, 'events_stored_total')).toBe(4);
    expect(sample(m, 'events_duplicate_total')).toBe(0);
    expect(sample(m, 'events_rejected_total{reason="invalid-event"}')).toBe(1);
    expect(sample(m, 'events_rejected_total{reason="invalid-output"}')).toBe(0);
    expect(sample(m, 'events_translated_total{rule="forum-post-created"}')).toBe(2);
    expect(sample(m, 'events_skipped_total{reason="no-rule"}')).toBe(1);
    expect(sample(m, 'events_skipped_total{reason="user-not-in-timeback"}')).toBe(1);
    expect(sample(m, 'events_delivered_total')).toBe(1);
    expect(sample(m, 'events_dead_total{reason="http-422"}')).toBe(1);
    expect(sample(m, 'delivery_duration_seconds_count{outcome="delivered"}')).toBe(1);
    expect(sample(m, 'delivery_duration_seconds_count{outcome="dead"}')).toBe(1);
    expect(sample(m, 'queue_depth{stage="translate"}')).toBe(0);
    expect(sample(m, 'queue_depth{stage="deliver"}')).toBe(0);
    expect(sample(m, 'oldest_waiting_age_seconds')).toBe(0);
    expect(sample(m, 'events{fate="delivered"}')).toBe(1);
    expect(sample(m, 'events{fate="dead"}')).toBe(1);
    expect(sample(m, 'events{fate="skipped"}')).toBe(2);
    expect(sample(m, 'events{fate="rejected"}')).toBe(1);
    expect(sample(m, 'roster_cache_misses_total')).toBe(3);
    expect(sample(m, 'roster_cache_entries')).toBe(3);
    expect(sample(m, 'roster_lookups_total{strategy="identifier",outcome="found"}')).toBe(2);
    expect(sample(m, 'roster_lookups_total{strategy="identifier",outcome="not-found"}')).toBe(1);
    expect(sample(m, 'token_refreshes_total{outcome="ok"}')).toBe(1);
    expect(sample(m, 'mapping_reloads_total{result="success"}')).toBe(1);
    expect(sample(m, 'mapping_rules_active')).toBeGreaterThan(0);
    expect(sample(m, 'mapping_change_refused')).toBe(0);
    expect(sample(m, 'delivery_paused')).toBe(0);
    expect(sample(m, 'roster_paused')).toBe(0);
    expect(sample(m, 'http_requests_total{route="/caliper",status="200"}')).toBe(1);

    const dead = logLines('event is dead');
    expect(dead).toEqual([expect.objectContaining({ level: 'warn', reason: 'http-422', status: 422 })]);
    expect(logLines('request').find((line) => line.path === '/caliper')).toMatchObject({ level: 'info', status: 200, events: 5 });

    const status = statusReport(gateway!.store);
    expect(status.byReason).toEqual({
      'dead:http-422': 1,
      'rejected:invalid-event': 1,
      'skipped:no-rule': 1,
      'skipped:user-not-in-timeback': 1,
    });
    expect(status.mappingRules).toMatchObject({ state: 'active' });
    expect((await readyz()).status).toBe(200);

    const replay = await fetch(`${gateway!.url}/admin/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'dead' }),
    });
    expect(await replay.json()).toMatchObject({ requeued: 1 });
    await waitFor('the replayed event delivered', () => statusReport(gateway!.store).byFate.delivered === 2, 20_000);
    m = await scrape();
    expect(sample(m, 'events_delivered_total')).toBe(2);
    expect(sample(m, 'events_dead_total{reason="http-422"}')).toBe(1);
    expect(sample(m, 'events_translated_total{rule="forum-post-created"}')).toBe(3);
    expect(sample(m, 'events{fate="dead"}')).toBe(0);
    // The replayed student was cached: a hit, not another lookup.
    expect(sample(m, 'roster_cache_hits_total')).toBe(1);
    expect(sample(m, 'roster_cache_misses_total')).toBe(3);
  });

  it('of a TimeBack outage: paused delivery, retries by cause, a waiting queue, then recovery', { timeout: 30_000 }, async () => {
    emulator.addFault({ route: 'events', status: 500 });
    await post([forumPost(), forumPost({}, OTHER_STUDENT)]);

    const paused = await waitFor('/readyz to show delivery paused', async () => {
      const answer = await readyz();
      return answer.body.delivery?.state === 'paused' ? answer : undefined;
    });
    expect(paused.status).toBe(200);
    expect(paused.body.delivery.pause).toMatchObject({ problem: 'HTTP 500', nextProbe: expect.any(String) });
    // One line as the pause begins (and one per failed probe after it, a second apart here).
    expect(logLines('TimeBack is failing; delivery paused')[0]).toMatchObject({ level: 'warn', problem: 'HTTP 500' });
    const m = await scrape();
    expect(sample(m, 'delivery_retries_total{cause="http-500"}')).toBeGreaterThan(0);
    expect(sample(m, 'delivery_duration_seconds_count{outcome="retry"}')).toBeGreaterThan(0);
    expect(sample(m, 'queue_depth{stage="deliver"}')).toBe(2);
    expect(sample(m, 'events_delivered_total')).toBe(0);
    expect(sample(m, 'delivery_paused')).toBe(1);
    expect(statusReport(gateway!.store).oldestWaiting?.detail).toMatch(/HTTP 500/);

    emulator.clearFaults();
    await waitFor('both delivered', () => statusReport(gateway!.store).byFate.delivered === 2, 20_000);
    expect(logLines('TimeBack answers again; delivery resumes')).toHaveLength(1);
    expect((await readyz()).body.delivery.state).toBe('running');
    const after = await scrape();
    expect(sample(after, 'queue_depth{stage="deliver"}')).toBe(0);
    expect(sample(after, 'delivery_paused')).toBe(0);
  });

  it('of a roster outage: paused lookups, waiting events, misses flat, then recovery', { timeout: 30_000 }, async () => {
    emulator.addFault({ route: 'roster', status: 503 });
    await post([forumPost(), forumPost({}, OTHER_STUDENT)]);

    const paused = await waitFor('/readyz to show the roster paused', async () => {
      const answer = await readyz();
      return answer.body.roster?.state === 'paused' ? answer : undefined;
    });
    expect(paused.status).toBe(200);
    expect(paused.body.roster).toMatchObject({ problem: 'TimeBack roster failed (HTTP 503)' });
    expect(logLines('TimeBack roster unavailable; affected events wait and are retried')).toHaveLength(1);
    let m = await scrape();
    expect(sample(m, 'roster_failures_total')).toBeGreaterThan(0);
    expect(sample(m, 'roster_lookups_total{strategy="identifier",outcome="unavailable"}')).toBeGreaterThan(0);
    expect(sample(m, 'roster_unanswered_total')).toBeGreaterThan(0);
    // Not a cold cache: no answer came from the roster.
    expect(sample(m, 'roster_cache_misses_total')).toBe(0);
    expect(sample(m, 'queue_depth{stage="translate"}')).toBe(2);
    expect(sample(m, 'roster_paused')).toBe(1);
    // Delivery is not what waits: its own pause stays shut.
    expect(sample(m, 'delivery_paused')).toBe(0);

    emulator.clearFaults();
    await waitFor('both delivered', () => statusReport(gateway!.store).byFate.delivered === 2, 20_000);
    expect(logLines('TimeBack roster answers again')).toHaveLength(1);
    expect((await readyz()).body.roster).toEqual({ state: 'answering' });
    m = await scrape();
    expect(sample(m, 'roster_cache_misses_total')).toBe(2);
    expect(sample(m, 'queue_depth{stage="translate"}')).toBe(0);
    expect(sample(m, 'roster_paused')).toBe(0);
  });

  it('of a rotated secret: refused credentials on the log, /readyz and the metrics', { timeout: 30_000 }, async () => {
    await post([forumPost()]);
    await waitFor('delivered with the first secret', () => statusReport(gateway!.store).byFate.delivered === 1, 20_000);

    // The secret is rotated at TimeBack: its tokens stop working, and it issues no more.
    emulator.addFault({ route: 'token', status: 401, body: { error: 'invalid_client' } });
    emulator.validTokens.clear();
    await post([forumPost()]);

    const refused = await waitFor('/readyz to say the credentials are refused', async () => {
      const answer = await readyz();
      return answer.status === 503 ? answer : undefined;
    });
    expect(refused.body.reasons.join(' ')).toMatch(/TIMEBACK_CLIENT_ID.*TIMEBACK_CLIENT_SECRET/);
    expect(refused.body.delivery).toMatchObject({ state: 'paused', token: 'rejected' });
    const credentials = captured.lines().filter((line) => String(line.msg).startsWith('TimeBack refused the client credentials for client id'));
    expect(credentials[0]).toMatchObject({ level: 'error' });
    expect(logLines('TimeBack will not issue a token; delivery paused (the problem says what to check)')[0]).toMatchObject({ level: 'error' });
    // The refused POST's result is committed with its batch, a moment after the pause.
    const m = await waitFor('the retry counted', async () => {
      const samples = await scrape();
      return samples.has('caliper_gateway_delivery_retries_total{cause="http-401"}') ? samples : undefined;
    });
    expect(sample(m, 'token_refreshes_total{outcome="rejected"}')).toBeGreaterThan(0);
    expect(sample(m, 'delivery_paused')).toBe(1);
    // The POST its old token was refused for waits: retried, never dead.
    expect(sample(m, 'delivery_retries_total{cause="http-401"}')).toBe(1);
    expect(sample(m, 'delivery_duration_seconds_count{outcome="unauthorized"}')).toBe(1);
    expect(sample(m, 'queue_depth{stage="deliver"}')).toBe(1);
    expect(captured.text()).not.toContain(emulator.clientSecret);
  });

  it('of a secret rotated in TIMEBACK_CLIENT_SECRET_FILE: delivery resumes once the file holds the new one, without a restart', { timeout: 30_000 }, async () => {
    // This gateway reads its secret from a file, as a mounted secret.
    await gateway!.close();
    const secretFile = join(temp.dir, 'timeback-client-secret');
    writeFileSync(secretFile, `${emulator.clientSecret}\n`);
    const { TIMEBACK_CLIENT_SECRET: _fromEnv, ...env } = pipelineEnv(temp.dir, emulator);
    gateway = await startGateway(
      parseConfig({ ...env, TIMEBACK_CLIENT_SECRET_FILE: secretFile, ROSTER_MATCH: 'identifier', INGEST_API_KEYS: INGEST_KEY, ADMIN_TOKEN, DELIVERY_BACKOFF_CAP: '1' }),
      { log: captured.log },
    );
    await post([forumPost()]);
    await waitFor('delivered with the first secret', () => statusReport(gateway!.store).byFate.delivered === 1, 20_000);

    // Rotated at TimeBack before the file is updated: refused, as with TIMEBACK_CLIENT_SECRET.
    const oldSecret = emulator.clientSecret;
    emulator.clientSecret = 'rotated-secret-5f6e7d8c';
    emulator.validTokens.clear();
    await post([forumPost()]);
    const refused = await waitFor('/readyz to say the credentials are refused', async () => {
      const answer = await readyz();
      return answer.status === 503 ? answer : undefined;
    });
    expect(refused.body.reasons.join(' ')).toMatch(/TIMEBACK_CLIENT_ID.*TIMEBACK_CLIENT_SECRET_FILE/);

    writeFileSync(secretFile, `${emulator.clientSecret}\n`);
    await waitFor('delivered with the rotated secret', () => statusReport(gateway!.store).byFate.delivered === 2, 20_000);
    await waitFor('/readyz ready again', async () => (await readyz()).status === 200);
    expect(logLines('TIMEBACK_CLIENT_SECRET_FILE holds a new secret; token requests use it from now on')).toHaveLength(1);
    for (const secret of [oldSecret, emulator.clientSecret]) expect(captured.text()).not.toContain(secret);
  });

  it('of an app registered without events.write: the scope named on the log, /readyz and `status`', { timeout: 30_000 }, async () => {
    // TimeBack grants only what the app holds, saying so in the token answer's `scope`.
    await gateway!.close();
    await emulator.close();
    emulator = await startTimebackEmulator({
      users: [{ sourcedId: STUDENT.platformId, identifier: STUDENT.externalId }],
      grantedScopes: [ROSTER_READONLY],
      narrowsScopes: true,
    });
    gateway = await startGateway(
      parseConfig({ ...pipelineEnv(temp.dir, emulator), ROSTER_MATCH: 'identifier', INGEST_API_KEYS: INGEST_KEY, ADMIN_TOKEN, DELIVERY_BACKOFF_CAP: '1' }),
      { log: captured.log },
    );
    await post([forumPost()]);

    const refused = await waitFor('/readyz to say TimeBack will not take events', async () => {
      const answer = await readyz();
      return answer.status === 503 ? answer : undefined;
    });
    const lacks = `TimeBack's token grants "${ROSTER_READONLY}" but not "${EVENTS_WRITE_SCOPE}", which events need (check that the app holds that scope at TimeBack)`;
    // The token is taken (TimeBack judges it), and the answer it lacked a scope in is shown beside it.
    expect(refused.body.delivery).toMatchObject({ token: 'ok', tokenProblem: lacks });
    expect(refused.body.reasons.join(' ')).toContain(`(HTTP 403); check that it is active with the events.write scope (TIMEBACK_SCOPES); ${lacks}`);
    expect(logLines('the TimeBack token lacks the events.write scope; TimeBack may refuse events')).toEqual([
      expect.objectContaining({ level: 'warn', missingScope: EVENTS_WRITE_SCOPE, grantedScopes: [ROSTER_READONLY] }),
    ]);
    // Kept, not dead, with the reason where `status` shows it.
    await waitFor('the refusal recorded on the event', () => statusReport(gateway!.store).oldestWaiting?.detail?.includes(lacks));
    expect(statusReport(gateway!.store).byFate).toMatchObject({ pending: 1, dead: 0 });
    // The token the refused POSTs carried, at least: else the loop below checks nothing.
    expect(emulator.validTokens.size).toBeGreaterThan(0);
    for (const token of emulator.validTokens) expect(captured.text()).not.toContain(token);

    // The admin grants the scope at TimeBack: a probe's new token carries it, no restart.
    emulator.grantedScopes = [EVENTS_WRITE_SCOPE, ROSTER_READONLY];
    await waitFor('delivered once the scope is granted', () => statusReport(gateway!.store).byFate.delivered === 1, 20_000);
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body.delivery).toMatchObject({ state: 'running', token: 'ok' });
    expect(ready.body.delivery.tokenProblem).toBeUndefined();
  });

  it('of a token answer naming a scope in a form we do not know: said, and events still go', { timeout: 30_000 }, async () => {
    emulator.tokenFields = { scope: 'events.write roster.readonly' };
    await post([forumPost()]);
    await waitFor('delivered', () => statusReport(gateway!.store).byFate.delivered === 1, 20_000);
    expect(logLines('the TimeBack token lacks the events.write scope; TimeBack may refuse events')).toHaveLength(1);
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body.delivery).toMatchObject({ state: 'running', token: 'ok', tokenProblem: expect.stringContaining('grants "events.write roster.readonly" but not') });
  });

  it('never of a student: no id of theirs in the log or the metrics through all of it', { timeout: 30_000 }, async () => {
    emulator.addFault({ route: 'events', status: 422, times: 1, when: noteSent(OTHER_STUDENT.platformId) });
    emulator.addFault({ route: 'roster', status: 503, times: 1 });
    await post([forumPost(), forumPost({}, OTHER_STUDENT), forumPost({}, NEWCOMER)]);
    await waitFor('every event settled', () => pendingCount() === 0, 20_000);
    const seen = captured.text() + [...(await scrape()).keys()].join('\n');
    for (const student of [STUDENT, OTHER_STUDENT, NEWCOMER]) {
      for (const id of Object.values(student)) expect(seen).not.toContain(id);
    }
  });
});
