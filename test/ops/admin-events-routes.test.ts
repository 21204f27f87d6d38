import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config.ts';
import type { IdentityAnswer, IdentityResolver } from '../../src/identity/identity-resolver.ts';
import { ingestKeysFromDigests } from '../../src/ingest/api-keys.ts';
import { createLogger } from '../../src/log.ts';
import { loadRules } from '../../src/mapping/rule-loader.ts';
import { createTranslateWorker, type TranslateWorker } from '../../src/mapping/translate-worker.ts';
import { createMetrics } from '../../src/metrics.ts';
import { MAX_REPLAY_BODY_BYTES, adminEventsRoutes } from '../../src/ops/admin-events-routes.ts';
import type { RetryWhileBusyOptions } from '../../src/store/lock-wait.ts';
import { MAX_REASON_CHARS, MAX_REPLAY_ID_CHARS } from '../../src/store/replay.ts';
import { UNTIL_CONFIGURED } from '../../src/store/schema.ts';
import { lockAfterFirstChunk } from '../helpers/lock-after-first-chunk.ts';
import { serveOnLoopback, type LoopbackServer } from '../helpers/loopback-server.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { tempStore } from '../helpers/temp-store.ts';
import { eventStates, fateCounts, insertTranslatedEvents } from '../helpers/translated-events.ts';
import { eventLoopTurns, waitFor } from '../helpers/wait-for.ts';
import { APP_ID, forumPost, STUDENT } from '../mapping/learn-events.ts';
import { insertStoredEvents } from '../mapping/stored-events.ts';
import { replaceInput } from '../helpers/stored-inputs.ts';
import { firstUnshown, UNSHOWN_SAMPLE } from '../helpers/unshown.ts';

const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';
/** How long a replay's body may stall here before its 408 (30 s in the gateway). */
const BODY_IDLE_MS = 200;
let db: ReturnType<typeof tempStore>;
let wakes = 0;
/** What a replay's wake reaches besides the count: the translate stage, where a test runs one. */
let translation: TranslateWorker | undefined;

/** The app on a real HTTP server on 127.0.0.1, as the gateway serves it. */
let server: LoopbackServer;

beforeEach(async () => {
  db = tempStore('admin-events-');
  wakes = 0;
  lockRetry = undefined;
  // A new app for each request, so it takes the test's lockRetry as the test set it.
  server = await serveOnLoopback((request, env) => app().fetch(request, env));
});
afterEach(async () => {
  await server.close();
  await translation?.stop(Date.now() + 1_000);
  translation = undefined;
  db.cleanup();
});

let lockRetry: RetryWhileBusyOptions | undefined;

function onReplayed() {
  wakes += 1;
  translation?.wake();
}

function app() {
  const config = parseConfig({ DB_PATH: db.file, ADMIN_TOKEN, LOG_LEVEL: 'silent' });
  return createApp({
    config,
    store: db.store,
    log: createLogger('silent'),
    metrics: createMetrics(),
    ingestKeys: ingestKeysFromDigests([], 'environment'),
    readiness: async () => ({ ready: true, reasons: [] }),
    admin: [{ path: '', router: adminEventsRoutes({ store: db.store, onReplayed, lockRetry, bodyIdleMs: BODY_IDLE_MS }) }],
  });
}

const RULES_DIR = fileURLToPath(new URL('../mapping/rule-sets/blackboard', import.meta.url));
let rules: Awaited<ReturnType<typeof loadRules>>;
beforeAll(async () => {
  rules = await loadRules(RULES_DIR);
});

/** An identity resolver that finds STUDENT, holding every answer until `release()`. */
function heldLookups() {
  const asked: string[] = [];
  const waiting: Array<() => void> = [];
  let held = true;
  const answer: IdentityAnswer = { status: 'found', platformId: STUDENT.platformId };
  const resolver: IdentityResolver = {
    resolve(externalId) {
      asked.push(externalId);
      return held ? new Promise((resolve) => waiting.push(() => resolve(answer))) : Promise.resolve(answer);
    },
  };
  return {
    resolver,
    asked: () => asked,
    release() {
      held = false;
      for (const go of waiting.splice(0)) go();
    },
  };
}

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const at = (path: string) => `${server.url}${path}`;
const get = (path: string) => fetch(at(path), { headers: auth });
const post = (path: string, body: unknown) =>
  fetch(at(path), {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('GET /admin/events', () => {
  it('is behind the admin token', async () => {
    const res = await fetch(at('/admin/events'));
    expect(res.status).toBe(401);
  });

  it('lists newest first, filtered by fate and reason, paged with before', async () => {
    const dead = insertTranslatedEvents(db.store.sqlite, 3, { fate: 'dead', reason: 'http-400' });
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'dead', reason: 'max-age' });
    insertTranslatedEvents(db.store.sqlite, 4);

    const first = await get('/admin/events?fate=dead&reason=http-400&limit=2');
    expect(first.status).toBe(200);
    const page = (await first.json()) as { events: Array<{ seq: number; fate: string; reason: string }>; next: number };
    expect(page.events.map((event) => event.seq)).toEqual([dead[2]!.seq, dead[1]!.seq]);
    expect(page.events[0]).toMatchObject({ fate: 'dead', reason: 'http-400', sourceId: dead[2]!.sourceId });
    expect(page.next).toBe(dead[1]!.seq);

    const second = (await (await get(`/admin/events?fate=dead&reason=http-400&limit=2&before=${page.next}`)).json()) as {
      events: Array<{ seq: number }>;
      next: number | null;
    };
    expect(second.events.map((event) => event.seq)).toEqual([dead[0]!.seq]);
    expect(second.next).toBeNull();

    const pending = (await (await get('/admin/events?fate=pending')).json()) as { events: unknown[] };
    expect(pending.events).toHaveLength(4);
  });

  it('rejects a bad filter with a message naming it', async () => {
    const res = await get('/admin/events?fate=lost');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { code: 'invalid-request', message: 'fate: must be one of pending, delivered, skipped, rejected, dead' },
    });
    expect((await get('/admin/events?limit=5000')).status).toBe(400);
    const message = async (query: string) => ((await (await get(`/admin/events?${query}`)).json()) as { error: { message: string } }).error.message;
    expect(await message('limit=ten')).toBe('limit: must be a number');
    expect(await message('limit=2.5')).toBe('limit: must be a whole number');
    // Event numbers run from 1 to 2^53 - 1: past it, or at 0, the message said "must be an
    // event number" with no range, however many digits the number had.
    for (const before of ['-3', '0', '2.5', 'abc', '9007199254740992', '99999999999999999999', '9'.repeat(400), `-${'9'.repeat(400)}`]) {
      expect(await message(`before=${before}`)).toBe('before: must be an event number from 1 to 9007199254740991');
    }
    expect((await get('/admin/events?before=9007199254740991')).status).toBe(200);
    // Whole numbers past what a double holds exactly: they were "not a whole number", and a problem more.
    expect(await message('limit=99999999999999999999')).toBe('limit: must be at most 500');
    expect(await message('limit=-99999999999999999999')).toBe('limit: must be at least 1');
    // Past what a double holds at all (it reads as Infinity): still its bound, as the README says.
    expect(await message(`limit=${'9'.repeat(400)}`)).toBe('limit: must be at most 500');
    expect(await message(`limit=-${'9'.repeat(400)}`)).toBe('limit: must be at least 1');
  });

  it('refuses a reason longer than any the gateway gives, as replay does, without echoing it', async () => {
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    const longest = await get(`/admin/events?reason=${'r'.repeat(MAX_REASON_CHARS)}`);
    expect(longest.status).toBe(200);
    expect(await longest.json()).toEqual({ events: [], next: null });
    for (const query of [`reason=${'r'.repeat(MAX_REASON_CHARS + 1)}`, `fate=dead&reason=${'r'.repeat(10_000)}`]) {
      const res = await get(`/admin/events?${query}`);
      expect(res.status).toBe(400);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({
        error: { code: 'invalid-request', message: `reason: must be at most ${MAX_REASON_CHARS} characters; reasons are short codes such as http-400` },
      });
      expect(text).not.toContain('rrrr');
    }
  });

  it('refuses an unknown parameter instead of listing every event without the filter', async () => {
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    insertTranslatedEvents(db.store.sqlite, 2);
    const res = await get('/admin/events?fates=dead');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { code: 'invalid-request', message: 'fates: unknown parameter; use fate (or status), reason, limit, before' },
    });
  });

  it('refuses a query parameter on one event, which takes none', async () => {
    const [event] = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    expect((await get(`/admin/events/${event!.seq}`)).status).toBe(200);
    const res = await get(`/admin/events/${event!.seq}?fate=dead`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'invalid-request', message: 'fate: unknown parameter; this route takes none' } });
  });

  it('takes status, the name replay uses, for fate, with the same values', async () => {
    const [dead] = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    insertTranslatedEvents(db.store.sqlite, 2);
    const listed = (await (await get('/admin/events?status=dead')).json()) as { events: Array<{ seq: number }> };
    expect(listed.events.map((event) => event.seq)).toEqual([dead!.seq]);
    const bad = await get('/admin/events?status=lost');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: 'invalid-request', message: 'status: must be one of pending, delivered, skipped, rejected, dead' } });
    expect(await (await get('/admin/events?status=dead&fate=skipped')).json()).toEqual({
      error: { code: 'invalid-request', message: 'fate: status and fate are one filter; give one' },
    });
  });
});

describe('GET /admin/events/:seq', () => {
  it('shows input, output, attempts and the last answer', async () => {
    const [event] = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400', attempts: 1 });
    db.store.sqlite
      .prepare(`UPDATE events SET last_status = 400, last_response = ?, detail = 'TimeBack refused the event with HTTP 400' WHERE seq = ?`)
      .run('{"message":"object.type: unrecognized"}', event!.seq);

    const res = await get(`/admin/events/${event!.seq}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      seq: event!.seq,
      fate: 'dead',
      reason: 'http-400',
      rule: 'assessment-item-completed',
      attempts: 1,
      lastStatus: 400,
      lastResponse: '{"message":"object.type: unrecognized"}',
      detail: 'TimeBack refused the event with HTTP 400',
      outputId: event!.outputId,
    });
    expect(body.input).toMatchObject({ id: `urn:uuid:${event!.sourceId}`, type: 'AssessmentItemEvent' });
    expect(body.output).toMatchObject({ id: event!.outputId, '@context': 'http://purl.imsglobal.org/ctx/caliper/v1p2' });
  });

  it('shows an event held until the gateway is configured as not scheduled', async () => {
    const [event] = insertTranslatedEvents(db.store.sqlite, 1);
    db.store.sqlite
      .prepare(`UPDATE events SET stage = 'translate', next_attempt_at = ?, detail = 'waiting: TIMEBACK_APP_ID is not set' WHERE seq = ?`)
      .run(UNTIL_CONFIGURED, event!.seq);
    const res = await get(`/admin/events/${event!.seq}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ fate: 'pending', stage: 'translate', nextAttemptAt: null, detail: 'waiting: TIMEBACK_APP_ID is not set' });
  });

  it('shows an input nested too deep to be written out again as its text', async () => {
    const [event] = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'skipped', reason: 'no-rule' });
    const deep = `{"id":"x","extensions":${'{"a":'.repeat(200_000)}{}${'}'.repeat(200_000)}}`;
    replaceInput(db.store.sqlite, event!.seq, deep);

    const res = await get(`/admin/events/${event!.seq}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ seq: event!.seq, fate: 'skipped', input: deep });
    expect(body.output).toMatchObject({ id: event!.outputId });
  });

  it('shows an input over 1 MiB, which intake kept without reading, as its text', async () => {
    const [event] = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'rejected', reason: 'invalid-event' });
    const dense = `[${'{},'.repeat(400_000)}{}]`;
    replaceInput(db.store.sqlite, event!.seq, dense);

    const res = await get(`/admin/events/${event!.seq}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ seq: event!.seq, fate: 'rejected', input: dense });
  });

  it('404s an unknown event and 400s a non-number', async () => {
    expect((await get('/admin/events/999')).status).toBe(404);
    const res = await get('/admin/events/abc');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^seq: /);
  });

  it('404s any event number no event has, and tells one out of range the range, however many digits it has', async () => {
    const largest = await get('/admin/events/9007199254740991');
    expect(largest.status).toBe(404);
    expect(await largest.json()).toEqual({ error: { code: 'not-found', message: 'No event 9007199254740991' } });
    for (const seq of ['0', '9007199254740992', '99999999999999999999', '9'.repeat(400), 'abc', '1.5']) {
      const res = await get(`/admin/events/${seq}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: { code: 'invalid-request', message: 'seq: must be an event number from 1 to 9007199254740991' } });
    }
  });
});

describe('POST /admin/replay', () => {
  it('re-queues matching events, says which, and wakes the pipeline', async () => {
    const dead = insertTranslatedEvents(db.store.sqlite, 2, { fate: 'dead', reason: 'http-400' });
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'max-age' });

    const res = await post('/admin/replay', { reason: 'http-400' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { requeued: number; events: Array<{ seq: number }> };
    expect(body.requeued).toBe(2);
    expect(body.events.map((event) => event.seq)).toEqual(dead.map((event) => event.seq));
    expect(wakes).toBe(1);
    expect(eventStates(db.store.sqlite).filter((row) => row.stage === 'translate')).toHaveLength(2);
  });

  it('refuses a filter sent as a query parameter instead of replaying every dead event', async () => {
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'max-age' });

    const res = await post('/admin/replay?reason=max-age', {});
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        code: 'invalid-request',
        message: 'reason: unknown parameter; send the filters (status, reason, since, ids) as the JSON body; nothing was replayed',
      },
    });
    expect(wakes).toBe(0);
    expect(eventStates(db.store.sqlite).filter((row) => row.stage === 'translate')).toHaveLength(0);
  });

  it('waits for a write lock held elsewhere a short while at a time, the event loop free between, then replays', async () => {
    const dead = insertTranslatedEvents(db.store.sqlite, 3, { fate: 'dead', reason: 'http-400' });
    // Another connection (the writer thread committing a large envelope) holds the lock.
    const locker = new Database(db.file);
    try {
      locker.exec('BEGIN IMMEDIATE');
      let answered = false;
      const replaying = post('/admin/replay', { reason: 'http-400' }).then((res) => {
        answered = true;
        return res;
      });
      // With the connection's 5 s busy timeout the loop would not turn until the replay failed.
      await eventLoopTurns();
      expect(answered).toBe(false);
      expect(fateCounts(db.store.sqlite)).toEqual({ dead: dead.length });

      locker.exec('ROLLBACK');
      const res = await replaying;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { requeued: number }).requeued).toBe(dead.length);
      expect(fateCounts(db.store.sqlite)).toEqual({ pending: dead.length });
    } finally {
      if (locker.inTransaction) locker.exec('ROLLBACK');
      locker.close();
    }
  });

  it('answers 503 busy when the lock stays held past the retries, with nothing replayed', async () => {
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'dead', reason: 'http-400' });
    lockRetry = { giveUpAfterMs: 300 };
    const locker = new Database(db.file);
    try {
      locker.exec('BEGIN IMMEDIATE');
      const res = await post('/admin/replay', { reason: 'http-400' });
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: { code: 'busy', message: expect.stringContaining('send the replay again') } });
      expect(wakes).toBe(0);
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    expect(fateCounts(db.store.sqlite)).toEqual({ dead: 2 });
  });

  it('wakes the translate stage for the chunks it replayed before a 503, so they do not wait for its next poll', async () => {
    // Two chunks' worth (a replay re-queues 1,000 events at a time).
    const seqs = insertStoredEvents(db.store.sqlite, Array.from({ length: 1_200 }, () => forumPost()), { receivedAt: Date.now() });
    db.store.sqlite.prepare(`UPDATE events SET fate = 'dead', stage = NULL, reason = 'http-400', next_attempt_at = NULL`).run();
    // Student lookups wait until the test lets them go: that a lookup was asked for is the
    // sign the stage picked the replayed events up.
    const lookups = heldLookups();
    translation = createTranslateWorker({
      config: parseConfig({ DB_PATH: db.file, TIMEBACK_APP_ID: APP_ID, LOG_LEVEL: 'silent' }),
      store: db.store,
      log: createLogger('silent'),
      metrics: createMetrics(),
      identity: lookups.resolver,
      rules: () => rules,
      // A poll longer than the test may run: only a wake can have the stage see them in time.
      tuning: { pollIntervalMs: 600_000 },
    });
    translation.start();
    lockRetry = { giveUpAfterMs: 300 };

    // Once the first chunk is in, another connection takes the write lock and keeps it past
    // the replay's retries.
    const lock = lockAfterFirstChunk(db.file);
    try {
      const res = await post('/admin/replay', { reason: 'http-400' });
      expect(lock.locked()).toBe(true);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        error: {
          code: 'busy',
          message: 'The database stayed busy with other writes; 1000 events were replayed before that and stay replayed: send the replay again for the rest',
        },
      });
      expect(wakes).toBe(1);
      await waitFor("the translate stage to look up the replayed events' student", () => lookups.asked().length > 0);
      expect(lookups.asked()).toContain(STUDENT.externalId);
    } finally {
      lock.release();
    }
    lookups.release();
    const replayed = new Set(seqs.slice(0, 1_000));
    await waitFor('the replayed events translated', () =>
      eventStates(db.store.sqlite)
        .filter((row) => replayed.has(row.seq))
        .every((row) => row.stage === 'deliver'),
    );
    // The second chunk was never replayed: still dead, for the next replay.
    expect(eventStates(db.store.sqlite).filter((row) => row.fate === 'dead').map((row) => row.seq)).toEqual(seqs.slice(1_000));
  });

  it('lets the event loop run between chunks of a large replay, so Learn\'s requests are served meanwhile', async () => {
    insertTranslatedEvents(db.store.sqlite, 2_500, { fate: 'dead', reason: 'http-503' });
    const dead = db.store.sqlite.prepare(`SELECT count(*) AS n FROM events WHERE fate = 'dead'`).pluck();
    // What the event loop saw while the replay ran: each turn it had, how many were still dead.
    const seen: number[] = [];
    let replying = true;
    const watch = () => {
      if (!replying) return;
      seen.push(dead.get() as number);
      setImmediate(watch);
    };
    setImmediate(watch);
    const res = await post('/admin/replay', { reason: 'http-503' });
    replying = false;
    expect(((await res.json()) as { requeued: number }).requeued).toBe(2_500);
    // Part-way: some chunks done, others not yet (in one go, the loop saw only before and after).
    expect(seen.some((n) => n > 0 && n < 2_500)).toBe(true);
  });

  it('names the events it left alone, with their fates', async () => {
    const [dead] = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    const [delivered, deliveredToo] = insertTranslatedEvents(db.store.sqlite, 2, { fate: 'delivered', deliveredAt: Date.now() });
    const res = await post('/admin/replay', { ids: [dead!.seq, delivered!.seq, deliveredToo!.outputId, 'nope', 999_999] });
    const body = (await res.json()) as { requeued: number; notReplayed: unknown };
    expect(body.requeued).toBe(1);
    const replayable = ['dead', 'skipped', 'rejected'];
    expect(body.notReplayed).toEqual([
      { id: delivered!.seq, fates: ['delivered'], lookedIn: ['pending', 'delivered', 'skipped', 'rejected', 'dead'] },
      // Learn and output ids are indexed for the replayable events only: a delivered one is not looked for.
      { id: deliveredToo!.outputId, fates: [], lookedIn: replayable },
      { id: 'nope', fates: [], lookedIn: replayable },
      { id: 999_999, fates: [], lookedIn: ['pending', 'delivered', 'skipped', 'rejected', 'dead'] },
    ]);
  });

  it('echoes a named id with a bidi override or C1 control escaped, parsing to the id as sent', async () => {
    const tricky = `urn:uuid:${UNSHOWN_SAMPLE}`;
    const res = await post('/admin/replay', { ids: [tricky] });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(firstUnshown(text)).toBeUndefined();
    expect((JSON.parse(text) as { notReplayed: unknown }).notReplayed).toEqual([{ id: tricky, fates: [], lookedIn: ['dead', 'skipped', 'rejected'] }]);
  });

  it('names the reasons there are when the reason asked for matches no event at all, as a typo would', async () => {
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'dead', reason: 'http-400' });
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'skipped', reason: 'no-rule' });
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'rejected', reason: 'invalid-output' });
    const typo = await post('/admin/replay', { reason: 'http400' });
    expect(typo.status).toBe(200);
    expect(await typo.json()).toEqual({
      requeued: 0,
      events: [],
      truncated: false,
      notReplayed: [],
      unknownReason: { reason: 'http400', reasons: ['http-400', 'invalid-output', 'no-rule'] },
    });
    // A reason some event has, left out by another filter, is no typo: no such field.
    const elsewhere = (await (await post('/admin/replay', { reason: 'no-rule', status: 'dead' })).json()) as Record<string, unknown>;
    expect(elsewhere).toMatchObject({ requeued: 0 });
    expect(elsewhere).not.toHaveProperty('unknownReason');
    // Nor a replay that found events.
    const found = (await (await post('/admin/replay', { reason: 'http-400' })).json()) as Record<string, unknown>;
    expect(found).toMatchObject({ requeued: 2 });
    expect(found).not.toHaveProperty('unknownReason');
    expect(wakes).toBe(1);
  });

  it('says there are no reasons at all when no event has one', async () => {
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'delivered', deliveredAt: Date.now() });
    const body = (await (await post('/admin/replay', { reason: 'http-400' })).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ requeued: 0, unknownReason: { reason: 'http-400', reasons: [] } });
  });

  it('with an empty body replays every dead event', async () => {
    insertTranslatedEvents(db.store.sqlite, 3, { fate: 'dead', reason: 'http-400' });
    const res = await fetch(at('/admin/replay'), { method: 'POST', headers: auth });
    expect(((await res.json()) as { requeued: number }).requeued).toBe(3);
  });

  it('replays rejected events whose rule may since be fixed, not malformed input', async () => {
    const [badOutput] = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'rejected', reason: 'invalid-output' });
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'rejected', reason: 'invalid-event' });
    const res = await post('/admin/replay', { status: 'rejected' });
    const body = (await res.json()) as { requeued: number; events: Array<{ seq: number; previousReason: string }> };
    expect(body.events).toEqual([expect.objectContaining({ seq: badOutput!.seq, previousFate: 'rejected', previousReason: 'invalid-output' })]);
    expect(eventStates(db.store.sqlite).map((row) => row.fate).sort()).toEqual(['pending', 'rejected']);
  });

  it('takes 10,000 Learn ids, the most a replay names, inside its body limit, and refuses a body over it', async () => {
    const [dead] = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    const ids = [dead!.sourceId, ...Array.from({ length: 9_999 }, () => `urn:uuid:${randomUUID()}`)];
    expect(JSON.stringify({ ids }).length).toBeLessThan(MAX_REPLAY_BODY_BYTES);
    const res = await post('/admin/replay', { ids });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { requeued: number }).requeued).toBe(1);

    const over = await post('/admin/replay', { reason: 'x'.repeat(MAX_REPLAY_BODY_BYTES) });
    expect(over.status).toBe(413);
    expect(await over.json()).toEqual({ error: { code: 'payload-too-large', message: expect.stringContaining("over POST /admin/replay's limit of 1048576 bytes; nothing was replayed") } });
    expect(wakes).toBe(1);
  });

  it('gives up on a body that stops arriving, saying nothing was replayed', async () => {
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'dead', reason: 'http-400' });
    // Half a body, then nothing: the sender neither finishes nor hangs up.
    const res = await rawRequest(server.url, {
      path: '/admin/replay',
      headers: [
        ['Authorization', `Bearer ${ADMIN_TOKEN}`],
        ['Content-Type', 'application/json'],
        ['Content-Length', '40'],
      ],
      body: '{"status":"dead",',
      framing: 'none',
    });
    expect(res.status).toBe(408);
    expect(JSON.parse(res.body)).toEqual({
      error: { code: 'body-timeout', message: `No part of the body arrived for ${BODY_IDLE_MS / 1000} s; nothing was replayed. Send it again.` },
    });
    expect(res.headers.connection).toBe('close');
    expect(fateCounts(db.store.sqlite)).toEqual({ dead: 2 });
    expect(wakes).toBe(0);
  });

  it('tells an event number out of range its range, however many digits it has, replaying nothing', async () => {
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'dead', reason: 'http-400' });
    // 1e400 is Infinity to JSON.parse: it read "Invalid input"; 1e20 zod's "Too big: expected int to be <=…".
    for (const id of ['0', '-1', '1.5', '9007199254740992', '99999999999999999999', '1e400', '-1e400']) {
      const res = await rawRequest(server.url, {
        method: 'POST',
        path: '/admin/replay',
        headers: [
          ['Authorization', `Bearer ${ADMIN_TOKEN}`],
          ['Content-Type', 'application/json'],
        ],
        body: `{"ids":[1,${id}]}`,
      });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toEqual({ error: { code: 'invalid-request', message: 'ids[1]: must be an event number from 1 to 9007199254740991' } });
    }
    expect(fateCounts(db.store.sqlite)).toEqual({ dead: 2 });
    expect(wakes).toBe(0);
  });

  it('refuses an empty ids list, which names no event, replaying nothing', async () => {
    // A script whose own filter found nothing sends this: a 200 with requeued 0 would pass for a replay done.
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'dead', reason: 'http-400' });
    for (const body of [{ ids: [] }, { ids: [], reason: 'http-400' }]) {
      const res = await post('/admin/replay', body);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: { code: 'invalid-request', message: 'ids: give at least one event number or id; an empty list names no event' },
      });
    }
    expect(fateCounts(db.store.sqlite)).toEqual({ dead: 2 });
    expect(wakes).toBe(0);
  });

  it('refuses a reason longer than any the gateway gives without echoing it', async () => {
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    const longest = await post('/admin/replay', { reason: 'r'.repeat(MAX_REASON_CHARS) });
    expect(longest.status).toBe(200);
    expect(await longest.json()).toMatchObject({ requeued: 0, unknownReason: { reason: 'r'.repeat(MAX_REASON_CHARS) } });
    const res = await post('/admin/replay', { reason: 'r'.repeat(200_000) });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      error: { code: 'invalid-request', message: `reason: must be at most ${MAX_REASON_CHARS} characters; reasons are short codes such as http-400` },
    });
    expect(text).not.toContain('rrrr');
    expect(wakes).toBe(0);
  });

  it('refuses a Learn or output id longer than any it can name, without echoing it, and echoes the ids it takes whole', async () => {
    // Learn's event ids are UUIDs (36 characters), the gateway's output ids urn:uuid (45): an
    // id of half a megabyte, inside the body limit, was looked up and came back whole in notReplayed.
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    const longest = `u${'i'.repeat(MAX_REPLAY_ID_CHARS - 1)}`;
    const taken = await post('/admin/replay', { ids: [longest] });
    expect(taken.status).toBe(200);
    expect(await taken.json()).toMatchObject({ requeued: 0, notReplayed: [{ id: longest, fates: [] }] });
    const res = await post('/admin/replay', { ids: [1, ` ${'i'.repeat(500_000)}\n`] });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      error: {
        code: 'invalid-request',
        message: `ids[1]: must be at most ${MAX_REPLAY_ID_CHARS} characters (this one has 500000); name an event with a longer id by its event number`,
      },
    });
    expect(text).not.toContain('iiii');
    expect(fateCounts(db.store.sqlite)).toEqual({ dead: 1 });
    expect(wakes).toBe(0);
  });

  it('validates the body', async () => {
    const bad = await post('/admin/replay', { status: 'pending' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toBe('status: pending events are not replayed; must be one of dead, skipped, rejected');
    const misnamed = await post('/admin/replay', { id: [1] });
    expect(misnamed.status).toBe(400);
    expect(((await misnamed.json()) as { error: { message: string } }).error.message).toBe('id: unknown field; use status (or fate), reason, since, ids');
    const notJson = await post('/admin/replay', '{nope');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe('invalid-json');
    expect(wakes).toBe(0);
  });
});
