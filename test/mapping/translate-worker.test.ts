import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config.ts';
import { staticIdentity, type IdentityAnswer, type IdentityResolver } from '../../src/identity/identity-resolver.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { loadRules } from '../../src/mapping/rule-loader.ts';
import type { RuleSet } from '../../src/mapping/rule-set.ts';
import { createTranslateWorker, TRANSLATE_SQL, type TranslateWorker, type TranslateWorkerDeps } from '../../src/mapping/translate-worker.ts';
import { UNTIL_CONFIGURED } from '../../src/store/schema.ts';
import { WAITING_FOR_APP_ID } from '../../src/mapping/translate.ts';
import { validateCaliperEvent } from '../../src/mapping/caliper-validator.ts';
import { replayEvents } from '../../src/store/replay.ts';
import { captureLog, manualClock, type CapturedLog } from '../helpers/identity-harness.ts';
import { metricValue } from '../helpers/metric-value.ts';
import { tempStore } from '../helpers/temp-store.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { APP_ID, BB, OTHER_STUDENT, STUDENT, USERS, forumPost, gradeEvent, oneRule, person } from './learn-events.ts';
import { insertStoredEvents, rowsBySeq } from './stored-events.ts';
import { insertInputs, replaceInput } from '../helpers/stored-inputs.ts';
import { createInputReader } from '../../src/store/input-batches.ts';
import { startWriterThread } from '../../src/store/writer-thread.ts';
import { createStoreWriter, type StoreWriter } from '../../src/store/writer.ts';
import { createLogger } from '../../src/log.ts';

const RULES_DIR = fileURLToPath(new URL('./rule-sets/blackboard', import.meta.url));
const NOW = Date.UTC(2024, 2, 6, 12, 0, 0);

let rules: RuleSet;
beforeAll(async () => {
  rules = await loadRules(RULES_DIR);
});

let db: ReturnType<typeof tempStore>;
let config: Config;
let metrics: Metrics;
let logs: CapturedLog;
let worker: TranslateWorker | undefined;
const clock = manualClock(NOW);

beforeEach(() => {
  db = tempStore('translate-worker-');
  config = parseConfig({ DB_PATH: db.file, TIMEBACK_APP_ID: APP_ID, LOG_LEVEL: 'silent', DELIVERY_MAX_AGE: '3600' });
  metrics = createMetrics();
  logs = captureLog();
  clock.set(NOW);
});

afterEach(async () => {
  await worker?.stop(Date.now() + 1_000);
  worker = undefined;
  db.cleanup();
});

function startWorker(overrides: Partial<TranslateWorkerDeps> = {}): TranslateWorker {
  worker = createTranslateWorker({
    config,
    store: db.store,
    log: logs.log,
    metrics,
    identity: staticIdentity(USERS),
    rules: () => rules,
    now: clock.now,
    random: () => 0.5,
    ...overrides,
  });
  worker.start();
  return worker;
}

const rows = () => rowsBySeq(db.store.sqlite);
/** A counter's value summed over all its labels. */
const seriesTotal = async (metric: { get(): Promise<{ values: Array<{ value: number }> }> }) =>
  (await metric.get()).values.reduce((sum, value) => sum + value.value, 0);
const translatedTotal = () => seriesTotal(metrics.eventsTranslated);
const pendingTranslate = () => [...rows().values()].filter((row) => row.fate === 'pending' && row.stage === 'translate');
const settled = () => pendingTranslate().length === 0;

/** A resolver whose answers the test releases by hand. */
function heldResolver(answer: (externalId: string) => IdentityAnswer) {
  const waiting: Array<() => void> = [];
  const calls: string[] = [];
  const resolver: IdentityResolver = {
    resolve(externalId) {
      calls.push(externalId);
      return new Promise((resolve) => waiting.push(() => resolve(answer(externalId))));
    },
  };
  return { resolver, calls, release: () => waiting.splice(0).forEach((go) => go()), waiting };
}

describe('the translate worker', () => {
  it('moves every stored event to its fate in one pass, on a real SQLite file', async () => {
    const noExternalId = person();
    delete (noExternalId.extensions as Record<string, unknown>)['bb:user.externalId'];
    const stranger = { ...STUDENT, externalId: 'nobody42' };
    const seqs = insertStoredEvents(
      db.store.sqlite,
      [
        forumPost(),
        gradeEvent(),
        forumPost({ type: `${BB}WikiEvent` }),
        forumPost({ type: `${BB}CourseGroupEvent` }),
        forumPost({ actor: noExternalId, membership: undefined }),
        forumPost({}, stranger),
        forumPost({ generated: { id: 'http://insecure.example/post/1', type: `${BB}ForumPost` }, action: 'Modified' }),
      ],
      { receivedAt: NOW - 1_000 },
    );
    let translated = 0;
    startWorker({ onTranslated: () => translated++ });
    await waitFor('every event translated', settled);
    const byseq = rows();

    const delivered = byseq.get(seqs[0]!)!;
    expect(delivered).toMatchObject({
      fate: 'pending',
      stage: 'deliver',
      reason: null,
      rule: 'forum-post-created',
      studentId: STUDENT.externalId,
      platformId: STUDENT.platformId,
      attempts: 0,
      nextAttemptAt: NOW,
      firstAttemptAt: null,
    });
    const output = JSON.parse(delivered.output!);
    expect(output.id).toBe(delivered.outputId);
    expect(validateCaliperEvent(output)).toEqual({ ok: true });
    expect(byseq.get(seqs[1]!)).toMatchObject({ stage: 'deliver', rule: 'grade-graded' });

    expect(byseq.get(seqs[2]!)).toMatchObject({ fate: 'skipped', stage: null, reason: 'no-rule', rule: null, output: null, nextAttemptAt: null });
    expect(byseq.get(seqs[3]!)).toMatchObject({ fate: 'skipped', reason: 'rule-skips', rule: 'course-group-administration', detail: expect.stringMatching(/instructor administration/) });
    expect(byseq.get(seqs[4]!)).toMatchObject({ fate: 'skipped', reason: 'no-user-id', rule: 'forum-post-created', studentId: null });
    expect(byseq.get(seqs[5]!)).toMatchObject({ fate: 'skipped', reason: 'user-not-in-timeback', rule: 'forum-post-created', studentId: 'nobody42' });
    expect(byseq.get(seqs[6]!)).toMatchObject({
      fate: 'rejected',
      reason: 'invalid-output',
      rule: 'forum-post-modified',
      detail: 'rule forum-post-modified: object: required: every event has an object',
    });

    expect(translated).toBe(1);
    expect(await metricValue(metrics.eventsTranslated, { rule: 'forum-post-created' })).toBe(1);
    expect(await metricValue(metrics.eventsTranslated, { rule: 'grade-graded' })).toBe(1);
    expect(await metricValue(metrics.eventsSkipped, { reason: 'no-rule' })).toBe(1);
    expect(await metricValue(metrics.eventsSkipped, { reason: 'user-not-in-timeback' })).toBe(1);
    expect(await metricValue(metrics.eventsRejected, { reason: 'invalid-output' })).toBe(1);
  });

  it('shows every reason it can skip, reject or give up for from the start, at 0', async () => {
    startWorker();
    const text = await metrics.render();
    for (const reason of ['no-rule', 'rule-skips', 'no-user-id', 'user-not-in-timeback']) {
      expect(text).toContain(`caliper_gateway_events_skipped_total{reason="${reason}"} 0`);
    }
    for (const reason of ['invalid-event', 'invalid-output']) {
      expect(text).toContain(`caliper_gateway_events_rejected_total{reason="${reason}"} 0`);
    }
    expect(text).toContain('caliper_gateway_events_dead_total{reason="roster-unavailable"} 0');
  });

  it('takes rows stored without a time, and leaves rows not yet due alone', async () => {
    const [untimed, future] = insertStoredEvents(db.store.sqlite, [forumPost()], { receivedAt: NOW, nextAttemptAt: null }).concat(
      insertStoredEvents(db.store.sqlite, [forumPost()], { receivedAt: NOW, nextAttemptAt: NOW + 60_000 }),
    );
    startWorker();
    await waitFor('the untimed row', () => rows().get(untimed!)!.stage === 'deliver');
    expect(rows().get(future!)).toMatchObject({ fate: 'pending', stage: 'translate' });
  });

  it('retries only the students the roster cannot answer for, with capped full-jitter backoff and Retry-After', async () => {
    const [unavailable, fine, slowDown] = insertStoredEvents(
      db.store.sqlite,
      [forumPost({}, OTHER_STUDENT), forumPost(), forumPost({}, { ...STUDENT, externalId: 'busy7' })],
      { receivedAt: NOW - 1_000 },
    );
    const answers: Record<string, IdentityAnswer> = {
      [OTHER_STUDENT.externalId]: { status: 'unavailable', detail: 'roster answered 503' },
      [STUDENT.externalId]: { status: 'found', platformId: STUDENT.platformId },
      busy7: { status: 'unavailable', detail: 'roster answered 429', retryAfterMs: 120_000 },
    };
    startWorker({ identity: { resolve: async (id) => answers[id]! } });
    await waitFor('the batch', () => rows().get(fine!)!.stage === 'deliver');
    // First failure: full jitter in [0, 1 s); the injected random 0.5 makes it 500 ms.
    expect(rows().get(unavailable!)).toMatchObject({
      fate: 'pending',
      stage: 'translate',
      attempts: 1,
      firstAttemptAt: NOW,
      nextAttemptAt: NOW + 500,
      rule: 'forum-post-created',
      studentId: OTHER_STUDENT.externalId,
      detail: `identity attempt 1 failed (roster answered 503); next at ${new Date(NOW + 500).toISOString()}`,
    });
    expect(rows().get(slowDown!)).toMatchObject({ attempts: 1, nextAttemptAt: NOW + 120_000 });
  });

  it('backs off further with each failure, and gives up after DELIVERY_MAX_AGE as roster-unavailable', async () => {
    const [young, old] = insertStoredEvents(db.store.sqlite, [forumPost({}, OTHER_STUDENT)], { receivedAt: NOW - 10_000, attempts: 3, firstAttemptAt: NOW - 10_000 }).concat(
      insertStoredEvents(db.store.sqlite, [forumPost({}, OTHER_STUDENT)], { receivedAt: NOW - 7_200_000, attempts: 9, firstAttemptAt: NOW - 3_600_000 }),
    );
    startWorker({ identity: { resolve: async () => ({ status: 'unavailable', detail: 'roster unreachable' }) } });
    await waitFor('both rows', () => rows().get(old!)!.fate === 'dead' && rows().get(young!)!.attempts === 4);
    // Fourth failure: uniform in [0, 8 s) → 4 s with random 0.5.
    expect(rows().get(young!)).toMatchObject({ fate: 'pending', nextAttemptAt: NOW + 4_000, firstAttemptAt: NOW - 10_000 });
    expect(rows().get(old!)).toMatchObject({
      fate: 'dead',
      stage: null,
      reason: 'roster-unavailable',
      rule: 'forum-post-created',
      studentId: OTHER_STUDENT.externalId,
      detail: `the roster could not say who ${OTHER_STUDENT.externalId} is within DELIVERY_MAX_AGE (3600 s) after 10 attempts; last: roster unreachable`,
    });
    expect(await metricValue(metrics.eventsDead, { reason: 'roster-unavailable' })).toBe(1);
    // The log says so, as delivery says of its dead events: the event, the roster's last answer, never the student.
    const dead = logs.lines().filter((line) => String(line.msg).startsWith('event is dead'));
    expect(dead).toEqual([
      expect.objectContaining({
        level: 'warn',
        seq: old,
        reason: 'roster-unavailable',
        attempts: 10,
        problem: 'roster unreachable',
        msg: 'event is dead: the roster could not say who its student is within DELIVERY_MAX_AGE',
      }),
    ]);
    expect(logs.text()).not.toContain(OTHER_STUDENT.externalId);
  });

  it('holds an event the gateway could not look up for its own credentials, without spending its age', async () => {
    // Already past DELIVERY_MAX_AGE (3600 s): an ordinary failure now would make it dead.
    const [seq] = insertStoredEvents(db.store.sqlite, [forumPost()], { receivedAt: NOW - 7_200_000, attempts: 9, firstAttemptAt: NOW - 3_600_000 });
    const refused = 'TimeBack refused the client credentials for client id "x"';
    startWorker({ identity: { resolve: async () => ({ status: 'unavailable', detail: refused, held: true }) } });
    await waitFor('the hold', () => rows().get(seq!)!.detail !== null);
    expect(rows().get(seq!)).toMatchObject({
      fate: 'pending',
      stage: 'translate',
      attempts: 9,
      firstAttemptAt: NOW - 3_600_000,
      // Looked at again after the backoff cap (300 s by default).
      nextAttemptAt: NOW + 300_000,
      detail: `waiting: ${refused}`,
    });
    expect(await metricValue(metrics.eventsDead, { reason: 'roster-unavailable' })).toBe(0);
  });

  it('while credentials are unset, settles what needs no student and holds the rest untried until they are', async () => {
    const missing = 'roster lookups wait for TIMEBACK_CLIENT_SECRET';
    let waitingFor: string | undefined = missing;
    // Past DELIVERY_MAX_AGE (3600 s) already: an ordinary failure now would make it dead.
    const [held, noRule] = insertStoredEvents(db.store.sqlite, [forumPost(), forumPost({ type: `${BB}WikiEvent` })], { receivedAt: NOW - 7_200_000 });
    // As the roster resolver answers without credentials.
    let lookups = 0;
    const identity: IdentityResolver = {
      resolve: async () =>
        ++lookups && waitingFor
          ? { status: 'unavailable', detail: missing, held: true, untilConfigured: true }
          : { status: 'found', platformId: STUDENT.platformId },
      waitingFor: () => waitingFor,
    };
    startWorker({ identity });
    await waitFor('the batch', () => rows().get(noRule!)!.fate === 'skipped');
    expect(rows().get(noRule!)).toMatchObject({ reason: 'no-rule' });
    expect(rows().get(held!)).toMatchObject({
      fate: 'pending',
      stage: 'translate',
      attempts: 0,
      firstAttemptAt: null,
      nextAttemptAt: UNTIL_CONFIGURED,
      detail: `waiting: ${missing}`,
    });
    expect(logs.text()).toContain(`holds the events to send: ${missing}`);
    // Not due again while nothing changed, however often it is woken or time passes.
    worker!.wake();
    clock.set(NOW + 86_400_000);
    worker!.wake();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(lookups).toBe(1);

    waitingFor = undefined;
    worker!.wake();
    await waitFor('translation', () => rows().get(held!)!.stage === 'deliver');
    expect(rows().get(held!)).toMatchObject({ fate: 'pending', attempts: 0, rule: 'forum-post-created' });
  });

  it('translates due retries when their time comes, without being woken', async () => {
    const [seq] = insertStoredEvents(db.store.sqlite, [forumPost()], { receivedAt: Date.now() });
    let calls = 0;
    startWorker({
      now: Date.now,
      tuning: { backoff: { baseMs: 40, capMs: 40 } },
      identity: {
        resolve: async () => (++calls === 1 ? { status: 'unavailable', detail: 'blip' } : { status: 'found', platformId: STUDENT.platformId }),
      },
    });
    await waitFor('the retry', () => rows().get(seq!)!.stage === 'deliver');
    expect(calls).toBe(2);
  });

  it('rejects an event whose stored input is missing or not JSON, and translates the others', async () => {
    const [missing, damaged, fine] = insertStoredEvents(db.store.sqlite, [forumPost(), forumPost(), forumPost()], { receivedAt: NOW - 1_000 });
    const { sqlite } = db.store;
    replaceInput(sqlite, damaged!, '{"cut off');
    const others = createInputReader(sqlite)([damaged!, fine!]);
    sqlite.prepare('DELETE FROM event_input_batches').run();
    insertInputs(sqlite, 1, [damaged!, fine!], [others.get(damaged!)!, others.get(fine!)!]);
    startWorker();
    await waitFor('every event translated', settled);
    const byseq = rows();
    expect(byseq.get(missing!)).toMatchObject({ fate: 'rejected', reason: 'invalid-event', detail: 'the stored event is missing' });
    expect(byseq.get(damaged!)).toMatchObject({ fate: 'rejected', reason: 'invalid-event', detail: 'the stored event is not JSON' });
    expect(byseq.get(fine!)).toMatchObject({ fate: 'pending', stage: 'deliver', rule: 'forum-post-created' });
  });

  it('translates events spread over many input batches, a few batches a claim', async () => {
    const seqs = Array.from({ length: 12 }, () => insertStoredEvents(db.store.sqlite, [forumPost()], { receivedAt: NOW - 1_000 })[0]!);
    startWorker({ tuning: { inputBatchesPerClaim: 2 } });
    await waitFor('every event translated', settled);
    const byseq = rows();
    expect(seqs.map((seq) => byseq.get(seq)?.stage)).toEqual(seqs.map(() => 'deliver'));
  });

  it('is woken by newly stored events', async () => {
    // A poll longer than the test may run: only wake() can pick the event up in time (with
    // the default 2 s poll the test passed with wake() doing nothing).
    startWorker({ now: Date.now, tuning: { pollIntervalMs: 60_000 } });
    const [seq] = insertStoredEvents(db.store.sqlite, [forumPost()], { receivedAt: Date.now() });
    worker!.wake();
    await waitFor('the new event', () => rows().get(seq!)!.stage === 'deliver');
  });

  it('does not let one slow student hold up the others', async () => {
    const slow = heldResolver(() => ({ status: 'found', platformId: OTHER_STUDENT.platformId }));
    const identity: IdentityResolver = {
      resolve: (id) => (id === OTHER_STUDENT.externalId ? slow.resolver.resolve(id) : Promise.resolve({ status: 'found', platformId: STUDENT.platformId })),
    };
    const [held] = insertStoredEvents(db.store.sqlite, [forumPost({}, OTHER_STUDENT)], { receivedAt: NOW - 1_000 });
    startWorker({ identity, tuning: { batchSize: 1 } });
    await waitFor('the held lookup', () => slow.calls.length === 1);
    const others = insertStoredEvents(db.store.sqlite, [forumPost(), forumPost()], { receivedAt: NOW - 500 });
    worker!.wake();
    await waitFor('the other students', () => others.every((seq) => rows().get(seq)!.stage === 'deliver'));
    expect(rows().get(held!)!.stage).toBe('translate');
    slow.release();
    await waitFor('the held student', () => rows().get(held!)!.stage === 'deliver');
  });

  it('does not overwrite a row that changed hands while it was being translated', async () => {
    const held = heldResolver(() => ({ status: 'found', platformId: STUDENT.platformId }));
    const [seq] = insertStoredEvents(db.store.sqlite, [forumPost()], { receivedAt: NOW - 1_000 });
    startWorker({ identity: held.resolver });
    await waitFor('the lookup', () => held.calls.length === 1);
    db.store.sqlite.prepare(`UPDATE events SET fate = 'skipped', stage = NULL, reason = 'operator' WHERE seq = ?`).run(seq);
    held.release();
    await worker!.stop(Date.now() + 5_000);
    expect(rows().get(seq!)).toMatchObject({ fate: 'skipped', reason: 'operator', output: null });
    // Nothing was translated into the database: nothing is counted as translated.
    expect(await translatedTotal()).toBe(0);
  });

  it('without TIMEBACK_APP_ID, settles what it can, holds the events to send, says so once, and sends them once it is set', async () => {
    config = parseConfig({ DB_PATH: db.file, LOG_LEVEL: 'silent', DELIVERY_MAX_AGE: '3600' });
    const [held, stranger, noRule] = insertStoredEvents(
      db.store.sqlite,
      [forumPost(), forumPost({}, { ...STUDENT, externalId: 'nobody42' }), forumPost({ type: `${BB}WikiEvent` })],
      { receivedAt: NOW },
    );
    startWorker();
    worker!.wake();
    await waitFor('the batch', () => rows().get(noRule!)!.fate === 'skipped');
    expect(rows().get(stranger!)).toMatchObject({ fate: 'skipped', reason: 'user-not-in-timeback' });
    expect(rows().get(held!)).toMatchObject({
      fate: 'pending',
      stage: 'translate',
      attempts: 0,
      nextAttemptAt: UNTIL_CONFIGURED,
      rule: 'forum-post-created',
      detail: `waiting: ${WAITING_FOR_APP_ID}`,
    });
    worker!.wake();
    const told = logs.lines().filter((line) => String(line.msg).includes('TIMEBACK_APP_ID'));
    expect(told).toHaveLength(1);
    expect(told[0]!.level).toBe('warn');

    // The gateway restarted with it.
    await worker!.stop(Date.now() + 1_000);
    config = parseConfig({ DB_PATH: db.file, TIMEBACK_APP_ID: APP_ID, LOG_LEVEL: 'silent' });
    startWorker();
    await waitFor('translation', () => rows().get(held!)!.stage === 'deliver');
  });

  it('with neither credentials nor TIMEBACK_APP_ID, names all three in the held detail and the warning', async () => {
    config = parseConfig({ DB_PATH: db.file, LOG_LEVEL: 'silent', DELIVERY_MAX_AGE: '3600' });
    const missing = 'roster lookups wait for TIMEBACK_CLIENT_ID, TIMEBACK_CLIENT_SECRET';
    const [held] = insertStoredEvents(db.store.sqlite, [forumPost()], { receivedAt: NOW });
    // As the roster resolver answers without credentials.
    startWorker({
      identity: {
        resolve: async () => ({ status: 'unavailable', detail: missing, held: true, untilConfigured: true }),
        waitingFor: () => missing,
      },
    });
    worker!.wake();
    await waitFor('the hold', () => rows().get(held!)!.detail !== null);
    expect(rows().get(held!)).toMatchObject({ fate: 'pending', attempts: 0, nextAttemptAt: UNTIL_CONFIGURED });
    const warned = logs.lines().filter((line) => line.level === 'warn').map((line) => String(line.msg));
    for (const said of [rows().get(held!)!.detail!, warned.join('\n')]) {
      for (const name of ['TIMEBACK_CLIENT_ID', 'TIMEBACK_CLIENT_SECRET', 'TIMEBACK_APP_ID']) expect(said).toContain(name);
    }
  });

  it('waits, pending, while no mapping rules are active, and goes on once they are', async () => {
    let active: RuleSet | undefined;
    const [seq] = insertStoredEvents(db.store.sqlite, [forumPost()], { receivedAt: NOW });
    startWorker({ rules: () => active });
    expect(rows().get(seq!)!.stage).toBe('translate');
    expect(logs.text()).toContain('Translation waits for mapping rules');
    active = rules;
    worker!.wake();
    await waitFor('translation', () => rows().get(seq!)!.stage === 'deliver');
  });

  it('rests longer after each batch whose results cannot be committed, and goes on once they can', async () => {
    const seqs = insertStoredEvents(db.store.sqlite, [forumPost(), forumPost(), gradeEvent()], { receivedAt: NOW - 1_000 });
    // A full disk fails every commit at once; here another connection holds the write lock
    // and this one does not wait for it, which fails the same way.
    db.store.sqlite.pragma('busy_timeout = 0');
    const locker = new Database(db.file);
    const failed = () => logs.lines().filter((entry) => entry.msg === 'translation batch failed; its events stay pending and are tried again');
    try {
      locker.exec('BEGIN IMMEDIATE');
      startWorker({ tuning: { pollIntervalMs: 50, backoff: { baseMs: 10, capMs: 1_000 } } });
      await waitFor('the first failure', () => failed().length > 0);
      // Every try looks each student up again (from the roster, when the cache cannot be
      // written either): tries at 0, 50, 150 and 350 ms, not one every poll (50 ms).
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(failed().length).toBeLessThanOrEqual(4);
      expect(pendingTranslate()).toHaveLength(3);
      expect(worker!.problems()).toEqual([expect.stringMatching(/^translation results cannot be recorded \(database is locked\)/)]);
      // Nothing was committed, and nothing is counted, however often it was tried.
      expect(await translatedTotal()).toBe(0);

      locker.exec('ROLLBACK');
      await waitFor('every event translated', settled, 3_000);
      for (const seq of seqs) expect(rows().get(seq)!.stage).toBe('deliver');
      expect(worker!.problems()).toEqual([]);
      expect(await translatedTotal()).toBe(3);
    } finally {
      locker.close();
    }
  });

  it('counts a batch the writer thread committed before it stopped without saying so, once', async () => {
    // The worker hears only that the thread stopped; the events have moved on, so they are
    // not translated again, and the commit is all there is to count.
    insertStoredEvents(db.store.sqlite, [forumPost(), gradeEvent(), forumPost({ type: `${BB}WikiEvent` })], { receivedAt: NOW - 1_000 });
    const thread = await startWriterThread(db.store, createLogger('silent'), { autoCheckpoint: 1000 });
    if (!thread) throw new Error('the writer thread did not start');
    const eventLoop = createStoreWriter(db.store);
    let stopped = false;
    const writer: StoreWriter = {
      ...eventLoop,
      async recordTranslations(results) {
        if (stopped) return eventLoop.recordTranslations(results);
        stopped = true;
        await thread.recordTranslations(results);
        await thread.stop();
        // What writer-thread.ts says of the writes outstanding when the thread exits.
        throw new Error('the writer thread stopped (exit code 1)');
      },
    };
    startWorker({ writer });
    await waitFor('the unclear commit', () => worker!.problems().length > 0);
    expect(settled()).toBe(true);
    expect(await translatedTotal()).toBe(2);
    expect(await seriesTotal(metrics.eventsSkipped)).toBe(1);
  });

  it('finishes the batch in flight when stopped, and takes no new ones', async () => {
    const held = heldResolver(() => ({ status: 'found', platformId: STUDENT.platformId }));
    const [first] = insertStoredEvents(db.store.sqlite, [forumPost()], { receivedAt: NOW - 1_000 });
    startWorker({ identity: held.resolver, tuning: { concurrency: 1 } });
    await waitFor('the lookup', () => held.calls.length === 1);
    const [later] = insertStoredEvents(db.store.sqlite, [forumPost()], { receivedAt: NOW - 500 });
    // The worker's clock stands on a fixed day; the deadline is real time, 5 s from now,
    // and the batch gets 50 ms of it.
    const stopped = worker!.stop(Date.now() + 5_000);
    worker!.wake();
    await new Promise((resolve) => setTimeout(resolve, 50));
    held.release();
    await stopped;
    expect(rows().get(first!)!.stage).toBe('deliver');
    expect(rows().get(later!)).toMatchObject({ fate: 'pending', stage: 'translate' });
  });

  it('leaves the batch pending when the stop deadline passes first', async () => {
    const held = heldResolver(() => ({ status: 'found', platformId: STUDENT.platformId }));
    const [seq] = insertStoredEvents(db.store.sqlite, [forumPost()], { receivedAt: NOW - 1_000 });
    startWorker({ identity: held.resolver });
    await waitFor('the lookup', () => held.calls.length === 1);
    await worker!.stop(Date.now() + 20);
    held.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(rows().get(seq!)).toMatchObject({ fate: 'pending', stage: 'translate', attempts: 0 });
  });

  it('delivers an invalid-output rejection once its rule is fixed and it is replayed', async () => {
    const rule = (objectType: string) =>
      oneRule(`
id: forum-post-as-message
match: { type: "${BB}ForumEvent", action: Created }
student: ['actor.extensions["bb:user.externalId"]']
output: { type: MessageEvent, action: Posted, profile: ForumProfile, object: { id: { from: generated.id }, type: ${objectType} } }`);
    let active = rule('Forum');
    const [seq] = insertStoredEvents(db.store.sqlite, [forumPost()], { receivedAt: Date.now() - 1_000 });
    startWorker({ now: Date.now, rules: () => active });
    await waitFor('the rejection', () => rows().get(seq!)!.fate === 'rejected');
    expect(rows().get(seq!)).toMatchObject({ reason: 'invalid-output', detail: expect.stringMatching(/needs object of type Message, got Forum/) });

    active = rule('Message');
    expect(replayEvents(db.store, { status: 'rejected' }, Date.now()).map((event) => event.seq)).toEqual([seq]);
    worker!.wake();
    await waitFor('the translation', () => rows().get(seq!)!.stage === 'deliver');
    expect(rows().get(seq!)).toMatchObject({ fate: 'pending', reason: null, rule: 'forum-post-as-message' });
  });

  it('reads due rows through the partial index of pending events', () => {
    const plan = db.store.sqlite
      .prepare(`EXPLAIN QUERY PLAN ${TRANSLATE_SQL.due}`)
      .all({ now: NOW, released: UNTIL_CONFIGURED, limit: 10 }) as Array<{ detail: string }>;
    expect(plan.filter((step) => step.detail.includes('events_pending_due'))).toHaveLength(3);
    expect(plan.some((step) => /SCAN events\b/.test(step.detail) && !step.detail.includes('INDEX'))).toBe(false);
  });
});
