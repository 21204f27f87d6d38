/**
 * Starts the gateway: opens the store, wires the pipeline stages
 * (ingest → store → resolve identity → map → deliver), serves HTTP, and shuts all of it
 * down in order. `createApp` (app.ts) stays free of I/O; this file owns the lifecycle.
 */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { createApp, type AppEnv } from './app.ts';
import { createAuthFailures, type AuthRealm } from './auth-failures.ts';
import { loadKnownGood, startKnownGoodSaver } from './auth-known-good.ts';
import { answerClientError } from './client-errors.ts';
import { createLingeringClose, type LingerLimits } from './lingering-close.ts';
import { ConfigError, missingDeliverySettings, plainHttpTimebackUrls, type Config } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { createMetrics } from './metrics.ts';
import { isFolder, openProblem, openStore, type Store } from './store/database.ts';
import { SQLITE_DEFAULT_AUTOCHECKPOINT, startCheckpointer, type Checkpointer } from './store/checkpointer.ts';
import { startWriterThread, type WriterThread } from './store/writer-thread.ts';
import { DatabaseInUseError, describeHolder, lockDatabase, type InstanceLock } from './store/instance-lock.ts';
import { DatabaseSchemaError } from './store/migrate.ts';
import { createStoreWriter, type StoreWriter } from './store/writer.ts';
import { resolveIngestKeys } from './ingest/api-keys.ts';
import { answerExpectContinue } from './ingest/expect-continue.ts';
import { createReadiness } from './ops/readiness.ts';
import { createTokenProvider } from './timeback/client-credentials-token.ts';
import { createIdentityResolver } from './identity/cached-roster-resolver.ts';
import { rosterCacheRoutes } from './identity/roster-cache-routes.ts';
import { createDeliveryWorker } from './deliver/delivery-worker.ts';
import { registerQueueGauges } from './deliver/queue-gauges.ts';
import { createRetention } from './deliver/retention.ts';
import { adminEventsRoutes } from './ops/admin-events-routes.ts';
import { createMappingReloader } from './mapping/mapping-reloader.ts';
import { createMappingRulesRecorder } from './mapping/rules-record.ts';
import { createTranslateWorker } from './mapping/translate-worker.ts';
import { errorMessage } from './errors.ts';

export interface Gateway {
  app: Hono<AppEnv>;
  store: Store;
  /** Where the server listens, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Stops accepting, lets in-flight work finish (bounded by SHUTDOWN_TIMEOUT), closes the store. */
  close(): Promise<void>;
}

export interface GatewayOptions {
  log?: Logger;
  /** Receives an ingest key generated on first start; prints it to stderr by default. */
  announceKey?: (key: string) => void;
  now?: () => number;
  /** How long a request body may stall before a 408 (read-body.ts's BODY_IDLE_MS; tests shorten it). */
  bodyIdleMs?: number;
  /**
   * How long a write waits for another connection's write lock before it fails (the writer
   * thread's busy timeout; default connection.ts's BUSY_TIMEOUT_MS; tests shorten it).
   */
  writeLockWaitMs?: number;
  /** The bounds of a lingering close (lingering-close.ts; tests shorten them). */
  linger?: Partial<LingerLimits>;
}

/** Beyond SHUTDOWN_TIMEOUT, how long a gateway that is stopping may take to exit (serve.ts gives it 1 s). */
const LOCK_GRACE_MS = 2_000;

/**
 * Something with a lifetime inside the gateway (a worker, a file watcher), stopped in reverse
 * order. The deadline is wall-clock time (Date.now()), not the injectable `now`: it bounds
 * real waiting, and tests set `now` to a fixed day.
 */
interface Stoppable {
  name: string;
  stop(deadline: number): Promise<void> | void;
}

export async function startGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  const log = options.log ?? createLogger(config.logLevel);
  const now = options.now ?? Date.now;
  const metrics = createMetrics({ defaultMetrics: true });
  const { store, lock } = await openLockedStore(config, log);
  const stoppables: Stoppable[] = [];
  let shuttingDown = false;

  /** Stops every started part, last started first, then closes the store. */
  const stopAll = async (deadline: number) => {
    for (const part of [...stoppables].reverse()) {
      try {
        await part.stop(deadline);
      } catch (err) {
        log.error({ err, part: part.name }, 'error while stopping');
      }
    }
    store.close();
    lock.release();
  };

  let writerThread: WriterThread | undefined;
  const checkpointer = startCheckpointer(store, log, { onAutomatic: (pages) => writerThread?.setAutoCheckpoint(pages) });
  if (checkpointer) stoppables.push({ name: 'checkpointer', stop: () => checkpointer.stop() });
  // The pipeline's writes are committed on a thread of their own (writer-thread.ts); stopped
  // after the HTTP server and the workers, so every write in flight still gets its commit.
  writerThread = await startWriterThread(store, log, {
    autoCheckpoint: checkpointer ? 0 : SQLITE_DEFAULT_AUTOCHECKPOINT,
    busyTimeoutMs: options.writeLockWaitMs,
  });
  const thread = writerThread;
  if (thread) stoppables.push({ name: 'writer thread', stop: () => thread.stop() });
  const writer = withCheckpointHints(thread ?? createStoreWriter(store), checkpointer);
  const intakeHealth = watchEnvelopeWrites(writer, now);

  // One token for the roster and delivery; stopped after everything that uses it.
  const tokens = createTokenProvider({ config, log, metrics, now });
  stoppables.push({ name: 'timeback tokens', stop: () => tokens.close() });
  let identity;
  try {
    // Throws on a bad user-overrides.yaml: better to refuse to start than to credit the wrong child.
    identity = createIdentityResolver({ config, store, log, metrics, tokens, now, writer });
  } catch (err) {
    await stopAll(Date.now());
    throw err;
  }
  stoppables.push({ name: 'identity resolver', stop: () => identity.close() });

  let ingestKeys;
  try {
    // Throws on a damaged stored digest: better said at start than a 500 for every envelope.
    ingestKeys = resolveIngestKeys(config.ingestApiKeys, store, options.announceKey ?? printGeneratedKey, now);
  } catch (err) {
    await stopAll(Date.now());
    throw err;
  }
  // config.ts refuses an ADMIN_TOKEN listed in INGEST_API_KEYS; the generated key is known only
  // here, by its digest. Learn's admins can read that key in Learn's settings. As a bearer
  // token, so that a key written "Bearer <token>" counts too.
  if (config.adminToken !== undefined && ingestKeys.verify(`Bearer ${config.adminToken}`)) {
    await stopAll(Date.now());
    throw new ConfigError([
      'ADMIN_TOKEN: must differ from the ingest API key: Learn holds that key, where its admins can read it, and the admin token opens /admin',
    ]);
  }
  if (thread) {
    // From here on this connection writes only what admins do over /admin (evictions,
    // replays: rare, and the admin waits for them anyway) and a little bookkeeping; roster
    // answers and retention go through the writer thread too. Its commits skip the fsync
    // (synchronous=NORMAL), as when it wrote those: the event loop never waits for the disk.
    // They still reach the disk within a second, at the next checkpoint, or with the writer
    // thread's next envelope commit, which fsyncs the whole WAL. The admins' writes are the
    // exception: nobody redoes one a power cut undid, so they switch to FULL around their
    // transactions (store/durable-commit.ts). Without the thread, envelopes are committed on
    // this connection and it stays FULL.
    store.sqlite.pragma('synchronous = NORMAL');
  }

  const unencrypted = plainHttpTimebackUrls(config);
  if (unencrypted.length > 0) {
    log.warn(
      { settings: unencrypted },
      `${unencrypted.join(' and ')} ${unencrypted.length > 1 ? 'are' : 'is'} plain http:// to another host: the client secret and tokens travel unencrypted unless something on the way adds TLS`,
    );
  }

  const missing = missingDeliverySettings(config);
  if (missing.length > 0) {
    log.warn(
      { missing },
      `Delivery to TimeBack waits for ${missing.join(', ')}; events are accepted and kept until then`,
    );
  }

  // Delivery: the outbox workers, retention of delivered rows, and the queue gauges.
  const delivery = createDeliveryWorker({ config, store, log, metrics, tokens, now, writer });
  stoppables.push(delivery);
  const retention = createRetention({ config, store, log, now, writer });
  stoppables.push(retention);
  registerQueueGauges(metrics, store, { now, countByFate: checkpointer ? () => checkpointer.countByFate() : undefined });

  // Translation: the active mapping rules (hot-reloaded, gated by the fixtures) and the worker
  // that turns stored Learn events into Caliper 1.2 events for delivery.
  const mappings = createMappingReloader({
    mappingsDir: config.mappingsDir,
    fixturesDir: config.fixturesDir,
    log,
    metrics,
    onReload: () => noteMappingRules(),
  });
  /** Kept in the database for `caliper-gateway status`, which cannot ask this process. */
  const rulesRecord = createMappingRulesRecorder({ store, dir: path.resolve(config.mappingsDir), log });
  stoppables.push({ name: 'mapping rules record', stop: () => rulesRecord.stop() });
  function noteMappingRules(): void {
    const refused = mappings.refusedChange();
    const since = mappings.activeSince();
    rulesRecord.note(
      since === undefined
        ? { state: 'none-active', at: new Date().toISOString(), problems: mappings.problems() }
        : refused
          ? { state: 'change-refused', at: refused.at, activeSince: refused.activeSince, problems: refused.problems }
          : { state: 'active', at: since, rules: mappings.current()?.rules.length ?? 0 },
    );
  }
  await mappings.start();
  stoppables.push(mappings);
  const translation = createTranslateWorker({
    config,
    store,
    log,
    metrics,
    identity,
    writer,
    rules: mappings.current,
    onTranslated: () => delivery.notify(),
    now,
  });
  stoppables.push(translation);
  const readiness = createReadiness({
    config,
    store,
    shuttingDown: () => shuttingDown,
    envelopeWriteFailure: intakeHealth.failure,
    missingDelivery: missing,
    delivery,
    identity,
    translation,
    mappings,
  });

  // The wrong-key limiters, with the addresses that sent a right key before the restart.
  const restoredFailures = (realm: AuthRealm) =>
    createAuthFailures({ realm, ...config.authFailures, now, log, refusals: metrics.authRefusals, knownGood: loadKnownGood(store, realm, log) });
  const authFailures = { ingest: restoredFailures('ingest'), admin: restoredFailures('admin') };
  const knownGood = startKnownGoodSaver({ store, limiters: [authFailures.ingest, authFailures.admin], log, now });
  // Stopped first of all (after the HTTP server), so the last requests' right keys are saved.
  stoppables.push({ name: 'known-good addresses', stop: async (deadline) => void (await knownGood.stop(deadline)) });

  const admin = [
    { path: '/roster-cache', router: rosterCacheRoutes({ store, config, overrides: identity.overrides, now }) },
    { path: '', router: adminEventsRoutes({ store, now, onReplayed: () => translation.wake(), bodyIdleMs: options.bodyIdleMs }) },
  ];
  const app = createApp({
    config,
    store,
    log,
    metrics,
    ingestKeys,
    readiness,
    writer: intakeHealth.writer,
    now,
    admin,
    onEventsStored: () => translation.wake(),
    shuttingDown: () => shuttingDown,
    bodyIdleMs: options.bodyIdleMs,
    authFailures,
  });

  let http: HttpServer;
  try {
    http = await listenHttp(app, config, log, options.linger);
  } catch (err) {
    // Nothing has been served: leave no worker, timer or open database behind.
    await stopAll(Date.now());
    throw err;
  }
  const { url } = http;
  log.info({ url, db: config.dbPath, keys: ingestKeys.source }, 'caliper-gateway listening');
  delivery.start();
  retention.start();
  translation.start();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      shuttingDown = true;
      const deadline = Date.now() + config.shutdownTimeoutMs;
      log.info({ timeoutMs: config.shutdownTimeoutMs }, 'shutting down');
      await http.close(deadline);
      await stopAll(deadline);
      log.info('stopped');
    })();
    return closing;
  };

  return { app, store, url, close };
}

interface HttpServer {
  /** Where the server listens, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Answers what is in flight (until `deadline`), then closes every connection. */
  close(deadline: number): Promise<void>;
}

/**
 * How long an idle kept-alive connection stays open. Learn (or the load balancer in front of
 * us) keeps a pool of connections and reuses idle ones; if we close one just as it is reused,
 * that request dies with a reset (an ALB turns it into a 502). Whoever sends must give up on
 * an idle connection first, so ours is longer than the usual balancer idle timeouts (AWS ALB
 * and nginx: 60 s; the README tells admins to keep theirs below this). Node's 5 s default
 * loses that race many times a day. Idle connections do not delay shutdown: close() sweeps them.
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** A request's headers must arrive within this (Node's default; they are a few hundred bytes). */
const HEADERS_TIMEOUT_MS = 60_000;
/** The whole request, a 64 MB envelope over a slow link included (Node's default). */
const REQUEST_TIMEOUT_MS = 300_000;

/** Serves `app` on HOST:PORT; resolves once it listens. */
async function listenHttp(app: Hono<AppEnv>, config: Config, log: Logger, lingerLimits?: Partial<LingerLimits>): Promise<HttpServer> {
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }) as Server;
  // A refusal sent before the body was read must not be lost to a reset (lingering-close.ts).
  const lingering = createLingeringClose(lingerLimits);
  // Before the app's listener: a request pipelined on a lingering connection closes it unanswered.
  server.prependListener('request', (request) => lingering.watch(request));
  let requestsInFlight = 0;
  server.on('request', (_request, response) => {
    requestsInFlight += 1;
    response.once('close', () => (requestsInFlight -= 1));
  });
  server.on('checkContinue', (request, response) => {
    // POST /caliper sends its 100 Continue only once the sender passes the checks that need
    // no body (expect-continue.ts); Node would send it before any of them.
    answerExpectContinue(request, response);
    server.emit('request', request, response);
  });
  server.on('clientError', answerClientError(log, lingering));
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,

    async close(deadline) {
      // Keep listening while requests are in flight, so probes hear 503 "shutting down" from
      // /readyz rather than a refused connection; the app turns every other request away.
      while (requestsInFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));

      // Stop accepting; let in-flight requests finish. A keep-alive connection goes idle
      // when its request is answered, and Node does not close it by itself then, so idle
      // connections are swept until the last one is gone. A lingering connection ends by
      // itself within LINGER_MS, or is cut with the rest at the deadline.
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const forced = setTimeout(() => {
        server.closeAllConnections();
        lingering.cutAll();
      }, Math.max(0, deadline - Date.now()));
      await serverClosed;
      clearInterval(sweep);
      clearTimeout(forced);
    },
  };
}

/** Takes the database's instance lock, then opens it; on failure leaves neither held. */
async function openLockedStore(config: Config, log: Logger): Promise<{ store: Store; lock: InstanceLock }> {
  let lock: InstanceLock | undefined;
  // Before the lock, which would leave a <folder>.lock file beside it.
  if (isFolder(config.dbPath)) throw new Error(`cannot open the database at ${config.dbPath} (DB_PATH): ${openProblem(config.dbPath, undefined)}`);
  try {
    // A gateway that is stopping holds the database for up to SHUTDOWN_TIMEOUT (a restart
    // that starts the new process before the old one has gone): wait that long for it.
    lock = await lockDatabase(config.dbPath, {
      waitMs: config.shutdownTimeoutMs + LOCK_GRACE_MS,
      onWait: (holder) =>
        log.warn({ db: config.dbPath, holder }, `another caliper-gateway (${describeHolder(holder)}) is serving this database; waiting for it to stop`),
    });
    return { store: openStore(config.dbPath), lock };
  } catch (err) {
    lock?.release();
    // Both name the database and say what to do.
    if (err instanceof DatabaseInUseError || err instanceof DatabaseSchemaError) throw err;
    throw new Error(`cannot open the database at ${config.dbPath} (DB_PATH): ${(err as Error).message}`, { cause: err });
  }
}

function printGeneratedKey(key: string) {
  // Printed once, on stderr and outside the JSON log stream: only a digest is stored.
  process.stderr.write(
    [
      '',
      '  No INGEST_API_KEYS set, so caliper-gateway generated this ingest API key:',
      '',
      `      ${key}`,
      '',
      "  Paste it into Learn's Caliper Event Store settings (API Key). It is shown only",
      '  this once; set INGEST_API_KEYS to choose your own keys instead.',
      '',
      '',
    ].join('\n'),
  );
}

/**
 * How long /readyz reports a failed envelope commit that no later commit has cleared. The
 * database answers reads (`SELECT 1`) while a full disk or a lock held elsewhere refuses
 * every envelope, so without this /readyz said ready while Learn got 503 after 503. It
 * clears by itself: once the balancer stops sending, no commit would ever clear it, and the
 * next envelope tried after this window says again whether the database takes writes.
 */
const WRITE_FAILURE_SHOWN_MS = 30_000;

/** Remembers whether the last envelope commit failed, for /readyz. */
function watchEnvelopeWrites(writer: StoreWriter, now: () => number) {
  let failed: { at: number; message: string } | undefined;
  return {
    writer: {
      ...writer,
      async writeEnvelope(batch) {
        try {
          const result = await writer.writeEnvelope(batch);
          failed = undefined;
          return result;
        } catch (error) {
          failed = { at: now(), message: errorMessage(error) };
          throw error;
        }
      },
    } satisfies StoreWriter,
    failure: () => (failed !== undefined && now() - failed.at < WRITE_FAILURE_SHOWN_MS ? failed : undefined),
  };
}

/** Tells the checkpointer how much intake committed, so busy intake gets passes sooner (checkpointer.ts). */
function withCheckpointHints(writer: StoreWriter, checkpointer: Checkpointer | undefined): StoreWriter {
  if (!checkpointer) return writer;
  return {
    ...writer,
    async writeEnvelope(batch) {
      const result = await writer.writeEnvelope(batch);
      checkpointer.envelopeWritten(batch.bytes);
      return result;
    },
  };
}
