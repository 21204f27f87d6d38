/**
 * A stand-in for TimeBack on loopback: the OAuth token endpoint, the roster API and the
 * events endpoint, with seeded users, recorded requests, and faults you can switch on.
 * The tests, `npm run bench` and `npm run demo` all talk to this instead of the real thing.
 *
 * Plain node:http on purpose: it must never be the bottleneck the benchmarks measure.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EmulatedUser {
  sourcedId: string;
  identifier?: string;
  username?: string;
  email?: string;
  givenName?: string;
  familyName?: string;
  status?: string;
  /** OneRoster roles (default: student). */
  roles?: string[];
  /** A OneRoster 1.1 record: this one `role` instead of the 1.2 `roles` list. */
  role?: string;
}

export type EmulatedRoute = 'token' | 'roster' | 'events';

/** A fault applies to matching requests until `times` runs out (or forever). */
export interface Fault {
  route: EmulatedRoute;
  /** Answer with this status (and `body`) instead of the normal answer. */
  status?: number;
  body?: unknown;
  /**
   * Answer with what was received instead of `body`: method, URL, headers and body, whole
   * under `received` and as text in `error_description`, as a careless server or proxy
   * echoes a request in its error page. For checking that nothing of it leaks on from here.
   */
  echo?: boolean;
  /** Sent as a Retry-After header: seconds, or an HTTP-date as text. */
  retryAfter?: number | string;
  /**
   * Answer with this text as it is, instead of JSON: a proxy's HTML error page, or an empty
   * body (`''`). Sent with `contentType` (default `text/html`).
   */
  rawBody?: string;
  contentType?: string;
  /** Sent as a Location header (with a 3xx `status`: a redirect, say to another host). */
  location?: string;
  /** Never answer (the client must time out). */
  hang?: boolean;
  /** Close the socket without answering. */
  reset?: boolean;
  /** Fraction of matching requests affected, 0..1 (default 1). */
  probability?: number;
  /** How many requests to affect; unlimited when unset. */
  times?: number;
  /** Only requests whose body or URL this accepts (e.g. one event id, one student's lookup); all when unset. */
  when?: (body: string, url: string) => boolean;
}

export interface EmulatorOptions {
  port?: number;
  clientId?: string;
  clientSecret?: string;
  users?: EmulatedUser[];
  /**
   * Lifetime of issued tokens, in seconds (default 3600): the emulator refuses a token
   * (401) once it is this old by its own clock, as TimeBack does.
   */
  tokenTtlSeconds?: number;
  /**
   * Fields laid over the token answer, to play a token endpoint (or a proxy in front of it)
   * that words it differently: `{ expires_in: '3600' }`, `{ expires_in: null }`,
   * `{ expires_in: undefined }` (left out). Tokens still live `tokenTtlSeconds`.
   */
  tokenFields?: Record<string, unknown>;
  /**
   * Scopes this client may be granted (default: Caliper events.write and OneRoster
   * roster.readonly). A token request naming another is refused (400 invalid_scope, as
   * Cognito does); one naming none gets them all. The events endpoint wants events.write
   * and the roster roster.readonly in the token (403 otherwise).
   */
  grantedScopes?: string[];
  /**
   * Grant the scopes asked for that this client holds and leave the others out, saying so in
   * the answer's `scope` (RFC 6749 §3.3 lets a server do that), instead of refusing the request
   * (default false). With `grantedScopes` lacking events.write, the token it issues is then
   * refused by the events endpoint (403), as TimeBack refuses an app without that scope.
   */
  narrowsScopes?: boolean;
  /** Issue tokens as unsigned JWTs carrying `iat` and `exp` (default false: opaque tokens). */
  jwtTokens?: boolean;
  /**
   * TimeBack's clock, in milliseconds since the epoch (default Date.now): what a token's `iat`
   * and `exp` are written in and when it is refused as expired. Give it one set apart from the
   * gateway's to play clocks that disagree.
   */
  now?: () => number;
  /** Added to every answer, in milliseconds. */
  latencyMs?: number;
  /**
   * `users` (TimeBack's documented `{ users, total }`), `pagination` (`{ users, pagination: {…} }`),
   * `text-total` (`{ users, total: "2" }`, the count written as text), or `no-total` (`{ users }`
   * alone, as some OneRoster servers answer: only a full page says there may be more).
   */
  listShape?: 'users' | 'pagination' | 'text-total' | 'no-total';
  /** Answer every list from its first user, whatever `offset` asks (as some OneRoster servers do). */
  ignoresOffset?: boolean;
  /** Keep the bodies of received events (default true; benchmarks turn it off). */
  recordEvents?: boolean;
  /** Sees every request as it arrives, whatever the answer: what went over the wire to TimeBack. */
  onRequest?: (request: HeardRequest) => void;
}

export interface HeardRequest {
  route: RecordedRequest['route'];
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Answers held back by `hold`. */
export interface HeldAnswers {
  /** Resolves once the first held request has arrived. */
  arrived: Promise<void>;
  /** Sends every held answer, in arrival order, and holds no more. */
  release(): void;
}

export interface RecordedRequest {
  route: EmulatedRoute | 'other';
  method: string;
  url: string;
  status: number;
  at: number;
}

export interface TimebackEmulator {
  url: string;
  clientId: string;
  /** The secret the token endpoint takes; set it to rotate the secret (tokens issued before stay valid). */
  clientSecret: string;
  /** Every event body TimeBack answered 2xx to, in arrival order. */
  received: unknown[];
  /** How many event POSTs arrived (any answer). */
  eventPosts: number;
  /** The most event POSTs that were open at once: arrived (their first byte) and not yet answered. */
  peakEventPostsOpen: number;
  requests: RecordedRequest[];
  tokensIssued: number;
  /** Tokens TimeBack accepts (until they expire); clear it to make every current token expire at once. */
  validTokens: Set<string>;
  /** See EmulatorOptions.tokenFields; may be changed between tests. */
  tokenFields: Record<string, unknown>;
  /**
   * See EmulatorOptions.grantedScopes; set it to change the app's scopes while it runs, as an
   * admin does at TimeBack. Tokens issued before keep the scopes they were issued with.
   */
  grantedScopes: string[];
  users: Map<string, EmulatedUser>;
  latencyMs: number;
  addFault(fault: Fault): void;
  /**
   * Holds the answers on `route` from now on: each is made as its request arrives (from the
   * users as they are then) and sent on `release()`. For tests that must act while a request
   * is in flight, without guessing how long it takes.
   */
  hold(route: EmulatedRoute): HeldAnswers;
  /** Also drops any held answers, unsent. */
  clearFaults(): void;
  /** Count of requests per route since start. */
  count(route: EmulatedRoute): number;
  close(): Promise<void>;
}

export async function startTimebackEmulator(options: EmulatorOptions = {}): Promise<TimebackEmulator> {
  const clientId = options.clientId ?? 'emulator-client';
  const clientSecret = options.clientSecret ?? 'emulator-secret';
  const tokenTtl = options.tokenTtlSeconds ?? 3600;
  const now = options.now ?? Date.now;
  const recordEvents = options.recordEvents ?? true;
  /** What each issued token may do, and until when (ms since the epoch). */
  const issued = new Map<string, { scopes: Set<string>; expiresAt: number }>();
  const faults: Array<Fault & { left: number }> = [];
  const hanging = new Set<ServerResponse>();
  const holds = new Map<RecordedRequest['route'], { answers: Array<() => void>; arrive: () => void }>();

  const emulator: TimebackEmulator = {
    url: '',
    clientId,
    clientSecret,
    received: [],
    eventPosts: 0,
    peakEventPostsOpen: 0,
    requests: [],
    tokensIssued: 0,
    validTokens: new Set(),
    tokenFields: { ...options.tokenFields },
    grantedScopes: [...(options.grantedScopes ?? [EVENTS_WRITE, ROSTER_READONLY])],
    users: new Map((options.users ?? []).map((user) => [user.sourcedId, user])),
    latencyMs: options.latencyMs ?? 0,
    addFault(fault) {
      faults.push({ ...fault, left: fault.times ?? Number.POSITIVE_INFINITY });
    },
    hold(route) {
      const answers: Array<() => void> = [];
      let arrive = () => {};
      const arrived = new Promise<void>((resolve) => {
        arrive = resolve;
      });
      holds.set(route, { answers, arrive });
      return {
        arrived,
        release() {
          if (holds.get(route)?.answers !== answers) return;
          holds.delete(route);
          for (const answer of answers.splice(0)) answer();
        },
      };
    },
    clearFaults() {
      faults.length = 0;
      holds.clear();
      for (const res of hanging) res.destroy();
      hanging.clear();
    },
    count(route) {
      return emulator.requests.filter((request) => request.route === route).length;
    },
    async close() {
      emulator.clearFaults();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const pickFault = (route: EmulatedRoute, body: string, url: string): Fault | undefined => {
    for (const fault of faults) {
      if (fault.route !== route || fault.left <= 0) continue;
      if (fault.when !== undefined && !fault.when(body, url)) continue;
      if (fault.probability !== undefined && Math.random() >= fault.probability) continue;
      fault.left -= 1;
      return fault;
    }
    return undefined;
  };

  let eventPostsOpen = 0;
  const server = createServer((req, res) => {
    if (routeOf(req.method, new URL(req.url ?? '/', 'http://emulator').pathname) === 'events') {
      eventPostsOpen += 1;
      emulator.peakEventPostsOpen = Math.max(emulator.peakEventPostsOpen, eventPostsOpen);
      res.once('close', () => (eventPostsOpen -= 1));
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const answer = () => handle(req, res, body);
      if (emulator.latencyMs > 0) setTimeout(answer, emulator.latencyMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;

  function send(req: IncomingMessage, res: ServerResponse, route: RecordedRequest['route'], status: number, payload?: unknown, headers: Record<string, string> = {}) {
    const held = holds.get(route);
    if (held) {
      held.answers.push(() => send(req, res, route, status, payload, headers));
      held.arrive();
      return;
    }
    emulator.requests.push({ route, method: req.method ?? '', url: req.url ?? '', status, at: Date.now() });
    const text = payload === undefined ? '' : JSON.stringify(payload);
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(text);
  }

  function sendText(req: IncomingMessage, res: ServerResponse, route: RecordedRequest['route'], status: number, text: string, headers: Record<string, string>) {
    emulator.requests.push({ route, method: req.method ?? '', url: req.url ?? '', status, at: Date.now() });
    res.writeHead(status, headers);
    res.end(text);
  }

  function applyFault(req: IncomingMessage, res: ServerResponse, route: EmulatedRoute, body: string): boolean {
    const fault = pickFault(route, body, req.url ?? '');
    if (!fault) return false;
    if (fault.hang) {
      emulator.requests.push({ route, method: req.method ?? '', url: req.url ?? '', status: 0, at: Date.now() });
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return true;
    }
    if (fault.reset) {
      emulator.requests.push({ route, method: req.method ?? '', url: req.url ?? '', status: 0, at: Date.now() });
      req.socket.destroy();
      return true;
    }
    const headers: Record<string, string> = {};
    if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
    if (fault.location !== undefined) headers.location = fault.location;
    const status = fault.status ?? 500;
    if (fault.rawBody !== undefined) {
      sendText(req, res, route, status, fault.rawBody, { 'content-type': fault.contentType ?? 'text/html', ...headers });
      return true;
    }
    send(req, res, route, status, fault.echo ? echoOf(req, body, status) : (fault.body ?? { error: `emulated ${status}` }), headers);
    return true;
  }

  /**
   * 401 without a token TimeBack knows and that is still alive; 403 when the token lacks
   * the scope the route needs (RFC 6750 §3.1 insufficient_scope).
   */
  function authorize(req: IncomingMessage, scope: string): 'ok' | 401 | 403 {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const grant = token === undefined ? undefined : issued.get(token);
    if (token === undefined || !emulator.validTokens.has(token) || (grant !== undefined && now() >= grant.expiresAt)) return 401;
    return grant === undefined || grant.scopes.has(scope) ? 'ok' : 403;
  }

  function refuse(req: IncomingMessage, res: ServerResponse, route: EmulatedRoute, status: 401 | 403) {
    return status === 401
      ? send(req, res, route, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' })
      : send(req, res, route, 403, { error: 'insufficient_scope' }, { 'www-authenticate': 'Bearer error="insufficient_scope"' });
  }

  function handle(req: IncomingMessage, res: ServerResponse, body: string) {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const path = url.pathname;
    options.onRequest?.({ route: routeOf(req.method, path), method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });

    if (req.method === 'POST' && path === '/auth/1.0/token') {
      if (applyFault(req, res, 'token', body)) return;
      // The form is the only body an OAuth token endpoint reads (RFC 6749 §4.4.2).
      if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
        return send(req, res, 'token', 400, { error: 'invalid_request' });
      }
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      // The secret may hold a colon; the id may not (RFC 7617 §2).
      const pair = basic ? Buffer.from(basic, 'base64').toString('utf8') : '';
      const colon = pair.indexOf(':');
      const [id, secret] = colon < 0 ? [] : [pair.slice(0, colon), pair.slice(colon + 1)];
      const form = new URLSearchParams(body);
      if (id !== clientId || secret !== emulator.clientSecret) {
        return send(req, res, 'token', 401, { error: 'invalid_client' });
      }
      if (form.get('grant_type') !== 'client_credentials') {
        return send(req, res, 'token', 400, { error: 'unsupported_grant_type' });
      }
      const asked = (form.get('scope') ?? '').split(' ').filter((scope) => scope !== '');
      const { grantedScopes } = emulator;
      if (!options.narrowsScopes && asked.some((scope) => !grantedScopes.includes(scope))) {
        return send(req, res, 'token', 400, { error: 'invalid_scope' });
      }
      const scopes = asked.length > 0 ? asked.filter((scope) => grantedScopes.includes(scope)) : grantedScopes;
      emulator.tokensIssued += 1;
      const issuedAt = now();
      const token = options.jwtTokens ? unsignedJwt(issuedAt, tokenTtl) : `tok-${randomUUID()}`;
      emulator.validTokens.add(token);
      issued.set(token, { scopes: new Set(scopes), expiresAt: issuedAt + tokenTtl * 1000 });
      return send(req, res, 'token', 200, {
        access_token: token,
        expires_in: tokenTtl,
        token_type: 'Bearer',
        scope: scopes.join(' '),
        ...emulator.tokenFields,
      });
    }

    if (req.method === 'GET' && isUsersPath(path)) {
      if (applyFault(req, res, 'roster', body)) return;
      const access = authorize(req, ROSTER_READONLY);
      if (access !== 'ok') return refuse(req, res, 'roster', access);
      const rest = path.slice('/rostering/1.0/users'.length);
      if (rest.startsWith('/') && rest.length > 1) {
        let id: string;
        try {
          id = decodeURIComponent(rest.slice(1));
        } catch {
          return send(req, res, 'roster', 400, { error: 'malformed path' });
        }
        const user = emulator.users.get(id);
        return user
          ? send(req, res, 'roster', 200, { user: toRecord(user) })
          : send(req, res, 'roster', 404, { error: 'not found' });
      }
      const filter = url.searchParams.get('filter');
      const predicate = filter === null ? () => true : parseFilter(filter);
      if (!predicate) return send(req, res, 'roster', 400, { error: `unsupported filter: ${filter}` });
      // limit 1-100, default 10; offset from 0 (TimeBack's OneRoster conventions).
      const limit = Number(url.searchParams.get('limit') ?? 10);
      const offset = Number(url.searchParams.get('offset') ?? 0);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100 || !Number.isInteger(offset) || offset < 0) {
        return send(req, res, 'roster', 400, { error: 'limit must be 1-100 and offset 0 or more' });
      }
      const users = [...emulator.users.values()].filter(predicate).map(toRecord);
      const page = options.ignoresOffset ? users.slice(0, limit) : users.slice(offset, offset + limit);
      return send(
        req,
        res,
        'roster',
        200,
        options.listShape === 'pagination'
          ? { users: page, pagination: { limit, offset, total: users.length, hasMore: users.length > offset + limit } }
          : options.listShape === 'no-total'
            ? { users: page }
            : { users: page, total: options.listShape === 'text-total' ? String(users.length) : users.length },
      );
    }

    if (req.method === 'POST' && (path === '/events/1.0/' || path === '/events/1.0')) {
      emulator.eventPosts += 1;
      if (applyFault(req, res, 'events', body)) return;
      const access = authorize(req, EVENTS_WRITE);
      if (access !== 'ok') return refuse(req, res, 'events', access);
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
        return send(req, res, 'events', 415, { status: 'error', message: 'expected application/json' });
      }
      let event: unknown;
      try {
        event = JSON.parse(body);
      } catch {
        return send(req, res, 'events', 400, { status: 'error', message: 'body is not JSON' });
      }
      const errors = caliperEventErrors(event);
      if (errors.length > 0) return send(req, res, 'events', 400, { status: 'error', message: 'invalid event', errors });
      if (recordEvents) emulator.received.push(event);
      else emulator.received.length += 1;
      // 202 as the Partner API answers (docs/timeback §4); the body is the SDK's reading of it.
      return send(req, res, 'events', 202, { jobId: randomUUID(), eventsAccepted: 1 });
    }

    send(req, res, 'other', 404, { error: `no route ${req.method} ${path}` });
  }

  // A port in use is an error to report, not an unhandled 'error' event that ends the process.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  emulator.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return emulator;
}

const EVENTS_WRITE = 'https://purl.imsglobal.org/spec/caliper/v1p2/scope/events.write';
const ROSTER_READONLY = 'https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly';

function isUsersPath(path: string): boolean {
  return path === '/rostering/1.0/users' || path.startsWith('/rostering/1.0/users/');
}

function routeOf(method: string | undefined, path: string): RecordedRequest['route'] {
  if (method === 'POST' && path === '/auth/1.0/token') return 'token';
  if (method === 'GET' && isUsersPath(path)) return 'roster';
  if (method === 'POST' && (path === '/events/1.0/' || path === '/events/1.0')) return 'events';
  return 'other';
}

const CALIPER_1_2_CONTEXT = 'http://purl.imsglobal.org/ctx/caliper/v1p2';
const URN_UUID = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/**
 * The IRI forms TimeBack's general concepts page allows: urn:uuid, urn:email, https. It asks
 * for the urn:uuid in lowercase and says it normalises `URN:UUID:`; the emulator refuses
 * capitals instead, so that a test shows the gateway sends what TimeBack asks for.
 */
const TIMEBACK_IRI = /^(?:urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|urn:email:\S+@\S+|https:\/\/[^\s/?#]+(?:[/?#]\S*)?)$/;
const ENTITY_FIELDS = ['actor', 'object', 'edApp', 'target', 'generated', 'referrer', 'group', 'membership', 'federatedSession'];

/**
 * What TimeBack's schema check refuses (400) in one bare Caliper 1.2 event: what the docs
 * state, not the whole vocabulary. Whether `/events/1.0/` also takes an envelope is not
 * documented; the gateway sends one event per POST, so an envelope is refused here, where
 * it would mean the gateway changed what it sends.
 */
export function caliperEventErrors(event: unknown): string[] {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return ['expected one Caliper event (a JSON object)'];
  const e = event as Record<string, unknown>;
  if (Array.isArray(e.data)) return ['expected one bare Caliper event, not an envelope'];
  const errors: string[] = [];
  if (e['@context'] !== CALIPER_1_2_CONTEXT) errors.push(`@context: expected ${CALIPER_1_2_CONTEXT}`);
  if (typeof e.id !== 'string' || !URN_UUID.test(e.id)) errors.push('id: expected urn:uuid:<uuid> in lowercase');
  for (const field of ['type', 'action']) {
    if (typeof e[field] !== 'string' || e[field] === '') errors.push(`${field}: required`);
  }
  if (typeof e.eventTime !== 'string' || Number.isNaN(Date.parse(e.eventTime))) errors.push('eventTime: expected an ISO 8601 date-time');
  for (const field of ['actor', 'object']) if (e[field] === undefined) errors.push(`${field}: required`);
  for (const field of ENTITY_FIELDS) {
    const value = e[field];
    if (value === undefined || value === null) continue;
    const id = typeof value === 'string' ? value : (value as { id?: unknown }).id;
    if (typeof id !== 'string' || !TIMEBACK_IRI.test(id)) errors.push(`${field}: expected an IRI TimeBack resolves (urn:uuid:, urn:email:, https://)`);
  }
  if (e.session !== undefined && e.session !== 'urn:tag:auto-attach') {
    const id = typeof e.session === 'string' ? e.session : (e.session as { id?: unknown } | null)?.id;
    if (typeof id !== 'string' || !TIMEBACK_IRI.test(id)) errors.push('session: expected urn:tag:auto-attach or an IRI');
  }
  return errors;
}

/** An error answer that repeats the whole request, credentials and all (Fault.echo). */
function echoOf(req: IncomingMessage, body: string, status: number) {
  const received = { method: req.method, url: req.url, headers: req.headers, body };
  return { error: `emulated ${status}`, error_description: JSON.stringify(received), received };
}

function toRecord(user: EmulatedUser) {
  return {
    sourcedId: user.sourcedId,
    status: user.status ?? 'active',
    identifier: user.identifier ?? '',
    username: user.username ?? '',
    email: user.email ?? '',
    givenName: user.givenName ?? '',
    familyName: user.familyName ?? '',
    ...(user.role !== undefined
      ? { role: user.role }
      : { roles: (user.roles ?? ['student']).map((role, i) => ({ roleType: i === 0 ? 'primary' : 'secondary', role })) }),
  };
}

/**
 * OneRoster filters as TimeBack documents them: `field='value'` predicates joined by one
 * AND or OR (at most two). A quote inside a value is doubled. Parsing OR for real matters:
 * it is what an unescaped value like `x' OR identifier='y` would abuse.
 */
export function parseFilter(filter: string): ((user: EmulatedUser) => boolean) | undefined {
  const predicates: Array<{ field: string; value: string }> = [];
  const joins: string[] = [];
  let rest = filter.trim();
  while (rest.length > 0) {
    const head = /^(\w+)\s*=\s*'/.exec(rest);
    if (!head) return undefined;
    let i = head[0].length;
    let value = '';
    for (;;) {
      if (i >= rest.length) return undefined;
      const ch = rest[i] as string;
      if (ch === "'") {
        if (rest[i + 1] === "'") {
          value += "'";
          i += 2;
          continue;
        }
        i += 1;
        break;
      }
      value += ch;
      i += 1;
    }
    predicates.push({ field: head[1] as string, value });
    rest = rest.slice(i).trim();
    if (rest.length === 0) break;
    const join = /^(AND|OR)\s+/i.exec(rest);
    if (!join) return undefined;
    joins.push((join[1] as string).toUpperCase());
    rest = rest.slice(join[0].length);
  }
  if (predicates.length === 0 || predicates.length > 2) return undefined;
  const test = (user: EmulatedUser, { field, value }: { field: string; value: string }) =>
    String((user as unknown as Record<string, unknown>)[field] ?? '') === value;
  return joins[0] === 'OR'
    ? (user) => predicates.some((p) => test(user, p))
    : (user) => predicates.every((p) => test(user, p));
}

function unsignedJwt(issuedAtMs: number, ttlSeconds: number): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const iat = Math.floor(issuedAtMs / 1000);
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: 'emulator', iat, exp: iat + ttlSeconds, jti: randomUUID() })}.`;
}
