/**
 * Asks TimeBack's roster who a Learn user is, one ROSTER_MATCH strategy at a time:
 * `sourcedId` reads `/rostering/1.0/users/{id}`, the others filter the user list
 * (`filter=field='value'`), page by page. Beside it: roster-request.ts sends one request
 * (keep-alive connections, a deadline on every request) and says what a refusal means,
 * roster-user.ts which of the users answered is the student, and roster-gate.ts whether a
 * lookup may go out now (the slots and the outage pause, and the status /readyz shows).
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
import { createRosterGate, type RosterStatus } from './roster-gate.ts';
import { createRosterRequests, unreadable, type RosterRequests, type RosterUnavailable } from './roster-request.ts';
import { couldBeStudent, decide, isLive, notAStudent, RosterUserSchema, sameValue, UserListSchema, type RosterUser } from './roster-user.ts';

export type RosterLookup =
  /** `platformId` is the user's sourcedId, lowercased. */
  | { outcome: 'found'; platformId: string }
  | { outcome: 'not-found'; detail?: string }
  | { outcome: 'ambiguous'; count: number }
  /**
   * `held`: no lookup was sent because TimeBack refused our credentials (see IdentityAnswer).
   * `setup`: the answer was about the app or the query (401 with a fresh token, 403, 400,
   * 404 or 405 for the user list, a redirect), which no student's lookup can fix.
   * `stopped`: the gateway is stopping; the lookup was cut or never sent (roster-request.ts's
   * close), and nothing was learned about the roster.
   * `shared`: the request that failed was another lookup's (the roster check both waited on,
   * see `rosterThere`); the gate counts it once, with the lookup that sent it.
   */
  | { outcome: 'unavailable'; detail: string; retryAfterMs?: number; held?: boolean; setup?: boolean; stopped?: boolean; shared?: boolean };

export interface RosterClient {
  lookup(strategy: RosterStrategy, externalId: string): Promise<RosterLookup>;
  /** The last answer that said the set-up is wrong, until the roster answers a lookup (for /readyz). */
  problem(): string | undefined;
  /** Whether lookups go out or wait for the roster to come back (for /readyz). */
  status(): RosterStatus;
  close(): Promise<void>;
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
/**
 * 404s by id in a row, with no user or list answered between them, after which the next is
 * checked like the first (see `rosterThere`). A roster that goes away behind the URL (a proxy
 * answering 404 to every path) left every student after it "not found" until a restart; now
 * at most this many less one are. On a healthy roster it costs one `?limit=1` per run, and
 * not-found students are cached, so runs are rare.
 */
export const ROSTER_RECHECK_AFTER_404S = 5;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function createRosterClient({ config, tokens, log, metrics, now = Date.now }: RosterClientDeps): RosterClient {
  const requests = createRosterRequests({ config, tokens, now, connections: ROSTER_CONNECTIONS });
  const gate = createRosterGate({ config, log, metrics, now, size: ROSTER_CONNECTIONS });
  const context: LookupContext = { requests, log, warnedLooseFilter: false, rosterSeen: false, notFoundsInARow: 0, checking: undefined };

  return {
    async lookup(strategy, externalId) {
      // Platform ids are UUIDs and `decide` refuses any other sourcedId, so a Learn id that is
      // not a UUID cannot be found by id: no request. Schools whose batch_uid is an SIS number
      // paid one wasted GET per student for it (the default ROSTER_MATCH tries sourcedId first).
      if (strategy === 'sourcedId' && !isUuid(externalId)) return { outcome: 'not-found' };
      // Half of a UTF-16 pair on its own is no character: no URL or JSON can carry it, so no
      // roster holds it (encodeURIComponent threw, and the event was retried until it died).
      if (LONE_SURROGATE.test(externalId)) return { outcome: 'not-found' };
      return gate.run(strategy, () => (strategy === 'sourcedId' ? bySourcedId(context, externalId) : byFilter(context, strategy, externalId)));
    },

    problem: () => gate.problem(),

    status: () => gate.status(),

    /** Cuts the lookups in flight (see RosterRequests.close) and closes the connections. */
    close() {
      return requests.close();
    },
  };
}

/** What the two ways of looking a user up share, one per client. */
interface LookupContext {
  requests: RosterRequests;
  log: Logger;
  /** A filter that lets other users through is a property of the server: said once, not per lookup. */
  warnedLooseFilter: boolean;
  /** The roster has answered with a user or a list that parses: a 404 by id is then a user it does not have. */
  rosterSeen: boolean;
  /** 404s by id since the roster last answered with a user or a list (ROSTER_RECHECK_AFTER_404S). */
  notFoundsInARow: number;
  /** The check that a roster is there, while it is in flight (see `rosterThere`). */
  checking: Promise<RosterUnavailable | undefined> | undefined;
}

async function bySourcedId(context: LookupContext, externalId: string): Promise<RosterLookup> {
  const { requests, log } = context;
  const answer = await requests.user(externalId);
  if ('outcome' in answer) return answer;
  if (answer.status === 404) {
    context.notFoundsInARow += 1;
    if (context.notFoundsInARow >= ROSTER_RECHECK_AFTER_404S) context.rosterSeen = false;
    return (await rosterThere(context)) ?? { outcome: 'not-found' };
  }
  if (answer.status !== 200) return requests.unavailableFor(answer);
  const body = parseJsonBody(answer.text);
  // `{ user }` as TimeBack documents it, or the bare user some OneRoster servers send.
  const parsed = RosterUserSchema.safeParse(isRecord(body) && 'user' in body ? body.user : body);
  if (!parsed.success) return unreadable(answer);
  // Only now: a web page at a wrong TIMEBACK_BASE_URL answers 200 too.
  sawRoster(context);
  const user = parsed.data;
  if (!sameValue(user.sourcedId, externalId)) {
    log.warn({ strategy: 'sourcedId' }, 'TimeBack answered a user lookup by id with a different user; ignored');
    return { outcome: 'not-found' };
  }
  if (!isLive(user)) return { outcome: 'not-found' };
  return couldBeStudent(user) ? decide(user, 'sourcedId', log) : notAStudent(user);
}

/**
 * A 404 by id means "no such user" only where there is a roster. At a TIMEBACK_BASE_URL with
 * none behind it (a wrong path or tenant prefix) every id is a 404: with ROSTER_MATCH=sourcedId,
 * every event was skipped as user-not-in-timeback, "not found" cached for each student, and
 * /readyz stayed green. So until the roster has answered (and again after a run of
 * ROSTER_RECHECK_AFTER_404S 404s: it may have gone since), a 404 is checked against the
 * user list, one user asked for and nothing of the student sent; lookups that 404 meanwhile
 * share the check. Undefined when a roster is there; else why the lookup is unavailable.
 */
async function rosterThere(context: LookupContext): Promise<RosterUnavailable | undefined> {
  if (context.rosterSeen) return undefined;
  if (context.checking) {
    // One request, one failure towards the outage pause: counted once per lookup waiting on
    // it, one failed check paused every lookup when OUTAGE_THRESHOLD new students came at once.
    const failed = await context.checking;
    return failed && { ...failed, shared: true };
  }
  context.checking = checkRoster(context).finally(() => {
    context.checking = undefined;
  });
  return context.checking;
}

function sawRoster(context: LookupContext): void {
  context.rosterSeen = true;
  context.notFoundsInARow = 0;
}

async function checkRoster(context: LookupContext): Promise<RosterUnavailable | undefined> {
  const answer = await context.requests.probe();
  if ('outcome' in answer) return answer;
  const { status } = answer;
  // Only a user list says a roster is there: a web page or proxy at a wrong TIMEBACK_BASE_URL
  // can answer 200 to any path, and taking that for a roster makes every 404 "not found" for good.
  if (status === 200 && UserListSchema.safeParse(parseJsonBody(answer.text)).success) {
    sawRoster(context);
    return undefined;
  }
  if (status >= 200 && status < 300) return unreadable(answer);
  // 400 and 422 were once taken as a roster refusing the query. But TimeBack takes limit=1 (its
  // range is 1-100) and the check sends nothing else, so a roster answers it with a list; a
  // 4xx like these comes from what is there instead (a proxy's "400 Bad Request" page, another
  // API that reads `users` as a malformed id). 401, 403, 408 and 429 are about us, not the
  // place, and 404 and 405 already say "no roster there" (roster-request.ts).
  if (status >= 400 && status < 500 && ![401, 403, 404, 405, 408, 429].includes(status)) {
    return {
      outcome: 'unavailable',
      detail: `No roster there: GET …/users?limit=1 got HTTP ${status}, not a user list; check TIMEBACK_BASE_URL`,
      setup: true,
    };
  }
  // 3xx, 5xx, and the answers above: what roster-request.ts says of them for any lookup.
  return context.requests.unavailableFor(answer);
}

async function byFilter(context: LookupContext, field: Exclude<RosterStrategy, 'sourcedId'>, externalId: string): Promise<RosterLookup> {
  const { requests, log } = context;
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
    sawRoster(context);
    const listed = parsed.data.users;
    read += listed.length;
    const users = listed.flatMap((entry) => {
      const user = RosterUserSchema.safeParse(entry);
      return user.success ? [user.data] : [];
    });
    const before = listedIds.size;
    for (const user of users) listedIds.add(user.sourcedId.toLowerCase());
    const matching = users.filter((user) => sameValue(user[field], externalId));
    if (matching.length < users.length && !context.warnedLooseFilter) {
      context.warnedLooseFilter = true;
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
