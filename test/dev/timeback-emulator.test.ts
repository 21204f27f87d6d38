import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  caliperEventErrors,
  parseFilter,
  startTimebackEmulator,
  type EmulatedUser,
  type EmulatorOptions,
  type TimebackEmulator,
} from '../../src/dev/timeback-emulator.ts';

const EVENTS_WRITE = 'https://purl.imsglobal.org/spec/caliper/v1p2/scope/events.write';
const ROSTER_READONLY = 'https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly';

const open: TimebackEmulator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()));
});

async function start(options: EmulatorOptions = {}) {
  const server = await startTimebackEmulator(options);
  open.push(server);
  return server;
}

function tokenRequest(server: TimebackEmulator, form: string, init: { secret?: string; contentType?: string } = {}) {
  return fetch(`${server.url}/auth/1.0/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${server.clientId}:${init.secret ?? server.clientSecret}`).toString('base64')}`,
      'content-type': init.contentType ?? 'application/x-www-form-urlencoded',
    },
    body: form,
  });
}

async function token(server: TimebackEmulator, scope?: string): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', ...(scope === undefined ? {} : { scope }) });
  const res = await tokenRequest(server, form.toString());
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

const event = (overrides: Record<string, unknown> = {}) => ({
  '@context': 'http://purl.imsglobal.org/ctx/caliper/v1p2',
  id: `urn:uuid:${randomUUID()}`,
  type: 'AssessmentItemEvent',
  actor: `urn:uuid:${randomUUID()}`,
  action: 'Completed',
  object: { id: 'https://learn.example.edu/ultra/courses/_1_1/items/_2_1', type: 'AssessmentItem' },
  eventTime: '2026-03-02T10:00:00.000Z',
  edApp: `urn:uuid:${randomUUID()}`,
  session: 'urn:tag:auto-attach',
  ...overrides,
});

function postEvent(server: TimebackEmulator, bearer: string, body: unknown, contentType = 'application/json') {
  return fetch(`${server.url}/events/1.0/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('TimeBack emulator', () => {
  it('issues tokens for the scopes asked, refuses a scope not granted, and all granted ones when none is asked', async () => {
    const server = await start({ grantedScopes: [EVENTS_WRITE] });
    const refused = await tokenRequest(server, new URLSearchParams({ grant_type: 'client_credentials', scope: `${EVENTS_WRITE} ${ROSTER_READONLY}` }).toString());
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ error: 'invalid_scope' });

    const res = await tokenRequest(server, 'grant_type=client_credentials');
    expect(await res.json()).toMatchObject({ expires_in: 3600, token_type: 'Bearer', scope: EVENTS_WRITE });
  });

  it('with narrowsScopes, issues the asked scopes it grants and leaves out the rest, saying so', async () => {
    const server = await start({ grantedScopes: [ROSTER_READONLY], narrowsScopes: true });
    const res = await tokenRequest(server, new URLSearchParams({ grant_type: 'client_credentials', scope: `${EVENTS_WRITE} ${ROSTER_READONLY}` }).toString());
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { access_token: string; scope: string };
    expect(answer.scope).toBe(ROSTER_READONLY);
    expect((await postEvent(server, answer.access_token, event())).status).toBe(403);
  });

  it('takes a change of the granted scopes while it runs, for tokens issued after it only', async () => {
    const server = await start({ grantedScopes: [ROSTER_READONLY], narrowsScopes: true });
    const form = new URLSearchParams({ grant_type: 'client_credentials', scope: `${EVENTS_WRITE} ${ROSTER_READONLY}` }).toString();
    const before = (await (await tokenRequest(server, form)).json()) as { access_token: string };
    server.grantedScopes = [EVENTS_WRITE, ROSTER_READONLY];
    const after = (await (await tokenRequest(server, form)).json()) as { access_token: string; scope: string };
    expect(after.scope).toBe(`${EVENTS_WRITE} ${ROSTER_READONLY}`);
    expect((await postEvent(server, before.access_token, event())).status).toBe(403);
    expect((await postEvent(server, after.access_token, event())).status).toBe(202);
  });

  it('wants the form content type and reads a secret that holds a colon', async () => {
    const server = await start({ clientSecret: 'with:colon' });
    expect((await tokenRequest(server, '{"grant_type":"client_credentials"}', { contentType: 'application/json' })).status).toBe(400);
    expect((await tokenRequest(server, 'grant_type=client_credentials')).status).toBe(200);
    expect((await tokenRequest(server, 'grant_type=client_credentials', { secret: 'with' })).status).toBe(401);
  });

  it('answers the token with the fields laid over it', async () => {
    const server = await start({ tokenFields: { expires_in: '3600', extra: 1 } });
    expect(await (await tokenRequest(server, 'grant_type=client_credentials')).json()).toMatchObject({ expires_in: '3600', extra: 1 });
    server.tokenFields = { expires_in: undefined };
    expect(await (await tokenRequest(server, 'grant_type=client_credentials')).json()).not.toHaveProperty('expires_in');
  });

  it('refuses a token once it has expired by its own clock', async () => {
    const server = await start({ tokenTtlSeconds: 1 });
    const bearer = await token(server);
    expect((await postEvent(server, bearer, event())).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const res = await postEvent(server, bearer, event());
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it("writes a JWT token's iat and exp in its own clock, and refuses the token once that clock passes exp", async () => {
    // An hour ahead of this machine: TimeBack's clock, not the gateway's, decides.
    let clock = Date.parse('2026-03-02T10:00:00.000Z');
    const server = await start({ jwtTokens: true, tokenTtlSeconds: 600, now: () => clock });
    const bearer = await token(server);
    const claims = JSON.parse(Buffer.from(bearer.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iat: number; exp: number };
    expect(claims).toMatchObject({ iat: clock / 1000, exp: clock / 1000 + 600 });

    clock += 599_000;
    expect((await postEvent(server, bearer, event())).status).toBe(202);
    clock += 1_000;
    expect((await postEvent(server, bearer, event())).status).toBe(401);
  });

  it('wants events.write for events and roster.readonly for the roster (403 otherwise)', async () => {
    const server = await start();
    const rosterOnly = await token(server, ROSTER_READONLY);
    const eventsOnly = await token(server, EVENTS_WRITE);
    expect((await postEvent(server, rosterOnly, event())).status).toBe(403);
    expect((await postEvent(server, eventsOnly, event())).status).toBe(202);
    const users = (bearer: string) => fetch(`${server.url}/rostering/1.0/users`, { headers: { authorization: `Bearer ${bearer}` } });
    expect((await users(eventsOnly)).status).toBe(403);
    expect((await users(rosterOnly)).status).toBe(200);
  });

  it('takes one bare Caliper 1.2 event as JSON with 202, and refuses anything else', async () => {
    const server = await start();
    const bearer = await token(server);
    const good = event();
    expect((await postEvent(server, bearer, good)).status).toBe(202);
    expect(server.received).toEqual([good]);

    expect((await postEvent(server, bearer, good, 'text/plain')).status).toBe(415);
    const envelope = { sensor: 'https://learn.example.edu', sendTime: good.eventTime, dataVersion: good['@context'], data: [good] };
    const refused = await postEvent(server, bearer, envelope);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ errors: ['expected one bare Caliper event, not an envelope'] });
    expect(server.received).toHaveLength(1);
  });

  it.each([
    ['a 1.1 context', { '@context': 'http://purl.imsglobal.org/ctx/caliper/v1p1' }, '@context'],
    ['an id that is not a urn:uuid', { id: 'event-1' }, 'id:'],
    ['an uppercase urn:uuid id', { id: `URN:UUID:${randomUUID()}` }, 'id:'],
    ['no action', { action: undefined }, 'action:'],
    ['an eventTime that is no date', { eventTime: 'yesterday' }, 'eventTime:'],
    ['an actor that is a Learn id', { actor: 'jstudent9' }, 'actor:'],
    ['an http object id', { object: { id: 'http://learn.example.edu/x', type: 'AssessmentItem' } }, 'object:'],
    ['a session that is a Learn id', { session: '_123_1' }, 'session:'],
  ])('refuses an event with %s', (_name, overrides, message) => {
    expect(caliperEventErrors(event(overrides)).join('\n')).toContain(message);
  });

  it('pages the user list with limit (1-100) and offset', async () => {
    const users = Array.from({ length: 3 }, (_, i) => ({ sourcedId: randomUUID(), email: 'shared@school.test', identifier: `s${i}` }));
    const server = await start({ users });
    const bearer = await token(server);
    const list = (query: string) => fetch(`${server.url}/rostering/1.0/users?${query}`, { headers: { authorization: `Bearer ${bearer}` } });

    const page = (await (await list('limit=2&offset=1')).json()) as { users: Array<{ identifier: string }>; total: number };
    expect(page.users.map((user) => user.identifier)).toEqual(['s1', 's2']);
    expect(page.total).toBe(3);
    expect((await list('limit=101')).status).toBe(400);
    expect((await list('limit=0')).status).toBe(400);
    expect((await fetch(`${server.url}/rostering/1.0/users/%E0%A4%A`, { headers: { authorization: `Bearer ${bearer}` } })).status).toBe(400);
  });

  it('answers a fault with a raw body and a Retry-After date, as a proxy does', async () => {
    const server = await start();
    const at = new Date(Date.now() + 30_000).toUTCString();
    server.addFault({ route: 'events', status: 503, rawBody: '<html><body>502 Bad Gateway</body></html>', retryAfter: at, times: 1 });
    const res = await postEvent(server, 'whatever', event());
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('text/html');
    expect(res.headers.get('retry-after')).toBe(at);
    expect(await res.text()).toContain('Bad Gateway');
  });
});

/**
 * The roster filter: the roster-client tests trust it to read a OneRoster filter as TimeBack
 * would, including one an unescaped value could turn into an OR.
 */
const ada: EmulatedUser = { sourcedId: 'u-1', identifier: 'ada.l', email: 'ada@school.test' };
const obrien: EmulatedUser = { sourcedId: "u-'2", identifier: "o'brien" };
const matching = (filter: string) => {
  const test = parseFilter(filter);
  if (!test) throw new Error(`refused: ${filter}`);
  return [ada, obrien].filter(test).map((user) => user.sourcedId);
};

describe('parseFilter', () => {
  it("matches field='value' exactly, with a doubled quote for a quote", () => {
    expect(matching("identifier='ada.l'")).toEqual(['u-1']);
    expect(matching("identifier = 'ADA.L'")).toEqual([]);
    expect(matching("identifier='o''brien'")).toEqual(["u-'2"]);
    expect(matching("email=''")).toEqual(["u-'2"]);
  });

  it('joins two predicates with AND or OR, in either case', () => {
    expect(matching("identifier='ada.l' AND email='ada@school.test'")).toEqual(['u-1']);
    expect(matching("identifier='ada.l' and email='other@school.test'")).toEqual([]);
    expect(matching("identifier='ada.l' OR sourcedId='u-''2'")).toEqual(['u-1', "u-'2"]);
  });

  it('reads an unescaped value as the OR it becomes, as the real roster would', () => {
    // What identifier='<x' OR identifier='o''brien>' looks like sent without escaping the quotes.
    expect(matching("identifier='x' OR identifier='o''brien'")).toEqual(["u-'2"]);
  });

  it('refuses what is not a filter of one or two predicates', () => {
    for (const filter of ['', "identifier='open", 'identifier=ada.l', "identifier='a' XOR email='b'", "identifier='a' email='b'", "a='1' AND b='2' AND c='3'"]) {
      expect(parseFilter(filter), filter).toBeUndefined();
    }
  });
});
