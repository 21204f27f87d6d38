/**
 * Identity inside the running gateway: Learn envelopes POSTed to /caliper, students looked
 * up in the emulator's roster, events delivered to it. A roster outage must leave events
 * waiting, never skipped or lost; a student rostered later is recovered by a replay.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { startTimebackEmulator, type TimebackEmulator } from '../../src/dev/timeback-emulator.ts';
import { startGateway, type Gateway } from '../../src/server.ts';
import { UNTIL_CONFIGURED } from '../../src/store/schema.ts';
import { captureLog, type TempDir } from '../helpers/identity-harness.ts';
import { pipelineEnv, pipelineFolder } from '../helpers/pipeline-gateway.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { envelope, forumPost, gradeEvent, NEWCOMER, OTHER_STUDENT, STUDENT } from '../mapping/learn-events.ts';
import { rowsBySeq } from '../mapping/stored-events.ts';

const INGEST_KEY = 'identity-pipeline-test-key';
const ADMIN_TOKEN = 'identity-pipeline-admin-token';

let temp: TempDir;
let emulator: TimebackEmulator;
let gateway: Gateway | undefined;

beforeEach(async () => {
  temp = pipelineFolder('identity-pipeline');
  emulator = await startTimebackEmulator({
    users: [
      { sourcedId: STUDENT.platformId, identifier: STUDENT.externalId },
      { sourcedId: OTHER_STUDENT.platformId, identifier: OTHER_STUDENT.externalId },
    ],
  });
  gateway = await startGateway(gatewayConfig(), { log: captureLog().log });
});

function gatewayConfig(env: Record<string, string | undefined> = {}) {
  return parseConfig({ ...pipelineEnv(temp.dir, emulator), ROSTER_MATCH: 'sourcedId,identifier', INGEST_API_KEYS: INGEST_KEY, ADMIN_TOKEN, ...env });
}

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  await emulator.close();
  temp.remove();
});

async function post(data: unknown[]) {
  const res = await fetch(`${gateway!.url}/caliper`, {
    method: 'POST',
    headers: { authorization: `Bearer ${INGEST_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(envelope(data)),
  });
  expect(res.status).toBe(200);
}

const rows = () => [...rowsBySeq(gateway!.store.sqlite).values()];
const settled = () => rows().length > 0 && rows().every((row) => row.fate !== 'pending');

describe('identity in the running gateway', () => {
  it('Should keep events waiting through a roster outage and deliver every one after it', { timeout: 30_000 }, async () => {
    // The first lookup of each of the three students fails (an outage ends the strategy list).
    emulator.addFault({ route: 'roster', status: 503, times: 3 });
    await post([
      forumPost(),
      gradeEvent(),
      forumPost({}, OTHER_STUDENT),
      gradeEvent({}, OTHER_STUDENT),
      forumPost({}, NEWCOMER),
    ]);

    await waitFor('every event to reach its fate', settled, 20_000);
    const fates = rows().map((row) => [row.studentId, row.fate, row.reason]);
    expect(fates).toEqual([
      [STUDENT.externalId, 'delivered', null],
      [STUDENT.externalId, 'delivered', null],
      [OTHER_STUDENT.externalId, 'delivered', null],
      [OTHER_STUDENT.externalId, 'delivered', null],
      [NEWCOMER.externalId, 'skipped', 'user-not-in-timeback'],
    ]);
    expect(emulator.received).toHaveLength(4);

    const metrics = await (await fetch(`${gateway!.url}/metrics`)).text();
    expect(metrics).toMatch(/^caliper_gateway_roster_failures_total [1-9]/m);
    expect(metrics).toMatch(/^caliper_gateway_roster_cache_entries 3$/m);
  });

  it('Should show a roster outage on /readyz, still ready, and say when it answers again', { timeout: 30_000 }, async () => {
    await gateway!.close();
    gateway = await startGateway(gatewayConfig({ DELIVERY_BACKOFF_CAP: '1' }), { log: captureLog().log });
    emulator.addFault({ route: 'roster', status: 500 });
    await post([forumPost(), forumPost({}, OTHER_STUDENT), forumPost({}, NEWCOMER)]);

    const readyz = async () => {
      const res = await fetch(`${gateway!.url}/readyz`);
      return { status: res.status, body: (await res.json()) as { roster?: { state: string; problem?: string } } };
    };
    const down = await waitFor('/readyz to show the roster paused', async () => {
      const answer = await readyz();
      return answer.body.roster?.state === 'paused' ? answer : undefined;
    });
    // Learn's events are still taken, and cached students still flow: not a reason to be unready.
    expect(down.status).toBe(200);
    expect(down.body.roster).toMatchObject({ problem: 'TimeBack roster failed (HTTP 500)' });

    emulator.clearFaults();
    await waitFor('every event to reach its fate', settled, 20_000);
    expect((await readyz()).body.roster).toEqual({ state: 'answering' });
  });

  it('Should say on /readyz that the roster refuses the app, and deliver once it answers', { timeout: 30_000 }, async () => {
    await gateway!.close();
    gateway = await startGateway(gatewayConfig({ DELIVERY_BACKOFF_CAP: '1' }), { log: captureLog().log });
    // A draft app without the roster.readonly scope: every lookup is refused, whoever the student.
    emulator.addFault({ route: 'roster', status: 403 });
    await post([forumPost()]);

    const refused = await waitFor('/readyz to say why', async () => {
      const res = await fetch(`${gateway!.url}/readyz`);
      return res.status === 503 ? ((await res.json()) as { reasons: string[] }) : undefined;
    });
    expect(refused.reasons).toEqual([
      "TimeBack's roster will not answer: TimeBack refused the roster lookup (HTTP 403); the app needs the roster.readonly scope (TIMEBACK_SCOPES); events wait until it does",
    ]);
    expect(rows().map((row) => [row.fate, row.stage])).toEqual([['pending', 'translate']]);

    emulator.clearFaults();
    await waitFor('the event delivered', () => rows().every((row) => row.fate === 'delivered'), 20_000);
    expect((await fetch(`${gateway!.url}/readyz`)).status).toBe(200);
  });

  it('Should say on /readyz that the roster redirects (TIMEBACK_BASE_URL), as delivery does, and deliver once it answers', { timeout: 30_000 }, async () => {
    await gateway!.close();
    gateway = await startGateway(gatewayConfig({ DELIVERY_BACKOFF_CAP: '1' }), { log: captureLog().log });
    // An http→https hop in front of the roster: every lookup is redirected, whoever the student.
    emulator.addFault({ route: 'roster', status: 301, location: 'https://timeback.school.test/rostering/1.0/users' });
    await post([forumPost()]);

    const redirected = await waitFor('/readyz to say why', async () => {
      const res = await fetch(`${gateway!.url}/readyz`);
      return res.status === 503 ? ((await res.json()) as { reasons: string[] }) : undefined;
    });
    expect(redirected.reasons).toEqual([
      "TimeBack's roster will not answer: TimeBack's roster answered with a redirect (HTTP 301), which is not followed; check TIMEBACK_BASE_URL (https, the right host); events wait until it does",
    ]);
    expect(rows().map((row) => [row.fate, row.stage])).toEqual([['pending', 'translate']]);

    emulator.clearFaults();
    await waitFor('the event delivered', () => rows().every((row) => row.fate === 'delivered'), 20_000);
    expect((await fetch(`${gateway!.url}/readyz`)).status).toBe(200);
  });

  it('Should keep events waiting past DELIVERY_MAX_AGE until credentials are set, then deliver them', { timeout: 30_000 }, async () => {
    await gateway!.close();
    const unconfigured = { TIMEBACK_CLIENT_ID: undefined, TIMEBACK_CLIENT_SECRET: undefined, DELIVERY_MAX_AGE: '1', DELIVERY_BACKOFF_CAP: '1' };
    gateway = await startGateway(gatewayConfig(unconfigured), { log: captureLog().log });
    const asked = emulator.requests.length;
    await post([forumPost(), gradeEvent({}, OTHER_STUDENT)]);
    // Translation has looked at both and holds them for the set-up (not merely not got to them yet).
    await waitFor('both events held for the set-up', () => rows().length === 2 && rows().every((row) => row.nextAttemptAt === UNTIL_CONFIGURED));
    // Twice the age budget after that: an event counted as tried would be dead by now.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(rows().map((row) => [row.fate, row.stage, row.attempts, row.nextAttemptAt])).toEqual([
      ['pending', 'translate', 0, UNTIL_CONFIGURED],
      ['pending', 'translate', 0, UNTIL_CONFIGURED],
    ]);
    expect(emulator.requests).toHaveLength(asked);

    await gateway!.close();
    gateway = await startGateway(gatewayConfig({ DELIVERY_MAX_AGE: '1' }), { log: captureLog().log });
    await waitFor('both events delivered', () => rows().every((row) => row.fate === 'delivered'), 20_000);
    expect(emulator.received).toHaveLength(2);
  });

  it('Should recover a student rostered later when their skipped events are replayed', { timeout: 30_000 }, async () => {
    await post([forumPost({}, NEWCOMER), gradeEvent({}, NEWCOMER)]);
    await waitFor('the skips', settled, 20_000);
    expect(rows().map((row) => row.reason)).toEqual(['user-not-in-timeback', 'user-not-in-timeback']);

    emulator.users.set(NEWCOMER.platformId, { sourcedId: NEWCOMER.platformId, identifier: NEWCOMER.externalId });
    const replay = await fetch(`${gateway!.url}/admin/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'skipped', reason: 'user-not-in-timeback' }),
    });
    expect(replay.status).toBe(200);

    await waitFor('both events delivered', () => rows().every((row) => row.fate === 'delivered'), 20_000);
    expect(rows().map((row) => row.platformId)).toEqual([NEWCOMER.platformId, NEWCOMER.platformId]);
    expect(emulator.received).toHaveLength(2);
  });
});
