import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { rosterCacheCommand } from '../../src/cli/roster-cache.ts';
import type { Config } from '../../src/config.ts';
import { startTimebackEmulator, type EmulatedUser, type TimebackEmulator } from '../../src/dev/timeback-emulator.ts';
import { createIdentityResolver, type CachedRosterResolver } from '../../src/identity/cached-roster-resolver.ts';
import type { RosterAnswer } from '../../src/identity/roster-answer-write.ts';
import { createRosterCache } from '../../src/identity/roster-cache.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { openStore, type Store } from '../../src/store/database.ts';
import { startWriterThread } from '../../src/store/writer-thread.ts';
import { createTokenProvider, type ClientCredentialsTokenProvider } from '../../src/timeback/client-credentials-token.ts';
import {
  captureLog,
  HANG_DEADLINE_MS,
  makeTempDir,
  manualClock,
  testConfig,
  type CapturedLog,
  type ManualClock,
  type TempDir,
} from '../helpers/identity-harness.ts';
import { metricValue } from '../helpers/metric-value.ts';

const ADA = { sourcedId: randomUUID(), identifier: 'ada.l', email: 'ada@school.test' };
const TWIN_A = { sourcedId: randomUUID(), identifier: 'twin', email: 'twin-a@school.test' };
const TWIN_B = { sourcedId: randomUUID(), identifier: 'twin', email: 'twin-b@school.test' };
/** Ten students found only by their e-mail, the last of the three default strategies. */
const CLASS = Array.from({ length: 10 }, (_, i) => ({
  sourcedId: randomUUID(),
  identifier: `sis-${i}`,
  email: `student${i}@school.test`,
}));
const USERS: EmulatedUser[] = [ADA, TWIN_A, TWIN_B, ...CLASS];

let emulator: TimebackEmulator;
let temp: TempDir;

interface Harness {
  resolver: CachedRosterResolver;
  store: Store;
  tokens: ClientCredentialsTokenProvider;
  metrics: Metrics;
  captured: CapturedLog;
  clock: ManualClock;
  config: Config;
  close(): Promise<void>;
}

const open: Harness[] = [];

beforeAll(async () => {
  emulator = await startTimebackEmulator({ users: USERS });
});

beforeEach(() => {
  temp = makeTempDir('resolver');
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((harness) => harness.close()));
  emulator.clearFaults();
  emulator.latencyMs = 0;
  temp.remove();
});

afterAll(async () => {
  await emulator.close();
});

function harness(
  options: { clock?: ManualClock; credentials?: boolean; dir?: string; timeoutMs?: number; match?: string } = {},
): Harness {
  const { clock = manualClock(), credentials = true, dir = temp.dir, timeoutMs, match } = options;
  const config = testConfig({
    dir,
    timeoutMs,
    match,
    timebackUrl: emulator.url,
    clientId: credentials ? emulator.clientId : undefined,
    clientSecret: credentials ? emulator.clientSecret : undefined,
  });
  const captured = captureLog();
  const metrics = createMetrics();
  const store = openStore(config.dbPath);
  const tokens = createTokenProvider({ config, log: captured.log, metrics, now: clock.now });
  let resolver: CachedRosterResolver;
  try {
    resolver = createIdentityResolver({ config, store, log: captured.log, metrics, tokens, now: clock.now });
  } catch (err) {
    void tokens.close();
    store.close();
    throw err;
  }
  const built: Harness = {
    resolver,
    store,
    tokens,
    metrics,
    captured,
    clock,
    config,
    async close() {
      await resolver.close();
      await tokens.close();
      store.close();
    },
  };
  open.push(built);
  return built;
}

/** Roster requests since `from`, by the strategy each one tried. */
function lookupsByStrategy(from = 0): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const request of emulator.requests.slice(from)) {
    if (request.route !== 'roster') continue;
    const url = new URL(request.url, 'http://emulator');
    const filter = url.searchParams.get('filter');
    const strategy = filter === null ? 'sourcedId' : (/^(\w+)=/.exec(filter)?.[1] ?? 'unknown');
    counts[strategy] = (counts[strategy] ?? 0) + 1;
  }
  return counts;
}

function writeOverrides(dir: string, overrides: Record<string, string> | string) {
  const text =
    typeof overrides === 'string'
      ? overrides
      : `overrides:\n${Object.entries(overrides)
          .map(([externalId, platformId]) => `  ${JSON.stringify(externalId)}: ${platformId}\n`)
          .join('')}`;
  writeFileSync(join(dir, 'user-overrides.yaml'), text);
}

describe('cached roster resolver', () => {
  it('Should try the strategies in ROSTER_MATCH order and stop at the first match', async () => {
    const { resolver, store } = harness();
    const from = emulator.requests.length;

    expect(await resolver.resolve('  ada.l ')).toEqual({ status: 'found', platformId: ADA.sourcedId });

    // sourcedId comes first, but 'ada.l' is no UUID, so it cannot be a platform id: no request.
    expect(lookupsByStrategy(from)).toEqual({ identifier: 1 });
    expect(resolver.cache.get('ada.l')).toMatchObject({
      platformId: ADA.sourcedId,
      outcome: 'found',
      strategy: 'identifier',
    });
    expect(store.sqlite.prepare('SELECT count(*) AS n FROM roster_cache').get()).toEqual({ n: 1 });
  });

  it('Should find a student whose Learn id is their platform id with one lookup by id', async () => {
    const { resolver } = harness();
    const from = emulator.requests.length;
    expect(await resolver.resolve(ADA.sourcedId)).toEqual({ status: 'found', platformId: ADA.sourcedId });
    expect(lookupsByStrategy(from)).toEqual({ sourcedId: 1 });
    expect(resolver.cache.get(ADA.sourcedId)).toMatchObject({ outcome: 'found', strategy: 'sourcedId' });
  });

  it('Should make at most one lookup per strategy per student for 1,000 concurrent resolves of 10 students', async () => {
    emulator.latencyMs = 15;
    const { resolver, metrics } = harness();
    const from = emulator.requests.length;
    const tokensBefore = emulator.tokensIssued;
    const events = Array.from({ length: 1000 }, (_, i) => CLASS[i % CLASS.length]!);

    const answers = await Promise.all(events.map((student) => resolver.resolve(student.email)));

    answers.forEach((answer, i) => expect(answer).toEqual({ status: 'found', platformId: events[i]!.sourcedId }));
    expect(lookupsByStrategy(from)).toEqual({ identifier: 10, email: 10 });
    expect(emulator.tokensIssued - tokensBefore).toBe(1);

    // And once learned, the next thousand never leave the process.
    const again = emulator.requests.length;
    await Promise.all(events.map((student) => resolver.resolve(student.email)));
    expect(emulator.requests.length).toBe(again);
    expect(await metricValue(metrics.rosterCacheHits)).toBe(1000);
  });

  it('Should trust a found answer for ROSTER_CACHE_TTL', async () => {
    const { resolver, clock, config } = harness();
    await resolver.resolve('ada.l');
    const from = emulator.requests.length;

    clock.advance(config.roster.cacheTtlMs - 1);
    expect(await resolver.resolve('ada.l')).toEqual({ status: 'found', platformId: ADA.sourcedId });
    expect(emulator.requests.length).toBe(from);

    clock.advance(1);
    expect(await resolver.resolve('ada.l')).toEqual({ status: 'found', platformId: ADA.sourcedId });
    expect(lookupsByStrategy(from)).toEqual({ identifier: 1 });
  });

  it('Should ask the roster once per strategy for a student it does not find, even when ROSTER_MATCH names one twice', async () => {
    const { resolver } = harness({ match: 'email,identifier,email' });
    const from = emulator.requests.length;
    const answer = await resolver.resolve('nobody@school.test');
    expect(answer.status === 'not-found' && answer.detail).toBe('no TimeBack user has this email or identifier');
    expect(lookupsByStrategy(from)).toEqual({ email: 1, identifier: 1 });
  });

  it('Should remember not-found for ROSTER_NEGATIVE_TTL, then look again', async () => {
    const { resolver, clock, config } = harness();
    const from = emulator.requests.length;
    const first = await resolver.resolve('transfer-student');
    expect(first).toMatchObject({ status: 'not-found' });
    expect(first.status === 'not-found' && first.detail).toBe('no TimeBack user has this sourcedId, identifier or email');
    expect(lookupsByStrategy(from)).toEqual({ identifier: 1, email: 1 });

    clock.advance(config.roster.negativeTtlMs - 1);
    expect(await resolver.resolve('transfer-student')).toMatchObject({ status: 'not-found' });
    expect(lookupsByStrategy(from)).toEqual({ identifier: 1, email: 1 });

    // The student is rostered meanwhile: the next look after the TTL finds them.
    const rostered = { sourcedId: randomUUID(), identifier: 'transfer-student' };
    emulator.users.set(rostered.sourcedId, rostered);
    try {
      clock.advance(1);
      expect(await resolver.resolve('transfer-student')).toEqual({ status: 'found', platformId: rostered.sourcedId });
    } finally {
      emulator.users.delete(rostered.sourcedId);
    }
  });

  it('Should keep the cache across a restart', async () => {
    const first = harness();
    await first.resolver.resolve('ada.l');
    await first.resolver.resolve('nobody-here');
    await first.close();
    open.splice(open.indexOf(first), 1);

    const from = emulator.requests.length;
    const second = harness({ clock: first.clock });
    expect(await second.resolver.resolve('ada.l')).toEqual({ status: 'found', platformId: ADA.sourcedId });
    expect(await second.resolver.resolve('nobody-here')).toMatchObject({ status: 'not-found' });
    expect(emulator.requests.length).toBe(from);
  });

  it('Should answer ambiguous as not-found, cache it, and log no personal data', async () => {
    const { resolver, captured } = harness();
    const answer = await resolver.resolve('twin');
    expect(answer).toMatchObject({ status: 'not-found' });
    expect(answer.status === 'not-found' && answer.detail).toMatch(/^ambiguous: 2 TimeBack users have this identifier/);
    expect(resolver.cache.get('twin')).toMatchObject({ outcome: 'ambiguous', strategy: 'identifier', platformId: null });

    const warning = captured.lines().find((line) => line.msg === 'several TimeBack users match one Learn user; not crediting any');
    expect(warning).toMatchObject({ strategy: 'identifier', matches: 2 });
    for (const personal of ['"twin"', TWIN_A.email, TWIN_B.email]) expect(captured.text()).not.toContain(personal);

    const from = emulator.requests.length;
    expect(await resolver.resolve('twin')).toMatchObject({ status: 'not-found' });
    expect(emulator.requests.length).toBe(from);
  });

  it('Should wait (unavailable) through a roster outage, cache nothing, then recover', async () => {
    const { resolver } = harness();
    emulator.addFault({ route: 'roster', status: 500 });

    expect(await resolver.resolve('ada.l')).toMatchObject({ status: 'unavailable' });
    expect(resolver.cache.get('ada.l')).toBeUndefined();

    emulator.clearFaults();
    expect(await resolver.resolve('ada.l')).toEqual({ status: 'found', platformId: ADA.sourcedId });
  });

  it('Should pass on Retry-After from a throttled roster', async () => {
    const { resolver } = harness();
    emulator.addFault({ route: 'roster', status: 429, retryAfter: 7, times: 1 });
    expect(await resolver.resolve('ada.l')).toMatchObject({ status: 'unavailable', retryAfterMs: 7000 });
  });

  it('Should time out a hanging roster as unavailable', async () => {
    const { resolver } = harness({ timeoutMs: HANG_DEADLINE_MS });
    emulator.addFault({ route: 'roster', hang: true, times: 1 });
    expect(await resolver.resolve('ada.l')).toMatchObject({ status: 'unavailable' });
    expect(await resolver.resolve('ada.l')).toEqual({ status: 'found', platformId: ADA.sourcedId });
  }, 5_000);

  it('Should keep a known student flowing on an expired entry while the roster is down, but not a not-found', async () => {
    const { resolver, clock, config } = harness();
    await resolver.resolve('ada.l');
    await resolver.resolve('nobody-here');
    clock.advance(config.roster.cacheTtlMs);
    emulator.addFault({ route: 'roster', status: 503 });

    expect(await resolver.resolve('ada.l')).toEqual({ status: 'found', platformId: ADA.sourcedId });
    expect(await resolver.resolve('nobody-here')).toMatchObject({ status: 'unavailable' });
  });

  it('Should be unavailable, naming the variables, without credentials', async () => {
    const { resolver } = harness({ credentials: false });
    const from = emulator.requests.length;
    const answer = await resolver.resolve('ada.l');
    expect(answer).toEqual({
      status: 'unavailable',
      detail: 'roster lookups wait for TIMEBACK_CLIENT_ID, TIMEBACK_CLIENT_SECRET (or TIMEBACK_CLIENT_SECRET_FILE)',
      held: true,
      untilConfigured: true,
    });
    expect(resolver.waitingFor?.()).toBe('roster lookups wait for TIMEBACK_CLIENT_ID, TIMEBACK_CLIENT_SECRET (or TIMEBACK_CLIENT_SECRET_FILE)');
    expect(emulator.requests.length).toBe(from);
    expect(harness().resolver.waitingFor?.()).toBeUndefined();
  });

  it('Should be unavailable, not not-found, when TimeBack refuses the credentials', async () => {
    const config = testConfig({ dir: temp.dir, timebackUrl: emulator.url, clientId: emulator.clientId, clientSecret: 'wrong' });
    const captured = captureLog();
    const metrics = createMetrics();
    const store = openStore(config.dbPath);
    const tokens = createTokenProvider({ config, log: captured.log, metrics });
    const resolver = createIdentityResolver({ config, store, log: captured.log, metrics, tokens });
    try {
      const answer = await resolver.resolve('ada.l');
      // Held: the refusal is the gateway's set-up, not the student's, and must not run down their retries.
      expect(answer).toMatchObject({ status: 'unavailable', held: true });
      expect(answer.status === 'unavailable' && answer.detail).toContain('TIMEBACK_CLIENT_SECRET');
      expect(resolver.cache.get('ada.l')).toBeUndefined();
      // An outage of the roster itself is not held.
      emulator.addFault({ route: 'roster', status: 503, times: 1 });
      const { resolver: configured } = harness();
      expect(await configured.resolve('ada.l')).not.toHaveProperty('held');
    } finally {
      await resolver.close();
      await tokens.close();
      store.close();
    }
  });

  it('Should refuse empty and absurdly long ids without a lookup', async () => {
    const { resolver } = harness();
    const from = emulator.requests.length;
    expect(await resolver.resolve('   ')).toMatchObject({ status: 'not-found' });
    expect(await resolver.resolve('x'.repeat(5000))).toMatchObject({ status: 'not-found' });
    expect(emulator.requests.length).toBe(from);
  });

  it('Should count hits and misses and report the cache size', async () => {
    const { resolver, metrics } = harness();
    await resolver.resolve('ada.l');
    await resolver.resolve('ada.l');
    await resolver.resolve('nobody-here');
    expect(await metricValue(metrics.rosterCacheMisses)).toBe(2);
    expect(await metricValue(metrics.rosterCacheHits)).toBe(1);
    expect(await metrics.render()).toMatch(/^caliper_gateway_roster_cache_entries 2$/m);
  });

  it('Should count resolves the roster could not answer apart from misses, so an outage does not look like a cold cache', async () => {
    const { resolver, metrics, clock, config } = harness();
    await resolver.resolve('ada.l');
    expect(await metricValue(metrics.rosterCacheMisses)).toBe(1);

    // 'sis-0' was never looked up: each retry during the outage is not a miss, it is unanswered.
    emulator.addFault({ route: 'roster', status: 503 });
    for (let i = 0; i < 3; i++) expect(await resolver.resolve('sis-0')).toMatchObject({ status: 'unavailable' });
    expect(await metricValue(metrics.rosterCacheMisses)).toBe(1);
    expect(await metricValue(metrics.rosterUnanswered)).toBe(3);

    // A known student on an expired entry keeps flowing from the cache: a hit, not a miss.
    clock.advance(config.roster.cacheTtlMs);
    expect(await resolver.resolve('ada.l')).toEqual({ status: 'found', platformId: ADA.sourcedId });
    expect(await metricValue(metrics.rosterCacheHits)).toBe(1);
    expect(await metricValue(metrics.rosterCacheMisses)).toBe(1);

    emulator.clearFaults();
    expect(await resolver.resolve('sis-0')).toEqual({ status: 'found', platformId: CLASS[0]!.sourcedId });
    expect(await metricValue(metrics.rosterCacheMisses)).toBe(2);
    expect(await metricValue(metrics.rosterUnanswered)).toBe(3);
    expect(await metrics.render()).toMatch(/^caliper_gateway_roster_unanswered_total 3$/m);
  });

  it('Should count resolves held for missing credentials as unanswered, not as misses', async () => {
    const { resolver, metrics } = harness({ credentials: false });
    await resolver.resolve('ada.l');
    expect(await metricValue(metrics.rosterCacheMisses)).toBe(0);
    expect(await metricValue(metrics.rosterUnanswered)).toBe(1);
  });
});

describe('an eviction while a lookup is in flight', () => {
  /** Skipped as not found; the admin then adds them to TimeBack and evicts them. */
  const LEE = { sourcedId: randomUUID(), identifier: 'lee.k' };

  afterEach(() => {
    emulator.users.delete(LEE.sourcedId);
  });

  const evictions: Array<[string, (built: Harness) => Promise<void>]> = [
    [
      "in the gateway's process (the admin route), on its connection",
      async ({ store }) => {
        expect(createRosterCache(store).evict([LEE.identifier])).toEqual([LEE.identifier]);
      },
    ],
    [
      'by the roster-cache command, on a connection of its own',
      async ({ config }) => {
        let out = '';
        const env = { DB_PATH: config.dbPath, MAPPINGS_DIR: temp.dir };
        const code = await rosterCacheCommand(['evict', LEE.identifier], env, { out: (text) => void (out += text), err: () => {} });
        expect({ code, out }).toEqual({ code: 0, out: 'evicted 1 entry\n' });
      },
    ],
  ];

  /**
   * Lee's not-found has expired, and a resolve is asking the roster (which does not know Lee
   * yet) when the admin adds Lee to TimeBack and evicts. The roster's answer is held until
   * then, so the eviction lands inside the lookup every time.
   */
  async function evictDuringLookup(evict: (built: Harness) => Promise<void>) {
    const built = harness();
    const { resolver, clock, config } = built;
    resolver.cache.put({
      externalId: LEE.identifier,
      platformId: null,
      outcome: 'not-found',
      strategy: null,
      detail: 'no TimeBack user has this sourcedId, identifier or email',
      learnedAt: clock.now() - config.roster.negativeTtlMs,
    });
    const held = emulator.hold('roster');
    const before = resolver.resolve(LEE.identifier);
    await held.arrived;
    emulator.users.set(LEE.sourcedId, LEE);
    await evict(built);
    return { ...built, held, before };
  }

  it.each(evictions)('Should not cache the answer from before an eviction made %s', async (_, evict) => {
    const { resolver, held, before } = await evictDuringLookup(evict);
    held.release();

    // Whoever asked before the eviction gets the roster's answer as it was then...
    expect(await before).toMatchObject({ status: 'not-found' });
    // ...but it is not kept: the next event looks Lee up again and finds them.
    expect(resolver.cache.get(LEE.identifier)).toBeUndefined();
    expect(await resolver.resolve(LEE.identifier)).toEqual({ status: 'found', platformId: LEE.sourcedId });
  });

  it.each(evictions)('Should not share a lookup begun before an eviction made %s', async (_, evict) => {
    const { resolver, held, before } = await evictDuringLookup(evict);
    // Lee's replayed events, resolved while the old lookup is still waiting for the roster.
    const after = resolver.resolve(LEE.identifier);
    held.release();

    expect(await before).toMatchObject({ status: 'not-found' });
    expect(await after).toEqual({ status: 'found', platformId: LEE.sourcedId });
    expect(resolver.cache.get(LEE.identifier)).toMatchObject({ outcome: 'found', platformId: LEE.sourcedId });
  });
});

describe('with the writer thread', () => {
  it('Should not hold up the event loop while another connection holds the write lock, and cache the answer once it is free', async () => {
    const config = testConfig({ dir: temp.dir, timebackUrl: emulator.url, clientId: emulator.clientId, clientSecret: emulator.clientSecret });
    const captured = captureLog();
    const metrics = createMetrics();
    const store = openStore(config.dbPath);
    const tokens = createTokenProvider({ config, log: captured.log, metrics });
    // Waits for the lock as long as the test may need: only releasing it ends the write.
    const thread = await startWriterThread(store, captured.log, { autoCheckpoint: 1000, lockWaitMs: 600_000 });
    const locker = new Database(config.dbPath);
    try {
      if (!thread) throw new Error('the writer thread did not start');
      let handedOver!: () => void;
      const writing = new Promise<void>((resolve) => (handedOver = resolve));
      const writer = {
        recordRosterAnswer(answer: RosterAnswer) {
          handedOver();
          return thread.recordRosterAnswer(answer);
        },
      };
      const resolver = createIdentityResolver({ config, store, log: captured.log, metrics, tokens, writer });
      try {
        // Another connection (a 5,000-event envelope's commit, the roster-cache command) holds the lock.
        locker.exec('BEGIN IMMEDIATE');
        let settled = false;
        const resolving = resolver.resolve('ada.l').finally(() => {
          settled = true;
        });
        await writing;
        // The roster has answered and the answer waits for the lock on the thread; meanwhile
        // the event loop runs timers and reads the cache (nothing cached yet).
        await new Promise((resolve) => setTimeout(resolve, 50));
        await new Promise((resolve) => setImmediate(resolve));
        expect(settled).toBe(false);
        expect(resolver.cache.get('ada.l')).toBeUndefined();

        locker.exec('ROLLBACK');
        expect(await resolving).toEqual({ status: 'found', platformId: ADA.sourcedId });
        expect(resolver.cache.get('ada.l')).toMatchObject({ outcome: 'found', platformId: ADA.sourcedId });
        expect(captured.text()).not.toContain('could not write the roster cache');
      } finally {
        await resolver.close();
      }
    } finally {
      if (locker.inTransaction) locker.exec('ROLLBACK');
      locker.close();
      await thread?.stop();
      await tokens.close();
      store.close();
    }
  });
});

describe('user overrides in the resolver', () => {
  it('Should let an override win over the roster and the cache', async () => {
    const pinned = randomUUID();
    const { resolver } = harness();
    await resolver.resolve('ada.l'); // cached as ADA
    writeOverrides(temp.dir, { 'ada.l': pinned.toUpperCase() });
    resolver.overrides.reload();

    const from = emulator.requests.length;
    expect(await resolver.resolve('ada.l')).toEqual({ status: 'found', platformId: pinned });
    expect(emulator.requests.length).toBe(from);
  });

  it('Should answer overrides without credentials', async () => {
    const pinned = randomUUID();
    writeOverrides(temp.dir, { 'jstudent9': pinned });
    const { resolver } = harness({ credentials: false });
    expect(await resolver.resolve('jstudent9')).toEqual({ status: 'found', platformId: pinned });
  });

  it('Should pick up edits to the file, keep the last good version on a bad edit, and notice removal', async () => {
    const first = randomUUID();
    const second = randomUUID();
    writeOverrides(temp.dir, { 'ada.l': first });
    const { resolver, captured } = harness();
    expect(await resolver.resolve('ada.l')).toEqual({ status: 'found', platformId: first });

    writeOverrides(temp.dir, { 'ada.l': second });
    await vi.waitFor(async () => expect(await resolver.resolve('ada.l')).toEqual({ status: 'found', platformId: second }), {
      timeout: 3_000,
    });

    writeOverrides(temp.dir, 'overrides:\n  ada.l: not-a-uuid\n');
    await vi.waitFor(() => expect(captured.text()).toContain('user overrides file is invalid'), { timeout: 3_000 });
    expect(captured.text()).toContain('user-overrides.yaml:2: an entry under overrides');
    expect(captured.text()).not.toContain('ada.l');
    expect(await resolver.resolve('ada.l')).toEqual({ status: 'found', platformId: second });

    rmSync(join(temp.dir, 'user-overrides.yaml'));
    await vi.waitFor(async () => expect(await resolver.resolve('ada.l')).toEqual({ status: 'found', platformId: ADA.sourcedId }), {
      timeout: 3_000,
    });
  });

  it('Should refuse to start on a bad overrides file, naming file and line', () => {
    writeOverrides(temp.dir, 'overrides:\n  jstudent9: 12345\n');
    expect(() => harness()).toThrow(/user-overrides\.yaml:2: an entry under overrides: .*UUID/);
  });
});
