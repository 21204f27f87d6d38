/**
 * Builds the HTTP app from injected dependencies. No I/O happens here, so tests build
 * apps on a temporary database and talk to them with `app.request()`.
 */
import type { IncomingMessage } from 'node:http';
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HTTPException } from 'hono/http-exception';
import { routePath } from 'hono/route';
import { getPath } from 'hono/utils/url';
import { z } from 'zod';
import type { Config } from './config.ts';
import { GatewayError, MAX_QUOTED_CHARS, describeZodError, shown } from './errors.ts';
import { jsonText } from './json-text.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import type { Store } from './store/database.ts';
import type { StoreWriter } from './store/writer.ts';
import { caliperRoutes } from './ingest/caliper-routes.ts';
import { dotIdEviction } from './identity/roster-cache-routes.ts';
import { bodyLeftUnread } from './ingest/read-body.ts';
import type { IngestKeys } from './ingest/api-keys.ts';
import { adminAuth } from './ops/admin-auth.ts';
import { createAuthFailures, TOO_MANY_WRONG_KEYS, type AuthFailures, type AuthRealm } from './auth-failures.ts';
import { clientAddressReader } from './client-address.ts';
import { opsRoutes, type Readiness } from './ops/ops-routes.ts';

export interface AppDeps {
  config: Config;
  store: Store;
  log: Logger;
  metrics: Metrics;
  ingestKeys: IngestKeys;
  readiness: Readiness;
  /** Where POST /caliper commits envelopes; by default on `store`'s connection, on the event loop. */
  writer?: StoreWriter;
  /** Called after an envelope's events are committed, to wake the pipeline. */
  onEventsStored?: () => void;
  /** Milliseconds since the epoch; injected so tests control time. */
  now?: () => number;
  /** How long POST /caliper waits for room under MAX_BYTES_IN_FLIGHT before a 503 (tests shorten it). */
  intakeMaxWaitMs?: number;
  /** How long a body being read may go without a byte before a 408 (read-body.ts; tests shorten it). */
  bodyIdleMs?: number;
  /** Admin routers from the stages that own the data, mounted under `/admin` behind ADMIN_TOKEN. */
  admin?: Array<{ path: string; router: Hono<AppEnv> }>;
  /** True once shutdown began: only probes are answered, everything else is turned away (503). */
  shuttingDown?: () => boolean;
  /**
   * The wrong-key limiters, when the caller keeps their addresses known good across restarts
   * (server.ts); by default each realm gets a new one that starts knowing no address.
   */
  authFailures?: Record<AuthRealm, AuthFailures>;
}

export type AppEnv = {
  Variables: {
    /** Events in the request, for the request log line. */
    eventCount?: number;
    /** The route pattern, for metrics labels (keeps label cardinality bounded). */
    route?: string;
    /** The error the request was answered with, for the request log line. */
    error?: { code: string; message: string };
  };
};

const UNMATCHED = 'unmatched';
const CALIPER_ROUTE = '/caliper';
const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * A path no route took, as logged: its first two segments. What follows can still name a
 * student: a batch_uid with a slash, sent unencoded (DELETE /admin/roster-cache/new/kid@school.test),
 * or with a trailing slash, matches no route. Cut as a message cuts a value (errors.ts): anyone
 * can send a path of kilobytes, and each was logged whole.
 */
function unmatchedPath(path: string): string {
  let slashes = 0;
  let end = path.length;
  for (let i = 0; i < path.length; i++) {
    if (path.charCodeAt(i) === 0x2f && ++slashes === 3) {
      end = i;
      break;
    }
  }
  if (end > MAX_QUOTED_CHARS) return `${path.slice(0, MAX_QUOTED_CHARS)}… (${path.length} characters)`;
  return end < path.length ? `${path.slice(0, end)}/…` : path;
}

/**
 * `/caliper/` is routed as `/caliper`: with a trailing slash typed into Learn's Service URL,
 * every envelope was refused (404), and what Learn does with refused envelopes is not
 * documented. Other paths stay strict.
 */
function routedPath(request: Request): string {
  const path = getPath(request);
  return path === `${CALIPER_ROUTE}/` ? CALIPER_ROUTE : path;
}

/**
 * Every refusal has the one body `{ "error": { "code", "message" } }` (GatewayError's toJSON);
 * the error is also kept for the request's log line.
 */
function answerError(
  c: Context<AppEnv>,
  status: ContentfulStatusCode,
  error: { code: string; message: string },
  headers?: Record<string, string>,
): Response {
  c.set('error', error);
  return c.json({ error }, status, headers);
}

/** `c.json`, written by jsonText; headers and status as `c.json` takes them. */
function escapingJson(c: Context<AppEnv>): Context<AppEnv>['json'] {
  const json = (object: unknown, arg?: ContentfulStatusCode | ResponseInit, headers?: Record<string, string | string[]>): Response =>
    c.body(jsonText(object), arg as ContentfulStatusCode, { 'Content-Type': 'application/json', ...headers });
  // c.json's type also carries the answer's shape, for Hono's RPC client (unused here); the
  // Response is the same.
  return json as unknown as Context<AppEnv>['json'];
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>({ getPath: routedPath });
  const { log, metrics } = deps;

  // Every JSON answer, a route's own or a refusal, is written by jsonText (json-text.ts): it
  // echoes values of the request (ids, quoted fields), and a bidi override or C1 control in
  // one, written raw as JSON.stringify leaves it, misshows the answer in an admin's terminal.
  // Replaced here, once, so no route can write one another way.
  app.use((c, next) => {
    c.json = escapingJson(c);
    return next();
  });

  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    // Every answer is JSON or plain text; a browser must not take one (a 404 echoing the path
    // it was sent) for HTML.
    c.header('x-content-type-options', 'nosniff');
    // Answered with the request's body not all read, and never to be read (read-body.ts): a
    // refusal on its headers or its token, on any route, or a body cut short. The connection
    // is done, so that lingering-close.ts bounds what is still read of it; a sender waiting
    // for 100 Continue was never invited to send it, and may send it anyway or give up
    // (RFC 9110 §10.1.1).
    if (await bodyLeftUnread((c.env as { incoming?: IncomingMessage } | undefined)?.incoming)) c.header('connection', 'close');
    const error = c.get('error');
    // The most specific route the path matched, even when a middleware answered first (a
    // 401 from the admin check): what was asked for, without the ids in it.
    const route = c.get('route') ?? routePath(c, -1);
    metrics.httpRequests.inc({ route, status: String(c.res.status) });
    const line = {
      method: c.req.method,
      // The route's pattern, not the path: a path can name a student
      // (DELETE /admin/roster-cache/<batch_uid>). Only a path no route took is logged as sent.
      path: route === UNMATCHED ? unmatchedPath(c.req.path) : route,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      events: c.get('eventCount'),
      // Why it was refused. Learn shows its admin nothing of our answer, so for POST /caliper
      // the message goes in too: it names the field and never echoes the request's data
      // (errors.ts). Elsewhere only the code: an admin route's message can name a student.
      error: error?.code,
      reason: error !== undefined && route === CALIPER_ROUTE ? error.message : undefined,
    };
    // Probes and scrapes arrive every few seconds; they only matter when debugging. So do the
    // refusals of an address past the wrong-key limit, which a guesser sends as fast as it
    // can: auth-failures.ts says so once per address and window, at warn. Every other
    // request is at info, as pino-http logs a completed request: for POST /caliper that is
    // one line per envelope (Learn batches its events), the admin's record that Learn sends,
    // at a few µs. A refused envelope is at warn (pino-http's suggested level for a 4xx): it
    // was not stored and Learn shows its admin nothing, so LOG_LEVEL=warn keeps it while it
    // drops the line per accepted envelope. Other 4xx answer an admin's or a stray client's
    // own mistake, and stay at info.
    if (PROBE_PATHS.has(c.req.path) || error?.code === TOO_MANY_WRONG_KEYS) log.debug(line, 'request');
    else if (c.res.status >= 500) log.error(line, 'request');
    else if (c.res.status >= 400 && route === CALIPER_ROUTE) log.warn(line, 'request');
    else log.info(line, 'request');
  });

  // During shutdown the server keeps listening until the requests in flight are done
  // (server.ts), so a probe hears why (/readyz: 503, "shutting down") instead of finding the
  // port closed. Nothing new starts meanwhile: Learn is told to send again, and every answer
  // closes its connection.
  app.use(async (c, next) => {
    if (deps.shuttingDown?.() !== true) return next();
    c.header('connection', 'close');
    if (PROBE_PATHS.has(c.req.path)) return next();
    c.header('retry-after', '5');
    return answerError(c, 503, { code: 'shutting-down', message: 'The gateway is shutting down; nothing of this request was done. Send it again shortly.' });
  });

  app.route('/', caliperRoutes(deps));
  app.route('/', opsRoutes(deps));
  // Admin answers name students: no browser or proxy cache may keep them, refusals included.
  app.use('/admin/*', async (c, next) => {
    await next();
    c.header('cache-control', 'no-store');
  });
  const adminFailures =
    deps.authFailures?.admin ?? createAuthFailures({ realm: 'admin', ...deps.config.authFailures, now: deps.now ?? Date.now, log, refusals: metrics.authRefusals });
  app.use('/admin/*', adminAuth(deps.config.adminToken, adminFailures, clientAddressReader(deps.config.trustedProxies)));
  for (const { path, router } of deps.admin ?? []) app.route(`/admin${path}`, router);

  app.notFound((c) => {
    // Told apart from a route's own 404 (an unknown event, a student not cached), which keeps its pattern.
    c.set('route', UNMATCHED);
    // The path as sent when it is short and plain; else quoted and cut, as errors.ts shows any
    // value of the request's: a percent-encoded line break or escape sequence is decoded here.
    const dotId = c.req.method === 'DELETE' ? dotIdEviction((c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.url) : undefined;
    return answerError(c, 404, { code: 'not-found', message: `No route for ${c.req.method} ${shown(c.req.path)}${dotId ? `: ${dotId}` : ''}` });
  });

  app.onError((err, c) => {
    if (err instanceof GatewayError) {
      if (err.status >= 500) log.error({ err: err.cause ?? err, code: err.code }, err.message);
      return answerError(c, err.status, { code: err.code, message: err.message }, err.headers);
    }
    if (err instanceof z.ZodError) return answerError(c, 400, { code: 'invalid-request', message: describeZodError(err) });
    if (err instanceof HTTPException) return answerError(c, err.status, { code: `http-${err.status}`, message: err.message || 'request failed' });
    log.error({ err }, 'unhandled error');
    return answerError(c, 500, { code: 'internal', message: 'internal error' });
  });

  return app;
}
