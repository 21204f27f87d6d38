/**
 * The admin's window on the queue (mounted under /admin behind ADMIN_TOKEN):
 *   GET  /admin/events?fate=&reason=&limit=&before=   newest first, paged by seq
 *   GET  /admin/events/:seq                            input, output, attempts, last answer
 *   POST /admin/replay                                 same filters as `caliper-gateway replay`
 *
 * A replay is written on the service's own connection, not through the writer thread: it is
 * rare, and the admin waits for its answer anyway. Its chunks commit with synchronous=FULL
 * (replay.ts), so the answer comes after they are on disk, and each waits for the write lock
 * a short while at a time (lock-wait.ts), so the event loop is never held long.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app.ts';
import { GatewayError, badRequest, unknownParameter } from '../errors.ts';
import { BODY_IDLE_MS, readBody } from '../ingest/read-body.ts';
import { eventNumberParameter, noQuery, singleQuery, wholeNumberParameter } from '../query-params.ts';
import type { Store } from '../store/database.ts';
import { getEvent, listEvents } from '../store/event-queries.ts';
import { isBusy, type RetryWhileBusyOptions } from '../store/lock-wait.ts';
import { ReasonFilterSchema, ReplayFilterSchema, replayInTurns, startReplay, unknownReason, unreplayedIds } from '../store/replay.ts';
import { FATES } from '../store/schema.ts';

export interface AdminEventsDeps {
  store: Store;
  now?: () => number;
  /** Wakes the pipeline after a replay, so it need not wait for its next poll. */
  onReplayed?: () => void;
  /** How long a replay keeps trying while the write lock is busy (default: lock-wait.ts's). */
  lockRetry?: RetryWhileBusyOptions;
  /** How long a replay's body may go without a byte before a 408 (default: read-body.ts's; tests shorten it). */
  bodyIdleMs?: number;
}

const LIST_PARAMETERS = ['fate', 'status', 'reason', 'limit', 'before'];

const FateSchema = z.enum(FATES, { error: `must be one of ${FATES.join(', ')}` });

// `status` is replay's name for the filter (the contract's `replay --status`), taken here too.
const EventListQuerySchema = z
  .strictObject(
    {
      fate: FateSchema.optional(),
      status: FateSchema.optional(),
      reason: ReasonFilterSchema.optional(),
      limit: wholeNumberParameter(1, 500).default(50),
      before: eventNumberParameter().optional(),
    },
    { error: unknownParameter(['fate (or status)', 'reason', 'limit', 'before']) },
  )
  .superRefine((query, ctx) => {
    if (query.status !== undefined && query.fate !== undefined && query.status !== query.fate) {
      ctx.addIssue({ code: 'custom', path: ['fate'], message: 'status and fate are one filter; give one' });
    }
  })
  .transform(({ status, ...query }) => (status === undefined ? query : { ...query, fate: status }));

const SeqSchema = eventNumberParameter();

/**
 * A replay's body: 10,000 ids (the most one takes) of a Learn event's length fit in half of it.
 * Unlimited, a body of any size was read whole into memory before it was looked at.
 */
export const MAX_REPLAY_BODY_BYTES = 1024 * 1024;

/**
 * The body's text, refused (413) as soon as it is known to be over MAX_REPLAY_BODY_BYTES, or
 * (408) once it goes `idleMs` without a byte. readBody's refusals speak of envelopes; these
 * say what happened to the replay.
 */
async function replayBodyText(c: Context<AppEnv>, idleMs: number): Promise<string> {
  const { incoming, outgoing } = (c.env as { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined) ?? {};
  try {
    // As c.req.text() decoded it: a byte order mark is dropped, a byte that is not UTF-8 replaced.
    return new TextDecoder().decode(await readBody(c.req.raw, MAX_REPLAY_BODY_BYTES, incoming && { incoming, outgoing, idleMs }));
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    if (err.code === 'body-timeout') {
      throw new GatewayError(408, 'body-timeout', `No part of the body arrived for ${idleMs / 1000} s; nothing was replayed. Send it again.`, {
        cause: err,
        headers: err.headers,
      });
    }
    if (err.code !== 'payload-too-large') throw err;
    throw new GatewayError(
      413,
      'payload-too-large',
      `The body is over POST /admin/replay's limit of ${MAX_REPLAY_BODY_BYTES} bytes; nothing was replayed. Name at most 10,000 events per replay, or choose them by status, reason and since`,
      { cause: err, headers: err.headers },
    );
  }
}

/** Replayed ids echoed in the answer; beyond this only the count is useful. */
const MAX_LISTED = 1_000;

export function adminEventsRoutes({ store, now = Date.now, onReplayed, lockRetry, bodyIdleMs = BODY_IDLE_MS }: AdminEventsDeps) {
  const router = new Hono<AppEnv>();

  router.get('/events', (c) => {
    const query = EventListQuerySchema.parse(singleQuery(c.req.queries(), LIST_PARAMETERS));
    return c.json(listEvents(store, query));
  });

  router.get('/events/:seq', (c) => {
    noQuery(c.req.queries(), 'this route takes none');
    const parsed = SeqSchema.safeParse(c.req.param('seq'));
    if (!parsed.success) throw badRequest('invalid-request', `seq: ${parsed.error.issues[0]?.message}`);
    const event = getEvent(store, parsed.data);
    if (!event) throw new GatewayError(404, 'not-found', `No event ${parsed.data}`);
    return c.json(event);
  });

  router.post('/replay', async (c) => {
    // Before the body is read: nothing is replayed on a filter put where it is not looked for.
    noQuery(c.req.queries(), 'send the filters (status, reason, since, ids) as the JSON body; nothing was replayed');
    const text = await replayBodyText(c, bodyIdleMs);
    let body: unknown;
    try {
      body = text.trim() === '' ? {} : JSON.parse(text);
    } catch (err) {
      throw badRequest('invalid-json', 'The body is not valid JSON', err);
    }
    const filter = ReplayFilterSchema.parse(body);
    const replay = startReplay(store, filter, now());
    let replayed;
    try {
      replayed = await replayInTurns(store, replay, lockRetry);
    } catch (err) {
      if (!isBusy(err)) throw err;
      const done = replay.replayed.length;
      throw new GatewayError(
        503,
        'busy',
        `The database stayed busy with other writes; ${
          done === 0 ? 'nothing was replayed: send the replay again' : `${done} event${done === 1 ? ' was' : 's were'} replayed before that and stay replayed: send the replay again for the rest`
        }`,
        { cause: err },
      );
    } finally {
      // Also when the rest gave up: the chunks already committed are pending like any replayed
      // event, and without a wake they waited for the translate stage's next poll.
      if (replay.replayed.length > 0) onReplayed?.();
    }
    // A reason no event has (a typo, as `http400`), with the reasons there are, as the command says it.
    const unknown = replayed.length === 0 ? unknownReason(store, filter) : undefined;
    return c.json({
      requeued: replayed.length,
      events: replayed.slice(0, MAX_LISTED),
      truncated: replayed.length > MAX_LISTED,
      // Named events left alone, with their fates (none: no such event), so a script sees why.
      notReplayed: unreplayedIds(store, filter, replayed),
      ...(unknown === undefined ? {} : { unknownReason: unknown }),
    });
  });

  return router;
}
