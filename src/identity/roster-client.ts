/**
 * Asks TimeBack's roster who a Learn user is, one ROSTER_MATCH strategy at a time:
 * `sourcedId` reads `/rostering/1.0/users/{id}`, the others filter the user list
 * (`filter=field='value'`). Keep-alive connections, a deadline on every request.
 *
 * The rules that keep a wrong child from being credited:
 * - the value is quoted with doubled single quotes and the whole filter is URL-encoded,
 *   so `x' OR identifier='y` is one odd value, never a second predicate;
 * - a user the server returns is only believed if its field really equals the value;
 * - two or more matches are `ambiguous`, never "the first one";
 * - anything that is not a clear answer (401 twice, 403, 429, 5xx, timeouts, bodies we
 *   cannot read) is `unavailable`, never `not-found`.
 * Details never quote a response body: TimeBack may echo the filter, and with it the
 * student's id or e-mail, and details reach logs and the events table.
 */
import type { Config, RosterStrategy } from '../config.ts';
import { isRecord } from '../is-record.ts';
import { isUuid } from '../mapping/iri.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { TokenProvider } from '../timeback/token-provider.ts';
import { parseJsonBody } from '../timeback/http-answers.ts';
import { DEFAULT_BACKOFF } from '../deliver/backoff.ts';
import { OutagePause } from '../timeback/outage-pause.ts';
import { createRosterRequests, unreadable } from './roster-request.ts';
import { couldBeStudent, decide, isLive, notAStudent, RosterUserSchema, sameValue, UserListSchema, type RosterUser } from './roster-user.ts';

export type RosterLookup =
  /** `platformId` is the user's sourcedId, lowercased. */
  | { outcome: 'found'; platformId: string }
  | { outcome: 'not-found'; detail?: string }
  | { outcome: 'ambiguous'; count: number }
  /**
   * `held`: no lookup was sent because TimeBack refused our credentials (see IdentityAnswer).
   * `setup`: the answer was about the app or the query (401 with a fresh token, 403, 400,
   * 404 or 405 for the user list), which no student's lookup can fix.
   */
  | { outcome: 'unavailable'; detail: string; retryAfterMs?: number; held?: boolean; setup?: boolean };

export interface RosterClient {
  lookup(strategy: RosterStrategy, externalId: string): Promise<RosterLookup>;
  /** The last answer that said the set-up is wrong, until the roster answers a lookup (for /readyz). */
  problem(): string | undefined;
  /** Whether lookups go out or wait for the roster to come back (for /readyz). */
  status(): RosterStatus;
  close(): Promise<void>;
}

/**
 * `answering`: lookups go out. `failing`: the last lookup got no answer. `paused`: lookups
 * wait until `nextProbe` (the roster failed OUTAGE_THRESHOLD times in a row, or asked us to
 * back off). Events whose student is cached keep flowing either way.
 */
export interface RosterStatus {
  state: 'answering' | 'failing' | 'paused';
  since?: string;
  nextProbe?: string;
  problem?: string;
}

export interface RosterClientDeps {
  config: Config;
  tokens: TokenProvider;
  log: Logger;
  metrics: Metrics;
  now?: () => number;
}

/**
 * Connections kept open to TimeBack for lookups, and lookups in flight at once; misses are
 * rare once the cache is warm.
 */
export const ROSTER_CONNECTIONS = 8;
/**
 * Two would tell "exactly one" from "several" if every match were live; but OneRoster keeps
 * soft-deleted users (`tobedeleted`), and a re-enrolled student can have departed records
 * ahead of the live one, more than TimeBack's default page of ten in a school that re-enrols
 * often. So the list is read a page of 100 (TimeBack's largest) at a time while more may
 * match, up to ROSTER_FILTER_PAGES pages; what still cannot be seen is not guessed from.
 */
const FILTER_LIMIT = 100;
/** Pages read for one filtered lookup at most: 500 records for one e-mail or identifier. */
export const ROSTER_FILTER_PAGES = 5;
/** Lookups in a row without an answer that pause all lookups. */
export const OUTAGE_THRESHOLD = 5;

export function createRosterClient({ config, tokens, log, metrics, now = Date.now }: RosterClientDeps): RosterClient {
  const requests = createRosterRequests({ config, tokens, now, connections: ROSTER_CONNECTIONS });
  /**
   * The breaker delivery uses (outage-pause.ts), for the roster: after OUTAGE_THRESHOLD lookups in a row get
   * no answer (5xx, timeouts, refused connections), or once TimeBack asks us to back off
   * (429, Retry-After), no lookup is sent until the pause is over; then one goes out as a
   * probe, and its answer ends the pause or doubles it (up to DELIVERY_BACKOFF_CAP). Without
   * it every translation batch sends one lookup per student into the outage: the drill
   * counted some 50,000 requests to a roster that was down for a minute. It opens and closes
   * only in `dispatch`, which sets the `roster_paused` gauge as it does, not per lookup.
   */
  const pause = new OutagePause({
    policy: { baseMs: DEFAULT_BACKOFF.baseMs, capMs: config.delivery.backoffCapMs },
    threshold: OUTAGE_THRESHOLD,
    random: Math.random,
    now,
  });
  /**
   * Lookups wait here for a connection, and ask the breaker only once they have one. Queued
   * in the pool instead, every lookup of a translation batch was already past the breaker
   * when the first answers came back: a roster that went down met one request per new
   * student of the batch, not OUTAGE_THRESHOLD (npm run drill's minute-long outage: 158-163
   * requests, against 29 now).
   */
  const slots = createSlots(ROSTER_CONNECTIONS);
  let warnedLooseFilter = false;
  /** Outages are logged when they start and end, not once per student. */
  let answering = true;
  let lastFailure: string | undefined;
  let setupProblem: string | undefined;

  async function bySourcedId(externalId: string): Promise<RosterLookup> {
    const answer = await requests.user(externalId);
    if ('outcome' in answer) return answer;
    if (answer.status === 404) return { outcome: 'not-found' };
    if (answer.status !== 200) return requests.unavailableFor(answer);
    const body = parseJsonBody(answer.text);
    // `{ user }` as TimeBack documents it, or the bare user some OneRoster servers send.
    const parsed = RosterUserSchema.safeParse(isRecord(body) && 'user' in body ? body.user : body);
    if (!parsed.success) return unreadable(answer);
    const user = parsed.data;
    if (!sameValue(user.sourcedId, externalId)) {
      log.warn({ strategy: 'sourcedId' }, 'TimeBack answered a user lookup by id with a different user; ignored');
      return { outcome: 'not-found' };
    }
    if (!isLive(user)) return { outcome: 'not-found' };
    return couldBeStudent(user) ? decide(user, 'sourcedId', log) : notAStudent(user);
  }

  async function byFilter(field: Exclude<RosterStrategy, 'sourcedId'>, externalId: string): Promise<RosterLookup> {
    // By sourcedId: a server that ignores `offset` sends the same page again, and one user
    // twice is still one user.
    const live = new Map<string, RosterUser>();
    /** Every user listed so far, live or not: a later page of only these is the first sent again. */
    const listedIds = new Set<string>();
    let read = 0;
    for (let page = 1; ; page += 1) {
      const answer = await requests.list(field, externalId, { limit: FILTER_LIMIT, offset: read });
      if ('outcome' in answer) return answer;
      if (answer.status !== 200) return requests.unavailableFor(answer);
      const parsed = UserListSchema.safeParse(parseJsonBody(answer.text));
      if (!parsed.success) return unreadable(answer);
      const listed = parsed.data.users;
      read += listed.length;
      const users = listed.flatMap((entry) => {
        const user = RosterUserSchema.safeParse(entry);
        return user.success ? [user.data] : [];
      });
      const before = listedIds.size;
      for (const user of users) listedIds.add(user.sourcedId.toLowerCase());
      const matching = users.filter((user) => sameValue(user[field], externalId));
      if (matching.length < users.length && !warnedLooseFilter) {
        warnedLooseFilter = true;
        log.warn({ strategy: field }, 'TimeBack returned users that do not match the roster filter; they are ignored');
      }
      for (const user of matching.filter(isLive)) live.set(user.sourcedId.toLowerCase(), user);
      const students = [...live.values()].filter(couldBeStudent);
      if (students.length >= 2) return { outcome: 'ambiguous', count: students.length };
      const total = parsed.data.total ?? parsed.data.pagination?.total;
      // The server ignores `offset`: the users past its first page, which its count may
      // promise, can never be read, so they are not guessed about either.
      if (page > 1 && users.length > 0 && listedIds.size === before) return { outcome: 'ambiguous', count: Math.max(total ?? 0, listedIds.size) };
      // Without a count, a full page stands for "maybe more".
      const more = total !== undefined ? total > read : listed.length >= FILTER_LIMIT;
      if (!more) break;
      // Users past the last page read (or that a count promises and an empty page withholds)
      // may be live matches too; which is the student cannot be known, so an admin decides
      // (user-overrides.yaml), as for any other ambiguity.
      if (page >= ROSTER_FILTER_PAGES || listed.length === 0) return { outcome: 'ambiguous', count: Math.max(total ?? 0, read) };
    }
    const liveUsers = [...live.values()];
    const students = liveUsers.filter(couldBeStudent);
    if (students.length === 0 && liveUsers[0]) return notAStudent(liveUsers[0]);
    return decide(students[0], field, log);
  }

  /** One lookup past the breaker: sent only when the pause allows it, its answer recorded there. */
  async function dispatch(strategy: RosterStrategy, externalId: string): Promise<RosterLookup> {
    if (!pause.canDispatch()) {
      // Open: come back when the pause ends. Half-open: a probe is out; the event's own backoff decides.
      const waitMs = pause.state === 'open' ? pause.until - now() : undefined;
      return { outcome: 'unavailable', detail: `roster lookups paused: ${pause.problem ?? 'TimeBack roster unavailable'}`, retryAfterMs: waitMs };
    }
    pause.dispatching();
    let result: RosterLookup;
    try {
      result = strategy === 'sourcedId' ? await bySourcedId(externalId) : await byFilter(strategy, externalId);
    } catch (err) {
      // A bug, not an answer: let the next lookup probe instead of leaving the pause stuck.
      pause.probeAbandoned();
      throw err;
    }
    metrics.rosterLookups.inc({ strategy, outcome: result.outcome });
    if (result.outcome === 'unavailable' && result.held) {
      // Nothing reached the roster: it has not failed, and the token provider has logged the refusal.
      pause.probeAbandoned();
    } else if (result.outcome === 'unavailable') {
      if (result.setup) setupProblem = result.detail;
      if (pause.recordFailure(result.detail, result.retryAfterMs)) metrics.rosterPaused.set(1);
      metrics.rosterFailures.inc();
      if (answering) log.warn({ problem: result.detail }, 'TimeBack roster unavailable; affected events wait and are retried');
      answering = false;
      lastFailure = result.detail;
    } else {
      if (pause.recordAnswer()) metrics.rosterPaused.set(0);
      if (!answering) log.info('TimeBack roster answers again');
      answering = true;
      setupProblem = undefined;
    }
    return result;
  }

  return {
    async lookup(strategy, externalId) {
      // Platform ids are UUIDs and `decide` refuses any other sourcedId, so a Learn id that is
      // not a UUID cannot be found by id: no request. Schools whose batch_uid is an SIS number
      // paid one wasted GET per student for it (the default ROSTER_MATCH tries sourcedId first).
      if (strategy === 'sourcedId' && !isUuid(externalId)) return { outcome: 'not-found' };
      await slots.take();
      try {
        return await dispatch(strategy, externalId);
      } finally {
        slots.give();
      }
    },

    problem: () => setupProblem,

    status() {
      if (pause.state === 'closed') return answering ? { state: 'answering' } : { state: 'failing', ...(lastFailure ? { problem: lastFailure } : {}) };
      return {
        state: 'paused',
        ...(pause.since === undefined ? {} : { since: new Date(pause.since).toISOString() }),
        nextProbe: new Date(pause.until).toISOString(),
        ...(pause.problem === undefined ? {} : { problem: pause.problem }),
      };
    },

    close() {
      return requests.close();
    },
  };
}

/** At most `size` holders at once; the others wait, first come first served. */
function createSlots(size: number) {
  let free = size;
  const waiting: Array<() => void> = [];
  return {
    async take(): Promise<void> {
      if (free > 0) {
        free -= 1;
        return;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    },
    give(): void {
      const next = waiting.shift();
      if (next) next();
      else free += 1;
    },
  };
}
