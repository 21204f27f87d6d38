/**
 * The translate stage inside a running gateway: stored Learn events are translated with the
 * active rules, students resolved through the real cached roster resolver against the
 * TimeBack emulator, and the results delivered to it.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { startTimebackEmulator, type TimebackEmulator } from '../../src/dev/timeback-emulator.ts';
import { validateCaliperEvent } from '../../src/mapping/caliper-validator.ts';
import { UNTIL_CONFIGURED } from '../../src/store/schema.ts';
import { startGateway, type Gateway } from '../../src/server.ts';
import { captureLog, type TempDir } from '../helpers/identity-harness.ts';
import { pipelineEnv, pipelineFolder } from '../helpers/pipeline-gateway.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { BB, envelope, forumPost, gradeEvent, STUDENT } from './learn-events.ts';
import { insertStoredEvents, rowsBySeq } from './stored-events.ts';

const INGEST_KEY = 'translate-pipeline-test-key';

let temp: TempDir;
let emulator: TimebackEmulator;
let gateway: Gateway | undefined;

beforeEach(async () => {
  temp = pipelineFolder('translate-pipeline');
  emulator = await startTimebackEmulator({ users: [{ sourcedId: STUDENT.platformId, identifier: STUDENT.externalId }] });
});

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  await emulator.close();
  temp.remove();
});

async function start(env: Record<string, string> = {}): Promise<Gateway> {
  const config = parseConfig({ ...pipelineEnv(temp.dir, emulator), ROSTER_MATCH: 'identifier', INGEST_API_KEYS: INGEST_KEY, ...env });
  gateway = await startGateway(config, { log: captureLog().log });
  return gateway;
}

describe('translation in the running gateway', () => {
  it('translates what Learn posts, resolves students through the roster, and TimeBack receives valid 1.2 events', { timeout: 20_000 }, async () => {
    const gw = await start();
    const posted = envelope([forumPost(), gradeEvent(), forumPost({ type: `${BB}WikiEvent` }), forumPost({}, { ...STUDENT, externalId: 'not-rostered' })]);
    const response = await fetch(`${gw.url}/caliper`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(posted),
    });
    expect(response.status).toBe(200);
    // Intake wakes translation, translation wakes delivery: no poll interval to wait for.
    await waitFor('both events received', () => emulator.received.length === 2, 15_000);
    for (const event of emulator.received) {
      expect(validateCaliperEvent(event)).toEqual({ ok: true });
      expect(JSON.stringify(event)).toContain(`urn:uuid:${STUDENT.platformId}`);
    }
    await waitFor('every fate recorded', () => [...rowsBySeq(gw.store.sqlite).values()].every((row) => row.fate !== 'pending'));
    const rows = [...rowsBySeq(gw.store.sqlite).values()];
    expect(rows.map((row) => [row.fate, row.reason, row.rule])).toEqual([
      ['delivered', null, 'forum-post-created'],
      ['delivered', null, 'grade-graded'],
      ['skipped', 'no-rule', null],
      ['skipped', 'user-not-in-timeback', 'forum-post-created'],
    ]);

    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/caliper_gateway_events_translated_total\{rule="forum-post-created"\} 1/);
    expect(metrics).toMatch(/caliper_gateway_events_skipped_total\{reason="no-rule"\} 1/);
    expect(metrics).toMatch(/caliper_gateway_mapping_reloads_total\{result="success"\} 1/);
    const ready = (await (await fetch(`${gw.url}/readyz`)).json()) as { translation: unknown };
    expect(ready.translation).toEqual({ state: 'running', rules: 7 });
  });

  it('keeps events pending while the mapping rules do not pass, and says why on /readyz', { timeout: 20_000 }, async () => {
    writeFileSync(join(temp.dir, 'mappings', 'broken.yaml'), 'rules:\n  - id: Broken\n');
    const gw = await start();
    const [seq] = insertStoredEvents(gw.store.sqlite, [forumPost()], { receivedAt: Date.now() });
    const readyz = await fetch(`${gw.url}/readyz`);
    const ready = (await readyz.json()) as { reasons: string[]; translation: { state: string; problems: string[] } };
    expect(ready.translation.state).toBe('waiting-for-rules');
    expect(readyz.status).toBe(503);
    expect(ready.reasons).toEqual([expect.stringMatching(/^translation waits for mapping rules .*broken\.yaml:2/)]);
    expect(ready.translation.problems[0]).toMatch(/broken\.yaml:2: rule "Broken": id: rule ids are kebab-case/);
    expect(rowsBySeq(gw.store.sqlite).get(seq!)).toMatchObject({ fate: 'pending', stage: 'translate' });
  });

  it('keeps translating with the rules it had after a refused change, and /readyz shows the refusal until a change passes', { timeout: 20_000 }, async () => {
    const gw = await start();
    type Ready = { ready: boolean; translation: { state: string; rules: number; refusedChange?: { at: string; problems: string[] } } };
    const readyz = async () => (await (await fetch(`${gw.url}/readyz`)).json()) as Ready;
    writeFileSync(join(temp.dir, 'mappings', 'forum-event.yml'), 'rules: []\n');

    let ready = await readyz();
    await waitFor('the refused change on /readyz', async () => (ready = await readyz()).translation.refusedChange !== undefined);
    expect(ready).toMatchObject({ ready: true, translation: { state: 'running', rules: 7 } });
    expect(ready.translation.refusedChange).toEqual({
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      problems: [expect.stringMatching(/forum-event\.yml: not read: only files ending in \.yaml hold rules; rename it forum-event\.yaml/)],
    });
    // The rules that were active still translate.
    const response = await fetch(`${gw.url}/caliper`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(envelope([forumPost()])),
    });
    expect(response.status).toBe(200);
    await waitFor('the event delivered', () => [...rowsBySeq(gw.store.sqlite).values()].every((row) => row.fate === 'delivered'), 15_000);
    expect(emulator.received).toHaveLength(1);
    expect([...rowsBySeq(gw.store.sqlite).values()].map((row) => [row.fate, row.rule])).toEqual([['delivered', 'forum-post-created']]);

    rmSync(join(temp.dir, 'mappings', 'forum-event.yml'));
    await waitFor('the refusal cleared', async () => (ready = await readyz()).translation.refusedChange === undefined);
    expect(ready.translation).toEqual({ state: 'running', rules: 7 });
  });

  it.each([
    ['TIMEBACK_APP_ID', 'waiting-for-app-id', 'TIMEBACK_APP_ID'],
    // Either variable would set the secret: the reason names both.
    ['TIMEBACK_CLIENT_SECRET', 'waiting-for-credentials', 'TIMEBACK_CLIENT_SECRET (or TIMEBACK_CLIENT_SECRET_FILE)'],
  ])('without %s, settles what needs no set-up and holds the events to send', { timeout: 20_000 }, async (variable, state, named) => {
    const gw = await start({ [variable]: '' });
    const [held, noRule] = insertStoredEvents(gw.store.sqlite, [forumPost(), forumPost({ type: `${BB}WikiEvent` })], { receivedAt: Date.now() });
    const ready = (await (await fetch(`${gw.url}/readyz`)).json()) as { ready: boolean; reasons: string[]; translation: { state: string } };
    expect(ready.translation.state).toBe(state);
    expect(ready.reasons).toContain(`delivery waits for ${named}`);
    await waitFor('the batch', () => rowsBySeq(gw.store.sqlite).get(noRule!)!.fate === 'skipped');
    expect(rowsBySeq(gw.store.sqlite).get(noRule!)).toMatchObject({ reason: 'no-rule' });
    expect(rowsBySeq(gw.store.sqlite).get(held!)).toMatchObject({
      fate: 'pending',
      stage: 'translate',
      attempts: 0,
      nextAttemptAt: UNTIL_CONFIGURED,
      detail: expect.stringContaining(named),
    });
  });
});
