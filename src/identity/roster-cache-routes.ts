/**
 * `/admin/roster-cache`: see what the gateway believes about each student, and make it
 * forget (after fixing the roster, so the next event looks the student up again).
 *
 *   GET    /admin/roster-cache?outcome=not-found&limit=100&offset=0
 *   DELETE /admin/roster-cache/:externalId
 *   DELETE /admin/roster-cache?outcome=not-found     (all entries, or all with this outcome)
 *
 * Evictions are written on the service's own connection, on the event loop, not through the
 * writer thread that commits the lookups' answers: they are rare, and the admin waits for
 * the answer anyway. They commit with synchronous=FULL (roster-cache.ts), so the answer
 * comes after they are on disk, and wait for the write lock a short while at a time
 * (lock-wait.ts), so the event loop is never held long.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppDeps, AppEnv } from '../app.ts';
import { badRequest, GatewayError, quote, unknownParameter } from '../errors.ts';
import { noQuery, singleQuery, wholeNumberParameter } from '../query-params.ts';
import { isBusy, retryWhileBusy, type RetryWhileBusyOptions } from '../store/lock-wait.ts';
import { ROSTER_OUTCOMES } from '../store/schema.ts';
import { readAdminExternalId } from './identity-resolver.ts';
import { createRosterCache, viewOf } from './roster-cache.ts';
import type { UserOverrides } from './user-overrides.ts';

const OutcomeSchema = z.enum(ROSTER_OUTCOMES, { error: `must be one of ${ROSTER_OUTCOMES.join(', ')}` });

const ListQuerySchema = z.strictObject(
  {
    outcome: OutcomeSchema.optional(),
    limit: wholeNumberParameter(1, 1000).default(100),
    // Past the last entry a page is empty; past MAX_SAFE_INTEGER a number is no longer exact.
    offset: wholeNumberParameter(0, Number.MAX_SAFE_INTEGER).default(0),
  },
  { error: unknownParameter(['outcome', 'limit', 'offset']) },
);

const ClearQuerySchema = z.strictObject({ outcome: OutcomeSchema.optional() }, { error: unknownParameter(['outcome']) });

/**
 * Said of a student user-overrides.yaml pins, evicted or not cached: the pin wins over the cache
 * and the roster, so an eviction changes nothing for them, and the admin would otherwise be left
 * wondering why they keep their platform id.
 */
const PIN_DECIDES = 'it is pinned in user-overrides.yaml, and the pin decides for this student: edit that file to change their platform id';

/**
 * A Learn externalId of `.` or `..` cannot be named as it is in `DELETE /admin/roster-cache/<externalId>`:
 * every URL parser (fetch's, curl's, the gateway's) resolves such a segment, percent-encoded or
 * not, as a step of the path before routing, so the request reaches `/admin/roster-cache/` or
 * `/admin/` and is a 404 (never the clear). Padded (`%20..`) it is no dot segment, and the id
 * is trimmed as every id named here is (no cached id has a space around it), so that evicts
 * `..`: the way that works, said in that 404 from the path as sent, rather than "no route".
 */
export function dotIdEviction(sentPath: string | undefined): string | undefined {
  if (sentPath === undefined || !/^\/admin\/roster-cache\/(?:\.|%2e){1,2}\/?(?:[?#]|$)/i.test(sentPath)) return undefined;
  return 'a Learn externalId of . or .. cannot be named in a URL path as it is, which resolves it (encoded or not) as a step of the path; nothing was evicted: send it with a space before it (%20..), which is trimmed off as from any id, or evict it with `caliper-gateway roster-cache evict`';
}

export function rosterCacheRoutes({
  store,
  config,
  overrides,
  now = Date.now,
  lockRetry,
}: Pick<AppDeps, 'store' | 'config' | 'now'> & {
  /** The running gateway's pins (the table in force, which a bad edit of the file leaves as it was). */
  overrides: Pick<UserOverrides, 'get'>;
  lockRetry?: RetryWhileBusyOptions;
}) {
  const cache = createRosterCache(store, now);
  const router = new Hono<AppEnv>();

  router.get('/', (c) => {
    // A bad query throws a ZodError: the app's one error handler answers 400 naming the parameter.
    const { outcome, limit, offset } = ListQuerySchema.parse(singleQuery(c.req.queries(), ['outcome', 'limit', 'offset']));
    const { total, entries } = cache.list({ outcome, limit, offset });
    const at = now();
    return c.json({ total, limit, offset, entries: entries.map((entry) => viewOf(entry, config.roster, at)) });
  });

  /** An eviction, waiting for the write lock a short while at a time, never the event loop's 5 s. */
  async function evicting<T>(evict: () => T): Promise<T> {
    try {
      return await retryWhileBusy(store.sqlite, evict, lockRetry);
    } catch (err) {
      if (!isBusy(err)) throw err;
      throw new GatewayError(503, 'busy', 'The database stayed busy with other writes; nothing was evicted: try again', { cause: err });
    }
  }

  router.delete('/', async (c) => {
    const { outcome } = ClearQuerySchema.parse(singleQuery(c.req.queries(), ['outcome']));
    return c.json({ cleared: await evicting(() => cache.clear(outcome)) });
  });

  router.delete('/:externalId', async (c) => {
    noQuery(c.req.queries(), 'this route takes none; nothing was evicted');
    // Trimmed, as the cache's ids were: a pasted " jstudent9\n" is jstudent9, not "not cached".
    const read = readAdminExternalId(c.req.param('externalId'));
    if (!read.ok) throw badRequest('invalid-request', `${read.problem}; nothing was evicted`);
    const { externalId } = read;
    const evicted = await evicting(() => cache.evict([externalId]));
    const pinned = overrides.get(externalId) !== undefined;
    if (evicted.length === 0) {
      // Quoted and cut: the id is the admin's, but a line break or escape sequence in it must
      // not reach their terminal as written, nor an id of kilobytes the answer. (Admin routes'
      // messages are not logged: app.ts logs only their code.)
      throw new GatewayError(404, 'not-cached', `${quote(externalId)} is not in the roster cache${pinned ? `; ${PIN_DECIDES}` : ''}`);
    }
    return c.json(pinned ? { evicted, pinned, note: `${quote(externalId)} was evicted, but ${PIN_DECIDES}` } : { evicted });
  });

  return router;
}
