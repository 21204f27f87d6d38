import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EVENTS_WRITE_SCOPE, parseConfig } from '../../src/config.ts';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliver/delivery-worker.ts';
import type { DeliveryTuning } from '../../src/deliver/delivery-tuning.ts';
import { createEventsClient } from '../../src/deliver/events-client.ts';
import { startTimebackEmulator, type Fault, type TimebackEmulator } from '../../src/dev/timeback-emulator.ts';
import { createLogger, type Logger } from '../../src/log.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { prepareTranslationWrites } from '../../src/mapping/translation-writes.ts';
import { replayEvents, unreplayedIds } from '../../src/store/replay.ts';
import { FATES } from '../../src/store/schema.ts';
import { startWriterThread } from '../../src/store/writer-thread.ts';
import { createStoreWriter, type StoreWriter } from '../../src/store/writer.ts';
import { createTokenProvider, type ClientCredentialsTokenProvider } from '../../src/timeback/client-credentials-token.ts';
import { captureLog } from '../helpers/identity-harness.ts';
import { histogramTotals, metricValue } from '../helpers/metric-value.ts';
import { tempStore } from '../helpers/temp-store.ts';
import { eventStates, fateCounts, insertTranslatedEvents, TEST_APP_ID } from '../helpers/translated-events.ts';
import { waitFor } from '../helpers/wait-for.ts';

const ROSTER_READONLY = 'https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly';

const FAST: Partial<DeliveryTuning> = {
  backoff: { baseMs: 20, capMs: 200 },
  pollIntervalMs: 50,
  flushDelayMs: 2,
};

let emulator: TimebackEmulator;
let db: ReturnType<typeof tempStore>;
let metrics: Metrics;
const workers: DeliveryWorker[] = [];
const tokenProviders: ClientCredentialsTokenProvider[] = [];

beforeEach(async () => {
  emulator = await startTimebackEmulator();
  db = tempStore('delivery-worker-');
  metrics = createMetrics();
});

afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop(Date.now());
  for (const tokens of tokenProviders.splice(0)) await tokens.close();
  await emulator.close();
  db.cleanup();
});

function config(env: Record<string, string> = {}) {
  return parseConfig({
    DB_PATH: db.file,
    TIMEBACK_BASE_URL: emulator.url,
    TIMEBACK_CLIENT_ID: emulator.clientId,
    TIMEBACK_CLIENT_SECRET: emulator.clientSecret,
    TIMEBACK_APP_ID: TEST_APP_ID,
    DELIVERY_CONCURRENCY: '4',
    LOG_LEVEL: 'silent',
    ...env,
  });
}

function startWorker(
  options: { env?: Record<string, string>; tuning?: Partial<DeliveryTuning>; timeoutMs?: number; writer?: StoreWriter; log?: Logger } = {},
) {
  const cfg = config(options.env);
  const log = options.log ?? createLogger('silent');
  const tokens = createTokenProvider({ config: cfg, log, metrics });
  tokenProviders.push(tokens);
  const worker = createDeliveryWorker({
    config: cfg,
    store: db.store,
    log,
    metrics,
    tokens,
    tuning: { ...FAST, ...options.tuning },
    writer: options.writer,
    client:
      options.timeoutMs === undefined
        ? undefined
        : createEventsClient({ baseUrl: cfg.timeback.baseUrl, connections: cfg.delivery.concurrency, timeoutMs: options.timeoutMs }),
  });
  workers.push(worker);
  worker.start();
  return worker;
}

const receivedIds = () => emulator.received.map((event) => (event as { id: string }).id);
const allDelivered = (count: number) => () => fateCounts(db.store.sqlite).delivered === count;

describe('delivery worker', () => {
  it('POSTs each output as the whole body with the bearer token and records it delivered, once', async () => {
    const inserted = insertTranslatedEvents(db.store.sqlite, 40);
    startWorker();
    await waitFor('all delivered', allDelivered(40));

    expect(receivedIds().sort()).toEqual(inserted.map((event) => event.outputId).sort());
    const stored = db.store.sqlite.prepare('SELECT output FROM event_outputs WHERE seq = ?').get(inserted[0]!.seq) as { output: string };
    expect(emulator.received).toContainEqual(JSON.parse(stored.output));
    for (const row of eventStates(db.store.sqlite)) {
      expect(row).toMatchObject({ fate: 'delivered', stage: null, attempts: 1, lastStatus: 202 });
      expect(row.deliveredAt).toBeGreaterThan(0);
      expect(row.nextAttemptAt).toBeNull();
    }
    expect(emulator.requests.filter((r) => r.route === 'events').every((r) => r.url === '/events/1.0/')).toBe(true);
    expect(emulator.tokensIssued).toBe(1);
    expect(await metricValue(metrics.eventsDelivered)).toBe(40);
  });

  it('shows the dead reasons that are not an HTTP status from the start, at 0', async () => {
    startWorker();
    const text = await metrics.render();
    expect(text).toContain('caliper_gateway_events_dead_total{reason="max-age"} 0');
    expect(text).toContain('caliper_gateway_events_dead_total{reason="no-output"} 0');
  });

  it('shows the retry causes that are not an HTTP status from the start, at 0, and no http-<status> one', async () => {
    startWorker();
    const text = await metrics.render();
    expect(text).toContain('caliper_gateway_delivery_retries_total{cause="timeout"} 0');
    expect(text).toContain('caliper_gateway_delivery_retries_total{cause="network"} 0');
    expect(text).not.toMatch(/delivery_retries_total\{cause="http-/);
  });

  it('picks up events as soon as it is notified', async () => {
    startWorker({ tuning: { pollIntervalMs: 60_000 } });
    await waitFor('token check', () => emulator.tokensIssued === 1);
    insertTranslatedEvents(db.store.sqlite, 3);
    workers[0]!.notify();
    await waitFor('all delivered', allDelivered(3));
  });

  it('keeps DELIVERY_CONCURRENCY POSTs in flight to TimeBack, and never more', async () => {
    // Slow answers, so a worker that did not bound itself would have all 24 open at once.
    emulator.latencyMs = 100;
    insertTranslatedEvents(db.store.sqlite, 24);
    const worker = startWorker({ env: { DELIVERY_CONCURRENCY: '3' } });
    for (let i = 0; i < 5; i++) worker.notify();
    await waitFor('all delivered', allDelivered(24));
    expect(emulator.eventPosts).toBe(24);
    expect(emulator.peakEventPostsOpen).toBe(3);
  });

  it('never sends an event twice at once, however often it is woken while the POST is slow', async () => {
    emulator.latencyMs = 150;
    insertTranslatedEvents(db.store.sqlite, 12);
    const worker = startWorker({ tuning: { pollIntervalMs: 5 } });
    const nudging = setInterval(() => worker.notify(), 2);
    try {
      await waitFor('all delivered', allDelivered(12));
    } finally {
      clearInterval(nudging);
    }
    // Let anything still in flight land before counting what TimeBack saw.
    await worker.stop(Date.now() + 5_000);
    expect(emulator.eventPosts).toBe(12);
    expect(new Set(receivedIds()).size).toBe(12);
  });

  it('leaves an event whose POST is in flight to it when a replay names it, and sends it once', async () => {
    emulator.latencyMs = 200;
    const [event] = insertTranslatedEvents(db.store.sqlite, 1);
    const worker = startWorker();
    await waitFor('in flight', () => worker.status().inFlight === 1);
    // Replay takes only settled events: a pending one is named back with its fate.
    const filter = { ids: [event!.seq] };
    const replayed = replayEvents(db.store, filter, Date.now());
    expect(replayed).toEqual([]);
    expect(unreplayedIds(db.store, filter, replayed)).toEqual([{ id: event!.seq, fates: ['pending'], lookedIn: FATES }]);
    await waitFor('delivered', allDelivered(1));
    await worker.stop(Date.now() + 5_000);
    expect(emulator.eventPosts).toBe(1);
  });

  it('does not count an answer whose row changed hands while its POST was in flight', async () => {
    const [event] = insertTranslatedEvents(db.store.sqlite, 1);
    const held = emulator.hold('events');
    startWorker();
    await held.arrived;
    // As an operator might, by hand: the row is no longer the delivery's to settle.
    db.store.sqlite.prepare(`UPDATE events SET fate = 'skipped', stage = NULL, reason = 'operator', updated_at = updated_at + 1 WHERE seq = ?`).run(event!.seq);
    held.release();
    await workers[0]!.stop(Date.now() + 5_000);
    expect(emulator.eventPosts).toBe(1);
    expect(eventStates(db.store.sqlite)[0]).toMatchObject({ fate: 'skipped', reason: 'operator', attempts: 0 });
    expect(await metricValue(metrics.eventsDelivered)).toBe(0);
  });

  // The dead-event line is a fate, like events_dead_total: it names only an event the commit
  // made dead, never one whose row changed hands while TimeBack was answering for it.
  it.each([
    ['refused with a 400', 'http-400', 'event is dead'],
    ['too old to retry', 'max-age', 'event is dead: too old to retry'],
  ])('logs an event %s as dead only when the commit made it so', async (_what, reason, msg) => {
    const longAgo = Date.now() - 2 * 3600_000;
    const aged = reason === 'max-age' ? { attempts: 7, firstAttemptAt: longAgo, receivedAt: longAgo } : {};
    const [changed, kept] = insertTranslatedEvents(db.store.sqlite, 2, aged);
    if (reason === 'max-age') emulator.addFault({ route: 'events', status: 503, body: { error: 'maintenance' } });
    else emulator.addFault({ route: 'events', status: 400, body: { status: 'error', message: 'bad' } });
    const held = emulator.hold('events');
    const captured = captureLog();
    const worker = startWorker({ log: captured.log, env: { DELIVERY_MAX_AGE: '3600' } });
    await waitFor('both POSTs held', () => emulator.eventPosts === 2);
    // As an operator might, by hand: the row is no longer the delivery's to settle.
    db.store.sqlite.prepare(`UPDATE events SET fate = 'skipped', stage = NULL, reason = 'operator', updated_at = updated_at + 1 WHERE seq = ?`).run(changed!.seq);
    held.release();
    await waitFor('the other one dead', () => eventStates(db.store.sqlite).find((row) => row.seq === kept!.seq)!.fate === 'dead');
    await worker.stop(Date.now() + 5_000);

    expect(eventStates(db.store.sqlite).find((row) => row.seq === changed!.seq)).toMatchObject({ fate: 'skipped', reason: 'operator' });
    expect(await metricValue(metrics.eventsDead, { reason })).toBe(1);
    const dead = captured.lines().filter((line) => String(line.msg).includes('dead'));
    expect(dead).toEqual([expect.objectContaining({ msg, seq: kept!.seq, reason })]);
  });

  it('parks an event with no output as dead without sending anything for it', async () => {
    const [empty] = insertTranslatedEvents(db.store.sqlite, 3);
    db.store.sqlite.prepare('DELETE FROM event_outputs WHERE seq = ?').run(empty!.seq);
    startWorker();
    await waitFor('settled', () => fateCounts(db.store.sqlite).delivered === 2 && fateCounts(db.store.sqlite).dead === 1);
    expect(eventStates(db.store.sqlite).find((row) => row.seq === empty!.seq)).toMatchObject({ reason: 'no-output', attempts: 0 });
    expect(emulator.eventPosts).toBe(2);
  });

  it('retries 500s with backoff and delivers everything once they stop', async () => {
    emulator.addFault({ route: 'events', status: 500, times: 12 });
    insertTranslatedEvents(db.store.sqlite, 20);
    startWorker();
    await waitFor('all delivered', allDelivered(20));

    expect(new Set(receivedIds()).size).toBe(20);
    // Every POST is an attempt on its event's row: the 20 that were taken and the 12 refused.
    const states = eventStates(db.store.sqlite);
    expect(states.reduce((sum, row) => sum + row.attempts, 0)).toBe(20 + 12);
    expect(states.filter((row) => row.attempts > 1).length).toBeGreaterThan(0);
    expect(await metricValue(metrics.deliveryRetries, { cause: 'http-500' })).toBe(12);
    expect((await histogramTotals(metrics.deliveryLatency, { outcome: 'retry' })).count).toBe(12);
    expect((await histogramTotals(metrics.deliveryLatency, { outcome: 'delivered' })).count).toBe(20);
  });

  it('honours Retry-After on 429 before trying again', async () => {
    emulator.addFault({ route: 'events', status: 429, retryAfter: 1, times: 1 });
    const [event] = insertTranslatedEvents(db.store.sqlite, 1);
    startWorker({ tuning: { backoff: { baseMs: 20, capMs: 5_000 } } });

    const retry = await waitFor('the 429 recorded', () =>
      eventStates(db.store.sqlite).find((row) => row.seq === event!.seq && row.lastStatus === 429),
    );
    const attempted = db.store.sqlite.prepare('SELECT last_attempt_at AS at FROM events WHERE seq = ?').get(event!.seq) as { at: number };
    expect(retry.nextAttemptAt! - attempted.at).toBeGreaterThanOrEqual(1_000);
    await waitFor('delivered', allDelivered(1), 5_000);
  });

  it("honours a proxy's 503 with an HTML page and Retry-After as an HTTP-date, keeping the page", async () => {
    const until = new Date(Math.ceil((Date.now() + 2_000) / 1000) * 1000);
    emulator.addFault({
      route: 'events',
      status: 503,
      rawBody: '<html><head><title>503 Service Temporarily Unavailable</title></head><body><h1>503</h1></body></html>',
      retryAfter: until.toUTCString(),
      times: 1,
    });
    const [event] = insertTranslatedEvents(db.store.sqlite, 1);
    startWorker({ tuning: { backoff: { baseMs: 20, capMs: 5_000 } } });

    const retry = await waitFor('the 503 recorded', () => eventStates(db.store.sqlite).find((row) => row.seq === event!.seq && row.lastStatus === 503));
    expect(retry).toMatchObject({ fate: 'pending', attempts: 1 });
    expect(retry.nextAttemptAt).toBeGreaterThanOrEqual(until.getTime());
    expect(retry.lastResponse).toContain('503 Service Temporarily Unavailable');
    await waitFor('delivered', allDelivered(1), 5_000);
  });

  it('delivers on any 2xx, with or without a body', async () => {
    emulator.addFault({ route: 'events', status: 204, rawBody: '', contentType: 'text/plain', times: 1 });
    emulator.addFault({ route: 'events', status: 200, body: { status: 'success' }, times: 1 });
    insertTranslatedEvents(db.store.sqlite, 3);
    startWorker({ env: { DELIVERY_CONCURRENCY: '1' } });
    await waitFor('all delivered', allDelivered(3));
    expect(eventStates(db.store.sqlite).map((row) => row.lastStatus).sort()).toEqual([200, 202, 204]);
  });

  it.each([
    [413, '<html><body>413 Request Entity Too Large</body></html>'],
    [422, ''],
  ])('parks a %i as dead with whatever body came with it', async (status, rawBody) => {
    emulator.addFault({ route: 'events', status, rawBody, times: 1 });
    insertTranslatedEvents(db.store.sqlite, 1);
    startWorker();
    const dead = await waitFor('dead', () => eventStates(db.store.sqlite).find((row) => row.fate === 'dead'));
    expect(dead).toMatchObject({ reason: `http-${status}`, lastStatus: status, lastResponse: rawBody, attempts: 1 });
  });

  it('times out hanging requests and delivers them once TimeBack answers', async () => {
    emulator.addFault({ route: 'events', hang: true, times: 3 });
    insertTranslatedEvents(db.store.sqlite, 6);
    startWorker({ timeoutMs: 300 });
    await waitFor('all delivered', allDelivered(6));
    expect(new Set(receivedIds()).size).toBe(6);
    // At least the three hung requests; a loaded machine may make a normal answer late too.
    expect(await metricValue(metrics.deliveryRetries, { cause: 'timeout' })).toBeGreaterThanOrEqual(3);
    expect(emulator.requests.filter((r) => r.route === 'events' && r.status === 0)).toHaveLength(3);
  });

  it('counts 409 as delivered: TimeBack already has the event', async () => {
    emulator.addFault({ route: 'events', status: 409, body: { error: 'duplicate event id' }, times: 1 });
    insertTranslatedEvents(db.store.sqlite, 1);
    startWorker();
    await waitFor('delivered', allDelivered(1));
    expect(eventStates(db.store.sqlite)[0]).toMatchObject({ fate: 'delivered', lastStatus: 409, attempts: 1 });
  });

  it('parks a 400 as dead with its body, delivers the others, and replay delivers it once fixed', async () => {
    const inserted = insertTranslatedEvents(db.store.sqlite, 5);
    const bad = inserted[2]!;
    emulator.addFault({
      route: 'events',
      status: 400,
      body: { status: 'error', message: 'object.type: unrecognized' },
      when: (body) => body.includes(bad.outputId),
    });
    startWorker();
    await waitFor('settled', () => {
      const counts = fateCounts(db.store.sqlite);
      return counts.delivered === 4 && counts.dead === 1;
    });
    const dead = eventStates(db.store.sqlite).find((row) => row.seq === bad.seq)!;
    expect(dead).toMatchObject({ fate: 'dead', reason: 'http-400', lastStatus: 400, attempts: 1 });
    expect(JSON.parse(dead.lastResponse!)).toEqual({ status: 'error', message: 'object.type: unrecognized' });
    expect(await metricValue(metrics.eventsDead, { reason: 'http-400' })).toBe(1);

    emulator.clearFaults();
    const replayed = replayEvents(db.store, { ids: [bad.seq] }, Date.now());
    expect(replayed.map((event) => event.seq)).toEqual([bad.seq]);
    expect(eventStates(db.store.sqlite).find((row) => row.seq === bad.seq)).toMatchObject({
      fate: 'pending',
      stage: 'translate',
      attempts: 0,
    });
    // The translate stage re-translates (same rule, same id) and hands it back to delivery.
    db.store.sqlite.prepare(`UPDATE events SET stage = 'deliver' WHERE seq = ?`).run(bad.seq);
    workers[0]!.notify();
    await waitFor('replayed event delivered', allDelivered(5));
    expect(receivedIds().filter((id) => id === bad.outputId)).toHaveLength(1);
  });

  it('logs one example and the counts, not a line per event, when TimeBack refuses every event', async () => {
    insertTranslatedEvents(db.store.sqlite, 300);
    emulator.addFault({ route: 'events', status: 422, body: { status: 'error', message: 'profile not accepted' } });
    const captured = captureLog();
    const worker = startWorker({ log: captured.log });
    await waitFor('all dead', () => fateCounts(db.store.sqlite).dead === 300);
    await worker.stop(Date.now());

    const dead = captured.lines().filter((line) => String(line.msg).includes('dead'));
    expect(dead.map((line) => line.msg)).toEqual(['event is dead', 'more events are dead; counted, not logged one by one']);
    expect(dead[0]).toMatchObject({ reason: 'http-422', status: 422 });
    expect(dead[1]).toMatchObject({ count: 299, byKind: { 'http-422': 299 } });
  });

  it('does not let a result written again undo a replay that came after its first commit', async () => {
    // The writer thread can commit a batch and stop before it says so: the worker hears a
    // failure and writes the results again later. Meanwhile the event, dead by that commit,
    // was replayed and translated anew; the old answer must not land on the new attempt.
    const [event] = insertTranslatedEvents(db.store.sqlite, 1, { receivedAt: Date.now() - 60_000 });
    emulator.addFault({ route: 'events', status: 400, body: { status: 'error', message: 'bad' } });
    const direct = createStoreWriter(db.store);
    let allowRewrite!: () => void;
    const rewriteAllowed = new Promise<void>((resolve) => (allowRewrite = resolve));
    let calls = 0;
    const writer: StoreWriter = {
      ...direct,
      async recordDeliveries(records) {
        calls += 1;
        if (calls === 1) {
          await direct.recordDeliveries(records);
          throw new Error('the writer thread stopped (exit code 1)');
        }
        if (calls === 2) await rewriteAllowed;
        return direct.recordDeliveries(records);
      },
    };
    const worker = startWorker({ writer });
    await waitFor('the unclear commit', () => worker.problems().length > 0);
    expect(eventStates(db.store.sqlite)[0]).toMatchObject({ fate: 'dead', reason: 'http-400' });

    emulator.clearFaults();
    expect(replayEvents(db.store, { ids: [event!.seq] }, Date.now())).toHaveLength(1);
    const row = db.store.sqlite.prepare('SELECT output_id AS outputId, student_id AS studentId, platform_id AS platformId, rule FROM events WHERE seq = ?').get(event!.seq) as { outputId: string; studentId: string; platformId: string; rule: string };
    const { output } = db.store.sqlite.prepare('SELECT output FROM event_outputs WHERE seq = ?').get(event!.seq) as { output: string };
    prepareTranslationWrites(db.store.sqlite)({ at: Date.now(), writes: [{ kind: 'deliver', seq: event!.seq, output, ...row }] });

    allowRewrite();
    await waitFor('the results written again', () => worker.problems().length === 0);
    expect(eventStates(db.store.sqlite)[0]).not.toMatchObject({ fate: 'dead' });
    await waitFor('the replayed event delivered', allDelivered(1));
    expect(emulator.eventPosts).toBe(2);
    // The death happened once (the unclear commit wrote it) and is counted once, when its
    // result is written again, though that write finds the row moved on: counting only the
    // writes that land would lose it, since the worker never heard of the first commit.
    expect(await metricValue(metrics.eventsDead, { reason: 'http-400' })).toBe(1);
    expect(await metricValue(metrics.eventsDelivered)).toBe(1);
  });

  // The writer thread can stop during a commit of results: the worker hears only that it
  // stopped, and cannot tell whether the commit landed. It writes the results again on the
  // event loop's connection, as writer-thread.ts does from then on. Whichever it was, each
  // fate is counted once, no event is sent again for it, and no attempt is written twice.
  it.each([
    ['after committing the results', true],
    ['before committing the results', false],
  ])('counts each fate once when the writer thread stops %s without saying so', async (_when, committed) => {
    const inserted = insertTranslatedEvents(db.store.sqlite, 6);
    const refused = inserted[0]!;
    const failedOnce = inserted[1]!;
    emulator.addFault({ route: 'events', status: 400, body: { status: 'error', message: 'bad' }, when: (body) => body.includes(refused.outputId) });
    emulator.addFault({ route: 'events', status: 500, times: 1, when: (body) => body.includes(failedOnce.outputId) });
    const thread = await startWriterThread(db.store, createLogger('silent'), { autoCheckpoint: 1000 });
    if (!thread) throw new Error('the writer thread did not start');
    const eventLoop = createStoreWriter(db.store);
    let firstBatch: readonly number[] = [];
    let stopped = false;
    const writer: StoreWriter = {
      ...eventLoop,
      async recordDeliveries(records) {
        if (stopped) return eventLoop.recordDeliveries(records);
        stopped = true;
        firstBatch = records.map((record) => record.seq);
        if (committed) await thread.recordDeliveries(records);
        await thread.stop();
        // What writer-thread.ts says of the writes outstanding when the thread exits.
        throw new Error('the writer thread stopped (exit code 1)');
      },
    };
    // The first answers wait for the same commit: the 202s, the 400 and the 500 alike (the two
    // faulty events are first in line, so among the first DELIVERY_CONCURRENCY sent).
    const captured = captureLog();
    const worker = startWorker({ writer, tuning: { flushDelayMs: 500 }, log: captured.log });
    await waitFor('all settled', () => {
      const counts = fateCounts(db.store.sqlite);
      return counts.delivered === 5 && counts.dead === 1;
    });
    await worker.stop(Date.now() + 5_000);

    expect(firstBatch).toEqual(expect.arrayContaining([refused.seq, failedOnce.seq, inserted[2]!.seq]));
    expect(emulator.eventPosts).toBe(7);
    expect(await metricValue(metrics.eventsDelivered)).toBe(5);
    expect(await metricValue(metrics.eventsDead, { reason: 'http-400' })).toBe(1);
    expect(await metricValue(metrics.deliveryRetries, { cause: 'http-500' })).toBe(1);
    // Logged as dead once, by the commit that counted it.
    expect(captured.lines().filter((line) => line.msg === 'event is dead')).toEqual([expect.objectContaining({ seq: refused.seq, reason: 'http-400' })]);
    for (const row of eventStates(db.store.sqlite)) expect(row.attempts).toBe(row.seq === failedOnce.seq ? 2 : 1);
  });

  it('refreshes a token that expires mid-stream, once for all requests in flight', async () => {
    emulator.latencyMs = 20;
    insertTranslatedEvents(db.store.sqlite, 30);
    startWorker();
    await waitFor('some delivered', () => (fateCounts(db.store.sqlite).delivered ?? 0) >= 5);
    emulator.validTokens.clear();
    await waitFor('all delivered', allDelivered(30));

    expect(new Set(receivedIds()).size).toBe(30);
    expect(emulator.requests.some((r) => r.route === 'events' && r.status === 401)).toBe(true);
    expect(emulator.tokensIssued).toBe(2);
    expect(eventStates(db.store.sqlite).every((row) => row.fate === 'delivered')).toBe(true);

    // Every POST is timed once, by what its answer meant, in seconds (each took over 20 ms).
    const refused = emulator.requests.filter((r) => r.route === 'events' && r.status === 401).length;
    const delivered = await histogramTotals(metrics.deliveryLatency, { outcome: 'delivered' });
    expect(delivered.count).toBe(30);
    expect(delivered.sum / delivered.count).toBeGreaterThanOrEqual(0.02);
    expect(delivered.sum / delivered.count).toBeLessThan(5);
    expect((await histogramTotals(metrics.deliveryLatency, { outcome: 'unauthorized' })).count).toBe(refused);
  });

  it('declares an event dead after DELIVERY_MAX_AGE of failures, keeping the last answer', async () => {
    emulator.addFault({ route: 'events', status: 503, body: { error: 'maintenance' } });
    const longAgo = Date.now() - 2 * 3600_000;
    insertTranslatedEvents(db.store.sqlite, 1, { attempts: 7, firstAttemptAt: longAgo, receivedAt: longAgo });
    const fresh = insertTranslatedEvents(db.store.sqlite, 1)[0]!;
    startWorker({ env: { DELIVERY_MAX_AGE: '3600' } });

    const dead = await waitFor('dead by age', () => eventStates(db.store.sqlite).find((row) => row.fate === 'dead'));
    expect(dead).toMatchObject({ reason: 'max-age', lastStatus: 503, attempts: 8 });
    expect(JSON.parse(dead.lastResponse!)).toEqual({ error: 'maintenance' });
    await waitFor('fresh one retried', () => eventStates(db.store.sqlite).find((row) => row.seq === fresh.seq)!.attempts > 0);
    expect(eventStates(db.store.sqlite).find((row) => row.seq === fresh.seq)!.fate).toBe('pending');
  });

  it("holds back every event for a 429's Retry-After, not only the one it refused", async () => {
    emulator.addFault({ route: 'events', status: 429, retryAfter: 1, times: 1 });
    insertTranslatedEvents(db.store.sqlite, 3);
    // One POST at a time: were only the refused event to wait, the next would go at once.
    startWorker({ env: { DELIVERY_CONCURRENCY: '1' } });
    await waitFor('all delivered', allDelivered(3));
    const posts = emulator.requests.filter((r) => r.route === 'events');
    expect(posts).toHaveLength(4);
    expect(posts[0]!.status).toBe(429);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(1_000);
  });

  it('ends a pause when the probe is refused as a bad event (400): TimeBack is up', async () => {
    // Two 503s open the pause (threshold 2); the probe after it is refused for itself.
    emulator.addFault({ route: 'events', status: 503, times: 2 });
    emulator.addFault({ route: 'events', status: 400, body: { error: 'bad event' }, times: 1 });
    insertTranslatedEvents(db.store.sqlite, 3);
    const worker = startWorker({ env: { DELIVERY_CONCURRENCY: '1' }, tuning: { pauseThreshold: 2 } });
    await waitFor('settled', () => {
      const counts = fateCounts(db.store.sqlite);
      return counts.delivered === 2 && counts.dead === 1;
    });
    const statuses = emulator.requests.filter((r) => r.route === 'events').map((r) => r.status);
    expect(statuses.slice(0, 3)).toEqual([503, 503, 400]);
    expect(statuses).toHaveLength(5);
    expect(worker.status().state).toBe('running');
  });

  /**
   * A POST sent before the pause, whose answer (`early`: TimeBack's) is held back; every other
   * POST: the first loses its connection (the pause opens), the rest hang. Returns once the
   * pause's probe hangs at TimeBack, the early answer still held.
   */
  async function pauseWithTheProbeOut(early: Omit<Fault, 'route' | 'when' | 'times'>) {
    const [first] = insertTranslatedEvents(db.store.sqlite, 1);
    const isEarly = (body: string) => body.includes(first!.outputId);
    emulator.addFault({ ...early, route: 'events', when: isEarly, times: 1 });
    emulator.addFault({ route: 'events', reset: true, when: (body) => !isEarly(body), times: 1 });
    emulator.addFault({ route: 'events', hang: true, when: (body) => !isEarly(body) });
    const held = emulator.hold('events');
    const captured = captureLog();
    const worker = startWorker({ env: { DELIVERY_CONCURRENCY: '2' }, tuning: { backoff: { baseMs: 20, capMs: 40 }, pauseThreshold: 1 }, timeoutMs: 60_000, log: captured.log });
    await held.arrived;

    insertTranslatedEvents(db.store.sqlite, 3);
    worker.notify();
    // The reset opens the pause; once its wait is over, the probe goes and hangs.
    await waitFor('the probe at TimeBack', () => emulator.eventPosts === 3);
    expect(worker.status().state).toBe('paused');
    const earlyRecorded = (status: number) =>
      waitFor(`the early ${status} recorded`, () => eventStates(db.store.sqlite).find((row) => row.seq === first!.seq)?.lastStatus === status);
    const pauseWarnings = () => captured.lines().filter((line) => line.msg === 'TimeBack is failing; delivery paused').length;
    return { worker, held, earlyRecorded, pauseWarnings };
  }

  /** The probe's own end lets the next one go: the pause is not stuck. */
  async function expectRecoveryAfterTheProbe(worker: DeliveryWorker): Promise<void> {
    emulator.clearFaults();
    await waitFor('all delivered after recovery', allDelivered(4));
    expect(worker.status().state).toBe('running');
  }

  it('does not let a second probe out when a POST sent before the pause fails while the probe hangs', async () => {
    const { worker, held, earlyRecorded } = await pauseWithTheProbeOut({ status: 503 });
    held.release();
    await earlyRecorded(503);
    // Long past any wait of the pause (at most 40 ms), the probe is still the only one out.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(emulator.eventPosts).toBe(3);
    expect(worker.status().state).toBe('paused');
    await expectRecoveryAfterTheProbe(worker);
  });

  it('does not re-open the pause when a POST sent before it fails while the probe hangs: the probe is what says', async () => {
    const { worker, held, earlyRecorded, pauseWarnings } = await pauseWithTheProbeOut({ status: 503 });
    const before = worker.status().pause;
    expect(before?.problem).not.toContain('503');
    expect(pauseWarnings()).toBe(1);
    held.release();
    await earlyRecorded(503);
    // Neither a new wait (nextProbe) nor a new problem, nor a second warning: one per failed probe.
    expect(worker.status().pause).toEqual(before);
    expect(pauseWarnings()).toBe(1);
    await expectRecoveryAfterTheProbe(worker);
  });

  it("holds the pause for a Retry-After to a POST sent before it, while the probe hangs, and the probe's turn goes on", async () => {
    const { worker, held, earlyRecorded, pauseWarnings } = await pauseWithTheProbeOut({ status: 429, retryAfter: 1 });
    held.release();
    const answeredAt = Date.now();
    await earlyRecorded(429);
    // TimeBack asked this client to wait: honoured, though the probe is still out; not a new pause.
    const { pause } = worker.status();
    expect(pause?.problem).toContain('429');
    expect(Date.parse(pause!.nextProbe)).toBeGreaterThanOrEqual(answeredAt + 1_000);
    expect(pauseWarnings()).toBe(1);
    expect(emulator.eventPosts).toBe(3);
    await expectRecoveryAfterTheProbe(worker);
  });

  it('does not pause again when POSTs sent before the pause time out after it has closed: TimeBack had recovered', async () => {
    // Two POSTs hang at TimeBack until they time out; meanwhile another loses its connection
    // (the pause opens, threshold 1) and the probe after it succeeds (it closes).
    const early = insertTranslatedEvents(db.store.sqlite, 2);
    const earlyIds = new Set(early.map((event) => event.outputId));
    const isEarly = (body: string) => [...earlyIds].some((id) => body.includes(id));
    emulator.addFault({ route: 'events', hang: true, when: isEarly, times: 2 });
    const captured = captureLog();
    const worker = startWorker({
      env: { DELIVERY_CONCURRENCY: '3' },
      tuning: { backoff: { baseMs: 20, capMs: 40 }, pauseThreshold: 1 },
      timeoutMs: 3_000,
      log: captured.log,
    });
    await waitFor('the early POSTs hanging', () => emulator.eventPosts === 2);
    emulator.addFault({ route: 'events', reset: true, when: (body) => !isEarly(body), times: 1 });
    insertTranslatedEvents(db.store.sqlite, 2);
    worker.notify();
    const resumed = () => captured.lines().some((line) => line.msg === 'TimeBack answers again; delivery resumes');
    await waitFor('the pause closed by its probe', resumed);
    expect(eventStates(db.store.sqlite).filter((row) => earlyIds.has(row.outputId!)).map((row) => row.attempts)).toEqual(early.map(() => 0));

    // The early POSTs time out now, after the pause closed: no second pause, nothing on /readyz.
    await waitFor('the early timeouts recorded', () =>
      eventStates(db.store.sqlite).filter((row) => earlyIds.has(row.outputId!) && row.attempts >= 1).length === early.length,
    );
    const pauseWarnings = captured.lines().filter((line) => line.msg === 'TimeBack is failing; delivery paused');
    expect(pauseWarnings).toHaveLength(1);
    expect(worker.status().state).toBe('running');
    expect(worker.status().pause).toBeUndefined();
    await waitFor('all delivered', allDelivered(4));
  });

  it('lets the next probe go when the probe was an event with no output, which sends nothing', async () => {
    const [first, empty, last] = insertTranslatedEvents(db.store.sqlite, 3);
    db.store.sqlite.prepare('DELETE FROM event_outputs WHERE seq = ?').run(empty!.seq);
    // The first POST fails and opens the pause; the next due event, taken as its probe, has no output.
    emulator.addFault({ route: 'events', status: 503, times: 1 });
    startWorker({ env: { DELIVERY_CONCURRENCY: '1' }, tuning: { pauseThreshold: 1 } });
    await waitFor('settled', () => {
      const states = eventStates(db.store.sqlite);
      return states.find((row) => row.seq === empty!.seq)?.fate === 'dead' && states.filter((row) => row.fate === 'delivered').length === 2;
    });
    expect(eventStates(db.store.sqlite).filter((row) => row.fate === 'delivered').map((row) => row.seq).sort()).toEqual([first!.seq, last!.seq].sort());
  });

  it('when TimeBack is down, backs off together: a bounded trickle of probes, then resumes', async () => {
    emulator.addFault({ route: 'events', status: 503 });
    insertTranslatedEvents(db.store.sqlite, 200);
    const worker = startWorker({
      env: { DELIVERY_CONCURRENCY: '8' },
      tuning: { backoff: { baseMs: 100, capMs: 400 }, pauseThreshold: 4 },
    });
    await waitFor('paused', () => worker.status().state === 'paused');
    expect(await metricValue(metrics.deliveryPaused)).toBe(1);
    const before = emulator.eventPosts;
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const during = emulator.eventPosts - before;
    // Without the shared pause, 200 due events × 8 connections would send hundreds here.
    // With it: one probe at a time, at least 200 ms apart once the wait reaches its cap.
    expect(during).toBeLessThanOrEqual(10);
    expect(worker.status().pause).toMatchObject({ cause: 'timeback', problem: 'HTTP 503' });
    const untouched = eventStates(db.store.sqlite).filter((row) => row.attempts === 0).length;
    expect(untouched).toBeGreaterThan(150);

    emulator.clearFaults();
    await waitFor('all delivered after recovery', allDelivered(200), 15_000);
    expect(worker.status().state).toBe('running');
    expect(new Set(receivedIds()).size).toBe(200);
    expect(await metricValue(metrics.deliveryPaused)).toBe(0);
  });

  it('sets delivery_paused as the pause opens and closes, never once per event', async () => {
    const sets: number[] = [];
    const set = metrics.deliveryPaused.set.bind(metrics.deliveryPaused);
    metrics.deliveryPaused.set = (value: number) => {
      sets.push(value);
      set(value);
    };
    emulator.addFault({ route: 'events', status: 503, times: 6 });
    insertTranslatedEvents(db.store.sqlite, 200);
    expect(await metricValue(metrics.deliveryPaused)).toBe(0);
    startWorker({ env: { DELIVERY_CONCURRENCY: '4' }, tuning: { backoff: { baseMs: 20, capMs: 40 }, pauseThreshold: 4 } });
    await waitFor('all delivered after recovery', allDelivered(200), 15_000);

    // 200 delivered and 6 refused: one 1 when the pause opened (and one per failed probe), one 0 when it closed.
    expect(sets.at(-1)).toBe(0);
    expect(sets.filter((value) => value === 0)).toHaveLength(1);
    expect(sets.filter((value) => value === 1).length).toBeGreaterThanOrEqual(1);
    expect(sets.length).toBeLessThanOrEqual(4);
    expect(await metricValue(metrics.deliveryPaused)).toBe(0);
  });

  it('keeps every event and pauses, saying what to check, when the app may not post events (403)', async () => {
    emulator.addFault({ route: 'events', status: 403, body: { error: 'insufficient_scope' } });
    insertTranslatedEvents(db.store.sqlite, 40);
    const worker = startWorker({ tuning: { backoff: { baseMs: 100, capMs: 400 }, pauseThreshold: 4 } });
    await waitFor('paused', () => worker.status().state === 'paused');
    expect(worker.status().pause).toMatchObject({ cause: 'timeback', problem: expect.stringContaining('events.write scope') });
    expect(worker.problems()).toEqual([expect.stringMatching(/^TimeBack will not take events: .*events\.write scope/)]);
    expect(fateCounts(db.store.sqlite).dead ?? 0).toBe(0);

    // The scope is granted: everything goes through, nothing to replay.
    emulator.clearFaults();
    await waitFor('all delivered', allDelivered(40), 15_000);
    expect(worker.problems()).toEqual([]);
  });

  it('keeps a token whose scopes were fine after 403s: the pause probes with it, asking for no other', async () => {
    emulator.addFault({ route: 'events', status: 403, body: { error: 'forbidden' } });
    insertTranslatedEvents(db.store.sqlite, 10);
    const worker = startWorker({ env: { DELIVERY_CONCURRENCY: '2' }, tuning: { pauseThreshold: 3 } });
    await waitFor('paused', () => worker.status().state === 'paused');
    // Three probes after the pause opened, each refused.
    await waitFor('probes refused', () => emulator.eventPosts >= 6);
    expect(emulator.count('token')).toBe(1);
    emulator.clearFaults();
    await waitFor('all delivered', allDelivered(10));
    expect(emulator.count('token')).toBe(1);
  });

  it('takes up events.write granted at TimeBack while paused on 403s, without a restart, one new token per probe', async () => {
    await emulator.close();
    // TimeBack issues tokens without events.write (the app lacks it) and refuses events with them.
    emulator = await startTimebackEmulator({ grantedScopes: [ROSTER_READONLY], narrowsScopes: true });
    insertTranslatedEvents(db.store.sqlite, 12);
    const threshold = 4;
    const worker = startWorker({ env: { DELIVERY_CONCURRENCY: '2' }, tuning: { pauseThreshold: threshold } });
    await waitFor('paused', () => worker.status().state === 'paused');
    await waitFor('probes refused', () => emulator.eventPosts >= threshold + 3);
    expect(fateCounts(db.store.sqlite)).toMatchObject({ pending: 12 });
    expect(emulator.received).toHaveLength(0);

    const asked = emulator.requests.filter((r) => r.route === 'token' || r.route === 'events');
    // Before the pause opened (the threshold-th 403 was answered before the worker counted it),
    // the 403s asked for no new token: the first token served them all.
    const thresholdth = asked.filter((r) => r.route === 'events').at(threshold - 1)!;
    expect(asked.slice(0, asked.indexOf(thresholdth)).filter((r) => r.route === 'token')).toHaveLength(1);
    // After it, a new token only for a probe, after a 403: never two token requests in a row.
    const routes = asked.map((r) => r.route);
    expect(routes.some((route, i) => route === 'token' && routes[i + 1] === 'token')).toBe(false);
    expect(emulator.count('token')).toBeGreaterThan(1);
    expect(emulator.requests.filter((r) => r.route === 'events').every((r) => r.status === 403)).toBe(true);

    // The admin grants the scope at TimeBack: the next probe's new token carries it.
    emulator.grantedScopes = [EVENTS_WRITE_SCOPE, ROSTER_READONLY];
    await waitFor('all delivered', allDelivered(12), 15_000);
    expect(worker.status()).toMatchObject({ state: 'running', token: 'ok' });
    expect(worker.problems()).toEqual([]);
  });

  it.each([
    ['a freshly issued token is refused too (401)', 401, /^TimeBack will not take events: .*freshly issued token.*TIMEBACK_TOKEN_URL/],
    ['the events endpoint redirects (301)', 301, /^TimeBack will not take events: .*redirect.*TIMEBACK_BASE_URL/],
  ])('keeps every event and says what to check when %s', async (_, status, said) => {
    emulator.addFault({ route: 'events', status });
    insertTranslatedEvents(db.store.sqlite, 8);
    const worker = startWorker({ tuning: { backoff: { baseMs: 100, capMs: 400 } } });
    await waitFor('the problem named', () => worker.problems().length > 0);
    expect(worker.problems()).toEqual([expect.stringMatching(said)]);
    expect(fateCounts(db.store.sqlite).dead ?? 0).toBe(0);

    emulator.clearFaults();
    await waitFor('all delivered', allDelivered(8), 15_000);
    expect(worker.problems()).toEqual([]);
  });

  it('pauses without touching events when TimeBack refuses the credentials, and says why', async () => {
    const inserted = insertTranslatedEvents(db.store.sqlite, 5);
    const worker = startWorker({ env: { TIMEBACK_CLIENT_SECRET: 'wrong-secret' } });
    await waitFor('token refused', () => worker.status().token === 'rejected');

    expect(worker.problems()).toEqual([expect.stringContaining('TimeBack refused the client credentials')]);
    expect(worker.status()).toMatchObject({ state: 'paused', pause: { cause: 'credentials' } });
    expect(await metricValue(metrics.deliveryPaused)).toBe(1);
    expect(emulator.eventPosts).toBe(0);
    expect(eventStates(db.store.sqlite).map((row) => [row.fate, row.attempts])).toEqual(inserted.map(() => ['pending', 0]));
  });

  it('names the token problem as it is on /readyz, not always as refused credentials', async () => {
    insertTranslatedEvents(db.store.sqlite, 2);
    const worker = startWorker({ env: { TIMEBACK_TOKEN_URL: `${emulator.url}/no-token-here` } });
    await waitFor('token refused', () => worker.status().token === 'rejected');

    const [problem] = worker.problems();
    expect(problem).toMatch(/^No OAuth token endpoint at .*\/no-token-here .*check TIMEBACK_TOKEN_URL; delivery is paused until a token can be obtained$/);
    expect(problem).not.toContain('refused the client credentials');
  });

  it('backs off while the token endpoint is down, without touching events, then delivers', async () => {
    emulator.addFault({ route: 'token', status: 503, times: 2 });
    insertTranslatedEvents(db.store.sqlite, 5);
    const worker = startWorker({ tuning: { backoff: { baseMs: 100, capMs: 200 } } });
    await waitFor('token unavailable', () => worker.status().token === 'unavailable');
    expect(worker.status()).toMatchObject({ state: 'paused', pause: { cause: 'token' } });
    expect(worker.problems()).toEqual([]);
    expect(await metricValue(metrics.deliveryPaused)).toBe(1);

    await waitFor('all delivered', allDelivered(5));
    expect(await metricValue(metrics.deliveryPaused)).toBe(0);
    expect(emulator.count('token')).toBe(3);
    expect(emulator.eventPosts).toBe(5);
    expect(eventStates(db.store.sqlite).every((row) => row.attempts === 1)).toBe(true);
    expect(worker.status()).toMatchObject({ state: 'running', token: 'ok' });
  });

  it('when the results cannot be committed, sends nothing more and writes the results it has once it can', async () => {
    // A full disk fails every commit at once; here another connection holds the write lock
    // and this one does not wait for it, which fails the same way.
    // Slow answers, so that POSTs are still on their way when the first commit fails, as on a
    // loaded machine: they are answered, and their results wait with the others.
    emulator.latencyMs = 50;
    insertTranslatedEvents(db.store.sqlite, 20);
    db.store.sqlite.pragma('busy_timeout = 0');
    const locker = new Database(db.file);
    try {
      locker.exec('BEGIN IMMEDIATE');
      const worker = startWorker();
      await waitFor('the results refused', () => worker.problems().length > 0);
      expect(worker.problems()).toEqual([expect.stringContaining('cannot record delivery results')]);
      // Counted once those have arrived (the emulator counts a POST when it answers).
      await waitFor('the POSTs in flight answered', () => worker.status().inFlight === 0);
      // Several safety polls later: nothing more was sent, and nothing sent again for want of its result.
      const sent = emulator.eventPosts;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(emulator.eventPosts).toBe(sent);
      expect(sent).toBeLessThan(20);
      expect(fateCounts(db.store.sqlite)).toEqual({ pending: 20 });

      locker.exec('ROLLBACK');
      await waitFor('all delivered', allDelivered(20));
      expect(emulator.eventPosts).toBe(20);
      expect(eventStates(db.store.sqlite).every((row) => row.attempts === 1)).toBe(true);
      expect(worker.problems()).toEqual([]);
    } finally {
      locker.close();
    }
  });

  it('on stop lets POSTs in flight finish and records them', async () => {
    emulator.latencyMs = 300;
    insertTranslatedEvents(db.store.sqlite, 4);
    const worker = startWorker();
    await waitFor('in flight', () => worker.status().inFlight === 4);
    await worker.stop(Date.now() + 5_000);
    expect(fateCounts(db.store.sqlite)).toEqual({ delivered: 4 });
  });

  /** The warning a stop past its deadline logs, with its fields. */
  const deadlineWarnings = (captured: ReturnType<typeof captureLog>) =>
    captured
      .lines()
      .filter((line) => String(line.msg).startsWith('shutdown deadline reached'))
      .map(({ level, msg, inFlight, waitingForToken }) => ({ level, msg, inFlight, waitingForToken }));

  it('on stop past the deadline aborts hanging POSTs and leaves their events due', async () => {
    emulator.addFault({ route: 'events', hang: true });
    const inserted = insertTranslatedEvents(db.store.sqlite, 3);
    const captured = captureLog();
    const worker = startWorker({ log: captured.log });
    await waitFor('in flight', () => worker.status().inFlight === 3);
    await worker.stop(Date.now() + 100);
    expect(worker.status().state).toBe('stopped');
    expect(eventStates(db.store.sqlite).map(({ fate, stage, attempts }) => ({ fate, stage, attempts }))).toEqual(
      inserted.map(() => ({ fate: 'pending', stage: 'deliver', attempts: 0 })),
    );
    expect(deadlineWarnings(captured)).toEqual([
      { level: 'warn', msg: 'shutdown deadline reached; aborting POSTs in flight (their events are sent again on the next start)', inFlight: 3, waitingForToken: 0 },
    ]);
  });

  /** Starts a worker, has TimeBack refuse its token and its token endpoint hang, then stops it past the deadline. */
  async function stopWhileTokenHangs(hangingPosts: number) {
    const captured = captureLog();
    const worker = startWorker({ log: captured.log });
    await waitFor('a token', () => worker.status().token === 'ok');
    // TimeBack stops taking that token (a POST gets 401 and asks for a new one), and its token endpoint stops answering.
    emulator.validTokens.clear();
    emulator.addFault({ route: 'token', hang: true });
    if (hangingPosts > 0) emulator.addFault({ route: 'events', hang: true, times: hangingPosts });
    insertTranslatedEvents(db.store.sqlite, 3);
    await waitFor('a token request hanging', () => emulator.requests.some((r) => r.route === 'token' && r.status === 0));
    await worker.stop(Date.now() + 100);
    expect(worker.status().state).toBe('stopped');
    expect(fateCounts(db.store.sqlite)).toEqual({ pending: 3 });
    return deadlineWarnings(captured);
  }

  it('on stop past the deadline says it cuts the token request when that is what deliveries wait for', async () => {
    expect(await stopWhileTokenHangs(0)).toEqual([
      {
        level: 'warn',
        msg: 'shutdown deadline reached; cutting the TimeBack token request that deliveries wait for (their events are sent again on the next start)',
        inFlight: 3,
        waitingForToken: 3,
      },
    ]);
  });

  it('on stop past the deadline names both the POSTs and the token request it cuts', async () => {
    expect(await stopWhileTokenHangs(1)).toEqual([
      {
        level: 'warn',
        msg: 'shutdown deadline reached; aborting POSTs in flight and the TimeBack token request that other deliveries wait for (their events are sent again on the next start)',
        inFlight: 3,
        waitingForToken: 2,
      },
    ]);
  });
});

describe('delivery worker stopping while a token is asked for after a 401', () => {
  // The shutdown cut the token request, not TimeBack: nothing more was learned about the event,
  // and one past DELIVERY_MAX_AGE must not go dead for it (the next start would still send it).
  it('leaves an old event pending with its attempts as they were, not dead with the 401', async () => {
    const worker = startWorker({ env: { DELIVERY_MAX_AGE: '3600' } });
    await waitFor('a token', () => worker.status().token === 'ok');
    emulator.validTokens.clear();
    emulator.addFault({ route: 'token', hang: true });
    const [event] = insertTranslatedEvents(db.store.sqlite, 1, { attempts: 2, firstAttemptAt: Date.now() - 2 * 3_600_000, nextAttemptAt: Date.now() - 1 });
    worker.notify();
    await waitFor('a token request hanging', () => emulator.requests.some((r) => r.route === 'token' && r.status === 0));
    await worker.stop(Date.now() + 100);
    expect(eventStates(db.store.sqlite).find((row) => row.seq === event!.seq)).toMatchObject({ fate: 'pending', stage: 'deliver', attempts: 2 });
  });
});
