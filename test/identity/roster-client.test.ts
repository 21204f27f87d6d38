import { randomUUID } from 'node:crypto';
import type { Gauge } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTimebackEmulator, type EmulatedUser, type TimebackEmulator } from '../../src/dev/timeback-emulator.ts';
import { createRosterClient, ROSTER_CONNECTIONS, ROSTER_FILTER_PAGES, ROSTER_RECHECK_AFTER_404S, type RosterClient } from '../../src/identity/roster-client.ts';
import { OUTAGE_THRESHOLD } from '../../src/identity/roster-gate.ts';
import { encodeStrict, filterExpression } from '../../src/identity/roster-request.ts';
import { createMetrics } from '../../src/metrics.ts';
import { createTokenProvider, type ClientCredentialsTokenProvider } from '../../src/timeback/client-credentials-token.ts';
import { captureLog, HANG_DEADLINE_MS, makeTempDir, manualClock, testConfig, type ManualClock, type TempDir } from '../helpers/identity-harness.ts';
import { metricValue } from '../helpers/metric-value.ts';
import { waitFor } from '../helpers/wait-for.ts';

const ADA = { sourcedId: randomUUID(), identifier: 'ada.l', username: 'alovelace', email: 'ada@school.test' };
const QUOTED = { sourcedId: randomUUID(), identifier: "o'brien", email: 'obrien@school.test' };
const VICTIM = { sourcedId: randomUUID(), identifier: 'y', email: 'y@school.test' };
const TWIN_A = { sourcedId: randomUUID(), identifier: 'twin-a', email: 'twins@school.test' };
const TWIN_B = { sourcedId: randomUUID(), identifier: 'twin-b', email: 'twins@school.test' };
const DEPARTED = { sourcedId: randomUUID(), identifier: 'gone', status: 'tobedeleted' };
const NOT_A_UUID = { sourcedId: 'sis-4711', identifier: 'legacy' };
const SHOUTED = { sourcedId: randomUUID().toUpperCase(), identifier: 'shouted' };
const USERS: EmulatedUser[] = [ADA, QUOTED, VICTIM, TWIN_A, TWIN_B, DEPARTED, NOT_A_UUID, SHOUTED];

let temp: TempDir;
let emulator: TimebackEmulator;
let paginated: TimebackEmulator;
let textTotal: TimebackEmulator;
/** A list with no count at all: only a full page says there may be more. */
let bare: TimebackEmulator;
const open: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  temp = makeTempDir('roster-client');
  emulator = await startTimebackEmulator({ users: USERS });
  paginated = await startTimebackEmulator({ users: USERS, listShape: 'pagination' });
  textTotal = await startTimebackEmulator({ users: USERS, listShape: 'text-total' });
  bare = await startTimebackEmulator({ users: USERS, listShape: 'no-total' });
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((part) => part.close()));
  emulator.clearFaults();
});

afterAll(async () => {
  await emulator.close();
  await paginated.close();
  await textTotal.close();
  await bare.close();
  temp.remove();
});

function client(server: TimebackEmulator = emulator, clock: ManualClock = manualClock(), timeoutMs?: number) {
  const config = testConfig({
    dir: temp.dir,
    timebackUrl: server.url,
    clientId: server.clientId,
    clientSecret: server.clientSecret,
    timeoutMs,
  });
  const captured = captureLog();
  const metrics = createMetrics();
  const tokens: ClientCredentialsTokenProvider = createTokenProvider({ config, log: captured.log, metrics, now: clock.now });
  const roster: RosterClient = createRosterClient({ config, tokens, log: captured.log, metrics, now: clock.now });
  open.push(roster, tokens);
  return { roster, tokens, metrics, captured, clock };
}

/** Runs `check` against each list shape (a total, a pagination object, no count at all) with `users` on its roster. */
async function onEveryListShape(users: EmulatedUser[], check: (server: TimebackEmulator) => Promise<void>): Promise<void> {
  const servers = [emulator, paginated, bare];
  for (const server of servers) for (const user of users) server.users.set(user.sourcedId, user);
  try {
    for (const server of servers) await check(server);
  } finally {
    for (const server of servers) for (const user of users) server.users.delete(user.sourcedId);
  }
}

/** Every value `gauge.set` is called with from now on, in order. */
function countSets(gauge: Gauge<never>): number[] {
  const sets: number[] = [];
  const set = gauge.set.bind(gauge);
  gauge.set = (value: number) => {
    sets.push(value);
    set(value);
  };
  return sets;
}

function rosterRequests(server: TimebackEmulator) {
  return server.requests.filter((request) => request.route === 'roster');
}

describe('filter encoding', () => {
  it('Should double quotes and encode the whole expression', () => {
    expect(filterExpression('identifier', "x' OR identifier='y")).toBe("identifier='x'' OR identifier=''y'");
    expect(encodeStrict("email='a+b@x.test'")).toBe('email%3D%27a%2Bb%40x.test%27');
    expect(decodeURIComponent(encodeStrict("a'b(c)*!"))).toBe("a'b(c)*!");
  });
});

describe('roster client against the emulator', () => {
  it('Should find a user by sourcedId with GET /users/{id}', async () => {
    const { roster } = client();
    expect(await roster.lookup('sourcedId', ADA.sourcedId)).toEqual({ outcome: 'found', platformId: ADA.sourcedId });
    expect(rosterRequests(emulator).at(-1)?.url).toBe(`/rostering/1.0/users/${ADA.sourcedId}`);
  });

  it('Should lowercase the platform id', async () => {
    const { roster } = client();
    expect(await roster.lookup('identifier', 'shouted')).toEqual({
      outcome: 'found',
      platformId: SHOUTED.sourcedId.toLowerCase(),
    });
  });

  it('Should treat a 404 by id as not found, once a roster has been seen there (checked once, with nothing of the student)', async () => {
    const { roster } = client();
    const [unknown, another] = [randomUUID(), randomUUID()];
    const before = rosterRequests(emulator).length;
    expect(await roster.lookup('sourcedId', unknown)).toEqual({ outcome: 'not-found' });
    expect(await roster.lookup('sourcedId', another)).toEqual({ outcome: 'not-found' });
    expect(rosterRequests(emulator).slice(before).map(({ url, status }) => ({ url, status }))).toEqual([
      { url: `/rostering/1.0/users/${unknown}`, status: 404 },
      { url: '/rostering/1.0/users?limit=1', status: 200 },
      { url: `/rostering/1.0/users/${another}`, status: 404 },
    ]);
  });

  it('Should not take a 200 to the roster check that is not a user list for a roster (a web page at a wrong TIMEBACK_BASE_URL)', async () => {
    const { roster } = client();
    const unknown = randomUUID();
    emulator.addFault({ route: 'roster', when: (_body, url) => url.endsWith('?limit=1'), status: 200, rawBody: '<html><body>Welcome</body></html>', times: 1 });
    expect(await roster.lookup('sourcedId', unknown)).toMatchObject({ outcome: 'unavailable' });
    // The check is made again until a list answers it; then the 404 is a user the roster does not have.
    expect(await roster.lookup('sourcedId', unknown)).toEqual({ outcome: 'not-found' });
  });

  // TimeBack takes limit=1 (1-100), so a roster answers the check with a list. A 400 or 422 to it
  // comes from something else at a wrong TIMEBACK_BASE_URL: a proxy's error page, or another API
  // that validates `users` as an id. Taken for a roster, every 404 by id was "not found" for good.
  it.each([
    [400, { rawBody: '<html><head><title>400 Bad Request</title></head><body><h1>Bad Request</h1><p>edge proxy</p></body></html>' }],
    [422, { body: { error: 'validation failed', issues: [{ path: ['id'], message: 'must be a UUID' }] } }],
  ] as const)('Should not take a %i to the roster check for a roster (a proxy or another API at a wrong TIMEBACK_BASE_URL)', async (status, answer) => {
    const { roster } = client();
    const unknown = randomUUID();
    emulator.addFault({ route: 'roster', when: (_body, url) => url.endsWith('?limit=1'), status, ...answer, times: 1 });
    expect(await roster.lookup('sourcedId', unknown)).toMatchObject({
      outcome: 'unavailable',
      setup: true,
      detail: expect.stringContaining('check TIMEBACK_BASE_URL'),
    });
    expect(roster.problem()).toContain(`HTTP ${status}`);
    // The check is made again until a list answers it; then the 404 is a user the roster does not have.
    expect(await roster.lookup('sourcedId', unknown)).toEqual({ outcome: 'not-found' });
    expect(rosterRequests(emulator).filter(({ url }) => url.endsWith('?limit=1')).slice(-2).map((request) => request.status)).toEqual([status, 200]);
  });

  it('Should not take a 200 by id or by filter that is not a roster answer as a sign that a roster is there', async () => {
    const { roster } = client();
    const unknown = randomUUID();
    // A web page answers 200 to the user's own path and to the filtered list, and there is no list at all.
    emulator.addFault({ route: 'roster', when: (_body, url) => url.endsWith(ADA.sourcedId) || url.includes('filter='), status: 200, rawBody: '<html>Sign in</html>' });
    emulator.addFault({ route: 'roster', when: (_body, url) => url.endsWith('?limit=1'), status: 404 });
    expect(await roster.lookup('sourcedId', ADA.sourcedId)).toMatchObject({ outcome: 'unavailable' });
    expect(await roster.lookup('identifier', ADA.identifier)).toMatchObject({ outcome: 'unavailable' });
    expect(await roster.lookup('sourcedId', unknown)).toMatchObject({ outcome: 'unavailable', setup: true });
  });

  it('Should take a 404 by id for not found without a check once the roster has answered a lookup', async () => {
    const { roster } = client();
    expect(await roster.lookup('sourcedId', ADA.sourcedId)).toEqual({ outcome: 'found', platformId: ADA.sourcedId });
    const before = rosterRequests(emulator).length;
    expect(await roster.lookup('sourcedId', randomUUID())).toEqual({ outcome: 'not-found' });
    expect(rosterRequests(emulator).slice(before).map((request) => request.status)).toEqual([404]);
  });

  it('Should check the roster again after a run of 404s by id, so a roster that went away is not taken for one without these students', async () => {
    const { roster } = client();
    expect(await roster.lookup('sourcedId', ADA.sourcedId)).toEqual({ outcome: 'found', platformId: ADA.sourcedId });
    // The roster goes away behind TIMEBACK_BASE_URL (a proxy now answers 404 to every path): the
    // students are still TimeBack's, but every id is a 404.
    emulator.addFault({ route: 'roster', status: 404, rawBody: '<html><body>Not Found</body></html>' });
    const students = [ADA, QUOTED, VICTIM, TWIN_A, TWIN_B, SHOUTED].map((user) => user.sourcedId);
    expect(students.length).toBeGreaterThan(ROSTER_RECHECK_AFTER_404S);
    const answers = [];
    for (const id of students) answers.push(await roster.lookup('sourcedId', id));
    // At most a run's worth are taken for not found (replay forgets them); the 404 that ends the
    // run is checked, and from then on the lookups wait until a roster answers again.
    const notFound = answers.filter((answer) => answer.outcome === 'not-found');
    expect(notFound.length).toBeLessThan(ROSTER_RECHECK_AFTER_404S);
    for (const answer of answers.slice(notFound.length)) {
      expect(answer).toMatchObject({ outcome: 'unavailable', setup: true, detail: expect.stringContaining('check TIMEBACK_BASE_URL') });
    }
    expect(roster.problem()).toContain('No roster there (HTTP 404)');

    emulator.clearFaults();
    expect(await roster.lookup('sourcedId', VICTIM.sourcedId)).toEqual({ outcome: 'found', platformId: VICTIM.sourcedId });
    expect(roster.problem()).toBeUndefined();
  });

  it('Should cost a healthy roster one check per run of 404s by id, not one per 404', async () => {
    const { roster } = client();
    expect(await roster.lookup('sourcedId', ADA.sourcedId)).toEqual({ outcome: 'found', platformId: ADA.sourcedId });
    const before = rosterRequests(emulator).length;
    for (let i = 0; i < 2 * ROSTER_RECHECK_AFTER_404S; i++) expect(await roster.lookup('sourcedId', randomUUID())).toEqual({ outcome: 'not-found' });
    const checks = rosterRequests(emulator).slice(before).filter(({ url }) => url.endsWith('?limit=1'));
    expect(checks.map((request) => request.status)).toEqual([200, 200]);
  });

  it('Should be unavailable, not not-found, when every id is a 404 because there is no roster at TIMEBACK_BASE_URL', async () => {
    // A tenant prefix the emulator does not have: every path under it is a 404, the token endpoint aside.
    const config = testConfig({ dir: temp.dir, timebackUrl: `${emulator.url}/no-such-tenant`, clientId: emulator.clientId, clientSecret: emulator.clientSecret });
    config.timeback.tokenUrl = `${emulator.url}/auth/1.0/token`;
    const captured = captureLog();
    const metrics = createMetrics();
    const tokens = createTokenProvider({ config, log: captured.log, metrics });
    const roster = createRosterClient({ config, tokens, log: captured.log, metrics });
    open.push(roster, tokens);

    const answers = await Promise.all([ADA.sourcedId, randomUUID()].map((id) => roster.lookup('sourcedId', id)));
    for (const answer of answers) {
      expect(answer).toMatchObject({ outcome: 'unavailable', setup: true, detail: expect.stringContaining('check TIMEBACK_BASE_URL') });
    }
    expect(roster.problem()).toContain('No roster there (HTTP 404)');
  });

  it('Should count one failed roster check once, however many lookups by id share it', async () => {
    // OUTAGE_THRESHOLD new students at once, each a 404 by id, all waiting on one check that gets
    // no answer. One request failed: counted once per lookup, it paused every lookup as an outage.
    const { roster, metrics } = client(emulator, manualClock(), HANG_DEADLINE_MS);
    const isCheck = (url: string) => url.endsWith('?limit=1');
    emulator.addFault({ route: 'roster', when: (_body, url) => isCheck(url), hang: true, times: 1 });
    const before = rosterRequests(emulator).length;
    const ids = Array.from({ length: OUTAGE_THRESHOLD }, () => randomUUID());
    const answers = await Promise.all(ids.map((id) => roster.lookup('sourcedId', id)));
    for (const answer of answers) expect(answer).toMatchObject({ outcome: 'unavailable', detail: expect.stringContaining('timeout') });
    const checks = rosterRequests(emulator).slice(before).filter(({ url }) => isCheck(url));
    expect(checks).toHaveLength(1);
    expect(await metricValue(metrics.rosterFailures)).toBe(1);
    expect(roster.status()).toMatchObject({ state: 'failing' });
    // Every lookup is still counted by its outcome: each sent a request of its own by id.
    expect(await metricValue(metrics.rosterLookups, { strategy: 'sourcedId', outcome: 'unavailable' })).toBe(OUTAGE_THRESHOLD);
  }, 5_000);

  it('Should not ask the roster by id for an id that is not a UUID (no platform id is anything else)', async () => {
    const { roster, metrics } = client();
    const before = rosterRequests(emulator).length;
    for (const externalId of ['no such/user?x=1', '..', 'sis-4711', 'ada.l', `${ADA.sourcedId}x`]) {
      expect(await roster.lookup('sourcedId', externalId)).toEqual({ outcome: 'not-found' });
    }
    expect(rosterRequests(emulator).length).toBe(before);
    expect(await metricValue(metrics.rosterLookups, { strategy: 'sourcedId', outcome: 'not-found' })).toBe(0);

    // A UUID in capitals is still a UUID.
    expect(await roster.lookup('sourcedId', SHOUTED.sourcedId)).toEqual({ outcome: 'found', platformId: SHOUTED.sourcedId.toLowerCase() });
    expect(rosterRequests(emulator).length).toBe(before + 1);
  });

  it('Should take a Learn id holding a lone surrogate as no one, without a request: no URL or JSON can carry it', async () => {
    const { roster } = client();
    const before = rosterRequests(emulator).length;
    for (const strategy of ['sourcedId', 'identifier', 'username', 'email'] as const) {
      for (const externalId of ['ada\ud800', '\udc00lovelace']) {
        expect(await roster.lookup(strategy, externalId)).toEqual({ outcome: 'not-found' });
      }
    }
    expect(rosterRequests(emulator).length).toBe(before);
  });

  it.each([
    ['identifier', ADA.identifier],
    ['username', ADA.username],
    ['email', ADA.email],
  ] as const)('Should find a user by a %s filter', async (strategy, value) => {
    const { roster } = client();
    expect(await roster.lookup(strategy, value)).toEqual({ outcome: 'found', platformId: ADA.sourcedId });
    const url = new URL(rosterRequests(emulator).at(-1)!.url, 'http://x');
    expect(url.pathname).toBe('/rostering/1.0/users');
    expect(url.searchParams.get('filter')).toBe(`${strategy}='${value}'`);
  });

  it('Should never let a quote in the value widen the filter', async () => {
    const { roster } = client();
    // Unescaped, this is `identifier='x' OR identifier='y'`: the emulator would return VICTIM.
    expect(await roster.lookup('identifier', "x' OR identifier='y")).toEqual({ outcome: 'not-found' });
    expect(await roster.lookup('identifier', "o'brien")).toEqual({ outcome: 'found', platformId: QUOTED.sourcedId });
  });

  it('Should find a user whose identifier is literally the injection string', async () => {
    const literal = { sourcedId: randomUUID(), identifier: "x' OR identifier='y" };
    emulator.users.set(literal.sourcedId, literal);
    try {
      const { roster } = client();
      expect(await roster.lookup('identifier', literal.identifier)).toEqual({
        outcome: 'found',
        platformId: literal.sourcedId,
      });
    } finally {
      emulator.users.delete(literal.sourcedId);
    }
  });

  it('Should answer ambiguous when several users match, in every list shape, the count written as text too', async () => {
    for (const server of [emulator, paginated, textTotal]) {
      const { roster } = client(server);
      expect(await roster.lookup('email', 'twins@school.test')).toEqual({ outcome: 'ambiguous', count: 2 });
      expect(await roster.lookup('identifier', 'twin-b')).toEqual({ outcome: 'found', platformId: TWIN_B.sourcedId });
      expect(await roster.lookup('username', 'nobody')).toEqual({ outcome: 'not-found' });
    }
  });

  it('Should not credit a user marked tobedeleted', async () => {
    const { roster } = client();
    expect(await roster.lookup('identifier', 'gone')).toEqual({ outcome: 'not-found' });
    expect(await roster.lookup('sourcedId', DEPARTED.sourcedId)).toEqual({ outcome: 'not-found' });
  });

  it.each([
    ['a plus sign', 'a+b@school.test'],
    ['spaces', 'van der Berg 01'],
    ['non-ASCII letters', 'zoë.müller-ñ'],
    ['URL syntax', 'a&b=c#d%25e?f/g'],
  ])('Should find a user whose identifier holds %s, sent exactly', async (_name, identifier) => {
    const user = { sourcedId: randomUUID(), identifier };
    emulator.users.set(user.sourcedId, user);
    try {
      const { roster } = client();
      expect(await roster.lookup('identifier', identifier)).toEqual({ outcome: 'found', platformId: user.sourcedId });
      const url = new URL(rosterRequests(emulator).at(-1)!.url, 'http://x');
      expect(url.searchParams.get('filter')).toBe(`identifier='${identifier}'`);
      expect(url.searchParams.get('limit')).toBe('100');
    } finally {
      emulator.users.delete(user.sourcedId);
    }
  });

  it.each(['inactive', 'TOBEDELETED', ' tobedeleted '])('Should not credit a user whose status is %j', async (status) => {
    const user = { sourcedId: randomUUID(), identifier: `left-${status.trim()}`, status };
    emulator.users.set(user.sourcedId, user);
    try {
      const { roster } = client();
      expect(await roster.lookup('identifier', user.identifier)).toEqual({ outcome: 'not-found' });
      expect(await roster.lookup('sourcedId', user.sourcedId)).toEqual({ outcome: 'not-found' });
    } finally {
      emulator.users.delete(user.sourcedId);
    }
  });

  it('Should find the live record of a student who has departed records too', async () => {
    const email = 'returner@school.test';
    const departed = [1, 2].map(() => ({ sourcedId: randomUUID(), email, status: 'tobedeleted' }));
    const live = { sourcedId: randomUUID(), email };
    for (const user of [...departed, live]) emulator.users.set(user.sourcedId, user);
    try {
      const { roster } = client();
      expect(await roster.lookup('email', email)).toEqual({ outcome: 'found', platformId: live.sourcedId });
    } finally {
      for (const user of [...departed, live]) emulator.users.delete(user.sourcedId);
    }
  });

  it('Should page on to find the live record of a student with more departed records than one page holds', async () => {
    const email = 'crowd@school.test';
    // 150 departed records ahead of the live one: the old single page of ten called this ambiguous.
    const departed = Array.from({ length: 150 }, () => ({ sourcedId: randomUUID(), email, status: 'tobedeleted' }));
    const live = { sourcedId: randomUUID(), email };
    await onEveryListShape([...departed, live], async (server) => {
      const before = rosterRequests(server).length;
      const { roster } = client(server);
      expect(await roster.lookup('email', email)).toEqual({ outcome: 'found', platformId: live.sourcedId });
      const pages = rosterRequests(server)
        .slice(before)
        .map((request) => new URL(request.url, 'http://x').searchParams);
      expect(pages.map((page) => [page.get('limit'), page.get('offset') ?? '0'])).toEqual([
        ['100', '0'],
        ['100', '100'],
      ]);
    });
  });

  it('Should not guess when more users match than the pages it reads', async () => {
    const email = 'throng@school.test';
    const departed = Array.from({ length: 100 * ROSTER_FILTER_PAGES }, () => ({ sourcedId: randomUUID(), email, status: 'tobedeleted' }));
    const crowd = [...departed, { sourcedId: randomUUID(), email }];
    await onEveryListShape(crowd, async (server) => {
      const before = rosterRequests(server).length;
      const { roster } = client(server);
      // The pages hold only departed records; the live one is past the last page read.
      const count = server === bare ? 100 * ROSTER_FILTER_PAGES : crowd.length;
      expect(await roster.lookup('email', email)).toEqual({ outcome: 'ambiguous', count });
      expect(rosterRequests(server).length - before).toBe(ROSTER_FILTER_PAGES);
    });
  });

  it('Should not guess from the first page when the server ignores offset and sends it again', async () => {
    // The count promises 150; every page is the first 100 again, so the rest is never seen.
    const stuck = await startTimebackEmulator({ users: [], ignoresOffset: true });
    open.push(stuck);
    const email = 'repeat@school.test';
    const departed = Array.from({ length: 149 }, () => ({ sourcedId: randomUUID(), email, status: 'tobedeleted' }));
    const [first, second] = [{ sourcedId: randomUUID(), email }, { sourcedId: randomUUID(), email }];
    // One live student on the page the server keeps sending, another past it.
    for (const user of [first, ...departed, second]) stuck.users.set(user.sourcedId, user);
    const { roster } = client(stuck);
    expect(await roster.lookup('email', email)).toEqual({ outcome: 'ambiguous', count: 151 });
    expect(rosterRequests(stuck)).toHaveLength(2);
  });

  it('Should stop paging as soon as two live students match', async () => {
    const email = 'siblings@school.test';
    const users = [
      ...Array.from({ length: 2 }, () => ({ sourcedId: randomUUID(), email })),
      ...Array.from({ length: 150 }, () => ({ sourcedId: randomUUID(), email, status: 'tobedeleted' })),
    ];
    for (const user of users) emulator.users.set(user.sourcedId, user);
    try {
      const before = rosterRequests(emulator).length;
      const { roster } = client();
      expect(await roster.lookup('email', email)).toEqual({ outcome: 'ambiguous', count: 2 });
      expect(rosterRequests(emulator).length - before).toBe(1);
    } finally {
      for (const user of users) emulator.users.delete(user.sourcedId);
    }
  });

  it('Should not take a teacher, parent or staff member for a student, by any strategy', async () => {
    const teacher = { sourcedId: randomUUID(), identifier: 't.hale', email: 'hale@school.test', roles: ['teacher'] };
    const parent = { sourcedId: randomUUID(), email: 'family@school.test', roles: ['parent'] };
    const child = { sourcedId: randomUUID(), email: 'family@school.test' };
    const both = { sourcedId: randomUUID(), identifier: 'ta.student', roles: ['aide', 'student'] };
    const unknownRole = { sourcedId: randomUUID(), identifier: 'new.kind', roles: ['learner'] };
    // OneRoster 1.1, whose conventions TimeBack's roster documents, gives each user one `role`.
    const teacher11 = { sourcedId: randomUUID(), identifier: 'm.ortiz', role: 'teacher' };
    const student11 = { sourcedId: randomUUID(), identifier: 'k.ortiz', role: 'student' };
    const people = [teacher, parent, child, both, unknownRole, teacher11, student11];
    for (const user of people) emulator.users.set(user.sourcedId, user);
    try {
      const { roster } = client();
      const notAStudent = { outcome: 'not-found', detail: expect.stringContaining('is not a student (teacher)') };
      expect(await roster.lookup('identifier', 't.hale')).toEqual(notAStudent);
      expect(await roster.lookup('sourcedId', teacher.sourcedId)).toEqual(notAStudent);
      // A family address shared with a parent is the child's, not ambiguous.
      expect(await roster.lookup('email', 'family@school.test')).toEqual({ outcome: 'found', platformId: child.sourcedId });
      expect(await roster.lookup('identifier', 'ta.student')).toEqual({ outcome: 'found', platformId: both.sourcedId });
      // A role this gateway does not know may be a student's: not refused.
      expect(await roster.lookup('identifier', 'new.kind')).toEqual({ outcome: 'found', platformId: unknownRole.sourcedId });
      expect(await roster.lookup('identifier', 'm.ortiz')).toEqual(notAStudent);
      expect(await roster.lookup('sourcedId', teacher11.sourcedId)).toEqual(notAStudent);
      expect(await roster.lookup('identifier', 'k.ortiz')).toEqual({ outcome: 'found', platformId: student11.sourcedId });
    } finally {
      for (const user of people) emulator.users.delete(user.sourcedId);
    }
  });

  it('Should not accept a sourcedId that cannot be a urn:uuid actor', async () => {
    const { roster, captured } = client();
    expect(await roster.lookup('identifier', 'legacy')).toMatchObject({ outcome: 'not-found' });
    expect(captured.text()).toContain('not a UUID');
  });

  it('Should refresh the token once on 401 and retry', async () => {
    const { roster, tokens } = client();
    const first = await tokens.getToken();
    emulator.validTokens.clear();

    expect(await roster.lookup('identifier', ADA.identifier)).toEqual({ outcome: 'found', platformId: ADA.sourcedId });
    expect(await tokens.getToken()).not.toBe(first);
    expect(rosterRequests(emulator).slice(-2).map((request) => request.status)).toEqual([401, 200]);
  });

  it('Should be unavailable, not not-found, when a fresh token is refused too', async () => {
    const { roster } = client();
    emulator.addFault({ route: 'roster', status: 401, times: 2 });
    const answer = await roster.lookup('sourcedId', ADA.sourcedId);
    expect(answer).toMatchObject({ outcome: 'unavailable' });
    expect(answer.outcome === 'unavailable' && answer.detail).toContain('401');
  });

  it.each([
    ['a 500', { status: 500 }],
    ['a 503', { status: 503 }],
    ['a 403', { status: 403 }],
    ['a dropped connection', { reset: true }],
    ['a body that is not the roster', { status: 200, body: { unexpected: true } }],
  ])('Should be unavailable on %s, then recover', async (_label, fault) => {
    const { roster, metrics, captured } = client();
    emulator.addFault({ route: 'roster', times: 2, ...fault });

    expect(await roster.lookup('identifier', ADA.identifier)).toMatchObject({ outcome: 'unavailable' });
    expect(await roster.lookup('email', ADA.email)).toMatchObject({ outcome: 'unavailable' });
    expect(await metricValue(metrics.rosterFailures)).toBe(2);
    expect(await roster.lookup('identifier', ADA.identifier)).toEqual({ outcome: 'found', platformId: ADA.sourcedId });

    // One line when the outage starts and one when it ends, not one per student.
    const messages = captured.lines().map((line) => line.msg);
    expect(messages.filter((msg) => String(msg).startsWith('TimeBack roster unavailable'))).toHaveLength(1);
    expect(messages.filter((msg) => msg === 'TimeBack roster answers again')).toHaveLength(1);
  });

  it('Should never quote a refusal body, which may echo the student back', async () => {
    const { roster, captured } = client();
    emulator.addFault({ route: 'roster', status: 400, body: { error: `unsupported filter: email='${ADA.email}'` }, times: 1 });
    const answer = await roster.lookup('email', ADA.email);
    expect(answer).toEqual({
      outcome: 'unavailable',
      detail: 'TimeBack refused the roster query (HTTP 400); check that ROSTER_MATCH names fields it can filter on',
      retryAfterMs: undefined,
      setup: true,
    });
    expect(roster.problem()).toBe(answer.outcome === 'unavailable' ? answer.detail : undefined);
    expect(captured.text()).toContain('HTTP 400');
    expect(captured.text()).not.toContain(ADA.email);
    // An answer about a student ends it.
    expect(await roster.lookup('email', ADA.email)).toMatchObject({ outcome: 'found' });
    expect(roster.problem()).toBeUndefined();
  });

  it('Should not follow a redirect, so the bearer token never reaches another host', async () => {
    const elsewhere = await startTimebackEmulator({ users: USERS });
    try {
      emulator.addFault({ route: 'roster', status: 307, location: `${elsewhere.url}/rostering/1.0/users/${ADA.sourcedId}` });
      const { roster } = client();
      const before = rosterRequests(emulator).length;
      expect(await roster.lookup('sourcedId', ADA.sourcedId)).toMatchObject({ outcome: 'unavailable' });
      expect(rosterRequests(emulator).length).toBe(before + 1);
      expect(elsewhere.requests).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });

  // A redirect is the base URL's doing (an http→https hop, a moved host), never one student's:
  // by id, by filter, and on the roster check alike, /readyz names TIMEBACK_BASE_URL as delivery's does.
  it.each([
    ['a lookup by id', 'sourcedId', ADA.sourcedId, (): boolean => true],
    ['a filtered lookup', 'identifier', ADA.identifier, (): boolean => true],
    ['the roster check after a 404 by id', 'sourcedId', randomUUID(), (url: string): boolean => url.endsWith('?limit=1')],
  ] as const)('Should report a redirect (3xx) on %s as a set-up problem naming TIMEBACK_BASE_URL', async (_name, strategy, externalId, when) => {
    const { roster } = client();
    emulator.addFault({ route: 'roster', when: (_body, url) => when(url), status: 308, location: 'https://elsewhere.test/rostering/1.0/users' });
    const answer = await roster.lookup(strategy, externalId);
    expect(answer).toMatchObject({ outcome: 'unavailable', setup: true, detail: expect.stringMatching(/redirect \(HTTP 308\).*not followed.*check TIMEBACK_BASE_URL/) });
    expect(roster.problem()).toBe(answer.outcome === 'unavailable' ? answer.detail : undefined);

    emulator.clearFaults();
    expect(await roster.lookup('sourcedId', ADA.sourcedId)).toEqual({ outcome: 'found', platformId: ADA.sourcedId });
    expect(roster.problem()).toBeUndefined();
  });

  it('Should time out a roster that never answers', async () => {
    const { roster } = client(emulator, manualClock(), HANG_DEADLINE_MS);
    emulator.addFault({ route: 'roster', hang: true, times: 1 });
    const answer = await roster.lookup('email', ADA.email);
    expect(answer).toMatchObject({ outcome: 'unavailable' });
    expect(answer.outcome === 'unavailable' && answer.detail).toContain('timeout');
    expect(await roster.lookup('email', ADA.email)).toEqual({ outcome: 'found', platformId: ADA.sourcedId });
  }, 5_000);

  it('Should cut a hanging lookup at close() and send none after, without counting or logging an outage', async () => {
    // The default deadline: only close() can end this lookup within the test's time.
    const { roster, metrics, captured } = client();
    emulator.addFault({ route: 'roster', hang: true });
    const lookup = roster.lookup('email', ADA.email);
    await waitFor('the lookup hanging', () => rosterRequests(emulator).some((request) => request.status === 0));
    const sent = rosterRequests(emulator).length;

    await roster.close();
    expect(await lookup).toMatchObject({ outcome: 'unavailable', stopped: true });
    expect(await roster.lookup('identifier', ADA.identifier)).toMatchObject({ outcome: 'unavailable', stopped: true });
    expect(rosterRequests(emulator)).toHaveLength(sent);
    expect(await metricValue(metrics.rosterFailures)).toBe(0);
    expect(captured.lines().filter((line) => line.level === 'warn' || line.level === 'error')).toEqual([]);
  }, 5_000);

  it('Should honour Retry-After on 429 for every lookup', async () => {
    const { roster, clock } = client();
    emulator.addFault({ route: 'roster', status: 429, retryAfter: 2, times: 1 });

    expect(await roster.lookup('identifier', ADA.identifier)).toMatchObject({ outcome: 'unavailable', retryAfterMs: 2000 });
    const sent = rosterRequests(emulator).length;

    clock.advance(1_500);
    expect(await roster.lookup('email', VICTIM.email)).toMatchObject({ outcome: 'unavailable', retryAfterMs: 500 });
    expect(rosterRequests(emulator).length).toBe(sent);

    clock.advance(500);
    expect(await roster.lookup('email', VICTIM.email)).toEqual({ outcome: 'found', platformId: VICTIM.sourcedId });
  });

  it('Should stop sending lookups into a roster outage, and probe once per pause until it answers', async () => {
    const { roster, clock, metrics } = client();
    const gaugeSets = countSets(metrics.rosterPaused);
    const before = rosterRequests(emulator).length;
    const sent = () => rosterRequests(emulator).length - before;
    emulator.addFault({ route: 'roster', status: 503 });
    for (let i = 0; i < 4; i++) expect(await roster.lookup('identifier', `student-${i}`)).toMatchObject({ outcome: 'unavailable' });
    // Failing, not yet paused.
    expect(await metricValue(metrics.rosterPaused)).toBe(0);
    expect(await roster.lookup('identifier', 'student-4')).toMatchObject({ outcome: 'unavailable' });
    expect(sent()).toBe(5);
    expect(await metricValue(metrics.rosterPaused)).toBe(1);

    // Paused: every student waits, told when to come back, and the roster hears nothing.
    const paused = await Promise.all(Array.from({ length: 50 }, (_, i) => roster.lookup('identifier', `other-${i}`)));
    for (const answer of paused) {
      expect(answer).toMatchObject({ outcome: 'unavailable', detail: expect.stringContaining('HTTP 503') });
      expect(answer.outcome === 'unavailable' && answer.retryAfterMs).toBeGreaterThan(0);
    }
    expect(sent()).toBe(5);

    // Pause over (the first lasts 0.5–1 s): one probe, and lookups made meanwhile wait for it.
    clock.advance(1_000);
    const [probe, meanwhile] = await Promise.all([roster.lookup('identifier', ADA.identifier), roster.lookup('identifier', VICTIM.identifier)]);
    expect(probe).toMatchObject({ outcome: 'unavailable' });
    expect(meanwhile).toMatchObject({ outcome: 'unavailable', retryAfterMs: undefined });
    expect(sent()).toBe(6);

    // The failed probe doubled the pause (1–2 s); the roster is back, and the next probe ends it.
    emulator.clearFaults();
    clock.advance(1_000);
    expect(sent()).toBe(6);
    clock.advance(1_000);
    expect(await roster.lookup('identifier', ADA.identifier)).toEqual({ outcome: 'found', platformId: ADA.sourcedId });
    expect(await metricValue(metrics.rosterPaused)).toBe(0);
    const after = await Promise.all([roster.lookup('identifier', VICTIM.identifier), roster.lookup('email', QUOTED.email)]);
    expect(after).toEqual([
      { outcome: 'found', platformId: VICTIM.sourcedId },
      { outcome: 'found', platformId: QUOTED.sourcedId },
    ]);
    // roster_paused moved as the pause opened, re-opened after the failed probe and closed:
    // never once per paused lookup (50 of them) or per answer.
    expect(gaugeSets).toEqual([1, 1, 0]);
  });

  it('Should say whether lookups go out, fail or wait, and until when, for /readyz', async () => {
    const { roster, clock } = client();
    expect(roster.status()).toEqual({ state: 'answering' });
    emulator.addFault({ route: 'roster', status: 500 });
    expect(await roster.lookup('identifier', 'student-0')).toMatchObject({ outcome: 'unavailable' });
    expect(roster.status()).toEqual({ state: 'failing', problem: 'TimeBack roster failed (HTTP 500)' });
    for (let i = 1; i < 5; i++) await roster.lookup('identifier', `student-${i}`);
    const paused = roster.status();
    expect(paused).toMatchObject({ state: 'paused', since: new Date(clock.now()).toISOString(), problem: 'TimeBack roster failed (HTTP 500)' });
    expect(Date.parse(paused.nextProbe!)).toBeGreaterThan(clock.now());

    emulator.clearFaults();
    clock.advance(1_000);
    expect(await roster.lookup('identifier', ADA.identifier)).toEqual({ outcome: 'found', platformId: ADA.sourcedId });
    expect(roster.status()).toEqual({ state: 'answering' });
  });

  it('Should send a burst of lookups into an outage only until the breaker opens, not one per student', async () => {
    const { roster } = client();
    const before = rosterRequests(emulator).length;
    emulator.addFault({ route: 'roster', status: 503 });
    // A translation batch of 100 new students at once, as when the roster goes down under load.
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => roster.lookup('identifier', `burst-${i}`)));
    for (const answer of answers) expect(answer).toMatchObject({ outcome: 'unavailable' });
    // One per connection, plus those sent as connections freed up before the fifth failure.
    expect(rosterRequests(emulator).length - before).toBeLessThanOrEqual(ROSTER_CONNECTIONS + OUTAGE_THRESHOLD - 1);
  });

  it('Should turn a token outage into unavailable', async () => {
    const { roster } = client();
    emulator.addFault({ route: 'token', status: 502, times: 1 });
    const answer = await roster.lookup('identifier', ADA.identifier);
    expect(answer).toMatchObject({ outcome: 'unavailable' });
    expect(answer.outcome === 'unavailable' && answer.detail).toContain('502');
  });

  it('Should not count a lookup the refused credentials kept from being sent as a roster request', async () => {
    const config = testConfig({ dir: temp.dir, timebackUrl: emulator.url, clientId: emulator.clientId, clientSecret: 'wrong' });
    const captured = captureLog();
    const metrics = createMetrics();
    const tokens = createTokenProvider({ config, log: captured.log, metrics });
    const roster = createRosterClient({ config, tokens, log: captured.log, metrics });
    open.push(roster, tokens);
    const before = rosterRequests(emulator).length;
    // An event's retries, each asking again while the credentials stay refused.
    for (let i = 0; i < 3; i++) expect(await roster.lookup('identifier', ADA.identifier)).toMatchObject({ outcome: 'unavailable', held: true });
    expect(rosterRequests(emulator).length).toBe(before);
    expect(await metricValue(metrics.rosterLookups, { strategy: 'identifier', outcome: 'unavailable' })).toBe(0);
    expect(await metricValue(metrics.rosterFailures)).toBe(0);
  });

  it('Should count lookups by strategy and outcome', async () => {
    const { roster, metrics } = client();
    await roster.lookup('sourcedId', ADA.sourcedId);
    await roster.lookup('sourcedId', randomUUID());
    await roster.lookup('email', 'twins@school.test');
    expect(await metricValue(metrics.rosterLookups, { strategy: 'sourcedId', outcome: 'found' })).toBe(1);
    expect(await metricValue(metrics.rosterLookups, { strategy: 'sourcedId', outcome: 'not-found' })).toBe(1);
    expect(await metricValue(metrics.rosterLookups, { strategy: 'email', outcome: 'ambiguous' })).toBe(1);
  });
});
