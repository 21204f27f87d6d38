/**
 * One request to TimeBack's roster, and what an answer that is not a user means: the path and
 * filter of a lookup, the bearer token (one fresh token and one retry on a 401), keep-alive
 * connections, a deadline and a size cap on every request, and the `unavailable` an answer
 * other than 200 (or 404 by id) becomes. Which user in a 200 is the student is
 * roster-user.ts's to say; roster-client.ts decides which requests to send.
 */
import { Pool } from 'undici';
import type { Config, RosterStrategy } from '../config.ts';
import { TokenError, type TokenProvider } from '../timeback/token-provider.ts';
import { describeNetworkError, parseRetryAfter } from '../timeback/http-answers.ts';
import { requestSignal } from '../timeback/request-signal.ts';
import type { RosterLookup } from './roster-client.ts';

const MAX_ROSTER_RESPONSE_BYTES = 1024 * 1024;
/** A 429 without Retry-After still pauses every lookup this long. */
const DEFAULT_THROTTLE_MS = 1_000;
/** A lookup cut or refused because the gateway is stopping (RosterRequests.close). */
const STOPPED: RosterUnavailable = { outcome: 'unavailable', detail: 'roster lookup not finished: the gateway is stopping', stopped: true };

/**
 * Answers about the app or the query, not the student (RosterLookup's `setup`): every lookup
 * would get the same, so only an admin can fix them. A 401 reaches here only after a fresh token.
 */
const SETUP_ANSWERS: ReadonlyMap<number, string> = new Map([
  [400, 'TimeBack refused the roster query (HTTP 400); check that ROSTER_MATCH names fields it can filter on'],
  [401, 'TimeBack refused a freshly issued token for the roster (HTTP 401)'],
  [403, 'TimeBack refused the roster lookup (HTTP 403); the app needs the roster.readonly scope (TIMEBACK_SCOPES)'],
  [404, 'No roster there (HTTP 404); check TIMEBACK_BASE_URL'],
  [405, 'No roster there (HTTP 405); check TIMEBACK_BASE_URL'],
]);

/**
 * Redirects are not followed (the bearer token would go with them), and no student's lookup
 * is redirected on its own: an http→https hop or a moved host answers every path so, as it
 * does delivery's POSTs (outcome.ts), so it is a set-up problem for /readyz, not an outage.
 */
function redirected(status: number): string {
  return `TimeBack's roster answered with a redirect (HTTP ${status}), which is not followed; check TIMEBACK_BASE_URL (https, the right host)`;
}

/** RFC 3986 unreserved characters only: `'`, `(`, `)`, `*`, `!` are escaped too. */
export function encodeStrict(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** `field='value'` with the value's quotes doubled, per TimeBack's OneRoster filter rules. */
export function filterExpression(field: Exclude<RosterStrategy, 'sourcedId'>, value: string): string {
  return `${field}='${value.replaceAll("'", "''")}'`;
}

/** What the roster answered to one request, body read whole (within the size cap). */
export interface RosterResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export type RosterUnavailable = Extract<RosterLookup, { outcome: 'unavailable' }>;

export interface RosterRequests {
  /** GET `/users/{sourcedId}`. */
  user(sourcedId: string): Promise<RosterResponse | RosterUnavailable>;
  /** One page of the user list filtered on `field='value'`. */
  list(
    field: Exclude<RosterStrategy, 'sourcedId'>,
    value: string,
    page: { limit: number; offset: number },
  ): Promise<RosterResponse | RosterUnavailable>;
  /** GET `/users?limit=1`: is there a roster here at all (see `rosterThere` in roster-client.ts)? */
  probe(): Promise<RosterResponse | RosterUnavailable>;
  /** A response that is not an answer about the student, as `unavailable`. */
  unavailableFor(response: RosterResponse): RosterUnavailable;
  /**
   * Shutdown: cuts the requests in flight (they and every later one answer `unavailable`,
   * `stopped`), then closes the connections. Closing alone waited for a hanging request, up
   * to ROSTER_TIMEOUT past SHUTDOWN_TIMEOUT; translation has given up on its lookups by then.
   */
  close(): Promise<void>;
}

export interface RosterRequestsDeps {
  config: Config;
  tokens: TokenProvider;
  now: () => number;
  /** Keep-alive connections to TimeBack. */
  connections: number;
}

export function createRosterRequests({ config, tokens, now, connections }: RosterRequestsDeps): RosterRequests {
  const base = new URL(config.timeback.baseUrl);
  const usersPath = `${base.pathname.replace(/\/+$/, '')}/rostering/1.0/users`;
  const timeoutMs = config.roster.timeoutMs;
  const pool = new Pool(base.origin, {
    connections,
    keepAliveTimeout: 30_000,
    connect: { timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    maxResponseSize: MAX_ROSTER_RESPONSE_BYTES,
  });
  const stopping = new AbortController();
  let closed: Promise<void> | undefined;

  async function get(path: string, token: string): Promise<RosterResponse> {
    const cut = requestSignal(stopping.signal, timeoutMs);
    try {
      const response = await pool.request({
        method: 'GET',
        path,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: cut.signal,
      });
      return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
    } finally {
      cut.done();
    }
  }

  /** GET with a bearer token; a 401 gets one fresh token and one retry. */
  async function authorizedGet(path: string): Promise<RosterResponse | RosterUnavailable> {
    for (let attempt = 1; ; attempt += 1) {
      if (stopping.signal.aborted) return STOPPED;
      let token: string;
      try {
        token = await tokens.getToken();
      } catch (err) {
        if (!(err instanceof TokenError)) throw err;
        if (err.stopped) return STOPPED;
        if (!err.retryable) return { outcome: 'unavailable', detail: err.message, held: true };
        return { outcome: 'unavailable', detail: err.message, retryAfterMs: err.retryAfterMs };
      }
      let answer: RosterResponse;
      try {
        answer = await get(path, token);
      } catch (err) {
        if (stopping.signal.aborted) return STOPPED;
        return { outcome: 'unavailable', detail: `TimeBack roster unreachable: ${describeNetworkError(err)}` };
      }
      if (answer.status === 401 && attempt === 1) {
        tokens.invalidate(token);
        continue;
      }
      return answer;
    }
  }

  return {
    /** Only called with a UUID (see `lookup` in roster-client.ts), so the id is safe as a path segment. */
    user: (sourcedId) => authorizedGet(`${usersPath}/${encodeStrict(sourcedId)}`),

    list(field, value, { limit, offset }) {
      const filter = encodeStrict(filterExpression(field, value));
      return authorizedGet(`${usersPath}?filter=${filter}&limit=${limit}${offset === 0 ? '' : `&offset=${offset}`}`);
    },

    probe: () => authorizedGet(`${usersPath}?limit=1`),

    unavailableFor(answer) {
      const { status } = answer;
      const retryAfterMs = parseRetryAfter(answer.headers['retry-after'], now()) ?? (status === 429 ? DEFAULT_THROTTLE_MS : undefined);
      const setupDetail = SETUP_ANSWERS.get(status) ?? (status >= 300 && status < 400 ? redirected(status) : undefined);
      if (setupDetail !== undefined) return { outcome: 'unavailable', detail: setupDetail, retryAfterMs, setup: true };
      let detail: string;
      if (status === 429) detail = 'TimeBack roster asked us to slow down (HTTP 429)';
      else if (status >= 500) detail = `TimeBack roster failed (HTTP ${status})`;
      else detail = `TimeBack roster answered HTTP ${status}`;
      return { outcome: 'unavailable', detail, retryAfterMs, setup: false };
    },

    close() {
      stopping.abort();
      // undici refuses a second close(); a second caller waits for the first.
      closed ??= pool.close();
      return closed;
    },
  };
}

/** A 200 whose body is not the shape asked for; the body is never quoted (see roster-client.ts). */
export function unreadable(answer: RosterResponse): RosterUnavailable {
  return {
    outcome: 'unavailable',
    detail: `TimeBack roster answered ${answer.status} with a body that is not a roster answer`,
  };
}
