/**
 * POST /caliper and GET /caliper: Learn's Caliper Event Store endpoint.
 *
 * The checks run in the order the Caliper endpoint rules imply, cheapest first: who is
 * sending (429 past the wrong-key limit, auth-failures.ts; 401), what (415), how much (413), whether it parses (400) and is an envelope
 * (400) of our version (422). Then each event is checked on its own, the envelope is
 * committed, and only then does Learn get its 200 (or a 503: nothing stored, or, when the
 * writer thread stopped during the commit, not known).
 *
 * Before its body is read, a request waits its turn when MAX_BYTES_IN_FLIGHT of earlier
 * bodies are still being read, parsed or committed (intake-gate.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Hono, type Context } from 'hono';
import type { AppDeps, AppEnv } from '../app.ts';
import { createAuthFailures, tooManyWrongKeys } from '../auth-failures.ts';
import { clientAddressReader } from '../client-address.ts';
import { GatewayError, quote } from '../errors.ts';
import { INVALID_EVENT } from '../store/intake.ts';
import { createStoreWriter } from '../store/writer.ts';
import { isUnconfirmedWrite } from '../store/writer-thread.ts';
import { CALIPER_1_1 } from './envelope-schema.ts';
import { toEnvelopeBatch } from './envelope-batch.ts';
import { parseEnvelope } from './parse-envelope.ts';
import { CHUNKED_GUESS_BYTES, createIntakeGate, type Hold } from './intake-gate.ts';
import { declaredLength, readBody } from './read-body.ts';
import { contentCoding, decodeBody, type ContentCoding } from './content-encoding.ts';

/**
 * How long a request may wait for room under MAX_BYTES_IN_FLIGHT before it is told 503:
 * well inside Node's request timeout (300 s) and the sender's patience.
 */
const INTAKE_MAX_WAIT_MS = 30_000;

/** A commit that failed: SQLite rolled it back (a full disk, a read-only file, a lock held too long). */
const NOT_STORED_MESSAGE = 'The event store cannot write right now; nothing from this envelope was stored. Send it again later.';
/**
 * The writer thread stopped with the envelope outstanding (writer-thread.ts): it may have
 * died after the COMMIT, so "nothing was stored" could be untrue. A resend is safe either way.
 */
const UNCONFIRMED_MESSAGE =
  'The event store stopped before it could confirm whether this envelope was stored. Send it again: events already stored are recognised and stored once.';

const KEY_HINT = 'send the ingest API key in the Authorization header, as the raw key or as "Bearer <key>"';

export function caliperRoutes(deps: AppDeps) {
  const { config, ingestKeys, metrics, log } = deps;
  const now = deps.now ?? Date.now;
  const writer = deps.writer ?? createStoreWriter(deps.store);
  const clientAddress = clientAddressReader(config.trustedProxies);
  const authFailures =
    deps.authFailures?.ingest ??
    createAuthFailures({
      realm: 'ingest',
      ...config.authFailures,
      now,
      log,
      refusals: metrics.authRefusals,
    });
  const gate = createIntakeGate({ maxBytes: config.maxBytesInFlight, maxWaitMs: deps.intakeMaxWaitMs ?? INTAKE_MAX_WAIT_MS });
  metrics.onScrape(() => {
    metrics.intakeBytesHeld.set(gate.held);
    metrics.intakeWaiting.set(gate.waiting);
  });
  const router = new Hono<AppEnv>();

  router.post('/caliper', async (c) => {
    // Refused here, a sender of Expect: 100-continue was never invited to send its body
    // (app.ts then closes the connection).
    const coding = checkHeaders(c);

    const admitted = gate.admit(bytesToHold(c.req.header('content-length'), config.maxBodyBytes));
    const hold = admitted instanceof Promise ? await admitted.catch(countBusy) : admitted;
    try {
      return await storeEnvelope(c, hold, coding);
    } finally {
      hold.release();
    }
  });

  /** Who is sending (429, 401) and what (415): the checks that need no body. */
  function checkHeaders(c: Context<AppEnv>): ContentCoding {
    const authorization = c.req.header('authorization');
    const verdict = authFailures.check(clientAddress(c), () => ingestKeys.verify(authorization));
    if (verdict.outcome === 'limited') throw tooManyWrongKeys(verdict.retryAfterSeconds);
    if (verdict.outcome === 'wrong') {
      throw new GatewayError(401, 'unauthorized', authorization ? `The API key is not recognised; ${KEY_HINT}` : `No API key: ${KEY_HINT}`, {
        headers: {
          'www-authenticate': authorization ? 'Bearer realm="caliper-gateway", error="invalid_token"' : 'Bearer realm="caliper-gateway"',
        },
      });
    }
    requireJson(c.req.header('content-type'));
    return contentCoding(c.req.header('content-encoding'));
  }

  function countBusy(error: unknown): never {
    metrics.intakeBusy.inc();
    throw error;
  }

  async function storeEnvelope(c: Context<AppEnv>, hold: Hold, coding: ContentCoding) {
    const receivedAt = now();
    const { incoming, outgoing } = nodeHttp(c);
    const sent = await readBody(c.req.raw, config.maxBodyBytes, incoming && { incoming, outgoing, idleMs: deps.bodyIdleMs });
    hold.resize(sent.length);
    const body = await decodeBody(sent, coding, config.maxBodyBytes);
    // Decoded, the envelope may be many times what was held for it while it was read.
    if (body !== sent) hold.resize(body.length);
    const parsed = await parseEnvelope(body);
    const events = parsed.events.count;
    c.set('eventCount', events);
    const batch = await toEnvelopeBatch(parsed, { receivedAt });

    let result;
    try {
      // Nothing of the request is used after this: the parsed envelope and its text can go
      // while the commit is awaited (with a 25 MB envelope, that is most of the memory).
      result = await writer.writeEnvelope(batch);
    } catch (error) {
      throw new GatewayError(503, 'store-unavailable', isUnconfirmedWrite(error) ? UNCONFIRMED_MESSAGE : NOT_STORED_MESSAGE, {
        cause: error,
        headers: { 'retry-after': '5' },
      });
    }

    metrics.envelopesReceived.inc();
    metrics.eventsReceived.inc(events);
    if (result.stored > 0) metrics.eventsStored.inc(result.stored);
    if (result.duplicates > 0) metrics.eventsDuplicate.inc(result.duplicates);
    if (result.rejected > 0) metrics.eventsRejected.inc({ reason: INVALID_EVENT }, result.rejected);
    try {
      deps.onEventsStored?.();
    } catch (error) {
      // The envelope is committed; waking the pipeline late is not the sender's problem.
      log.error({ err: error }, 'waking the pipeline failed');
    }
    // The Caliper endpoint rules ask for a 2xx with an empty body.
    return c.body(null, 200);
  }

  // Caliper 1.2 endpoint configuration. Public: it reveals nothing but what we accept.
  router.get('/caliper', (c) =>
    c.json({
      caliperSupportedVersions: [CALIPER_1_1],
      caliperMaximumPayloadSize: config.maxBodyBytes,
    }),
  );

  router.all('/caliper', (c) => {
    throw new GatewayError(405, 'method-not-allowed', `${c.req.method} is not supported here; Learn POSTs envelopes to /caliper`, {
      headers: { allow: 'GET, HEAD, POST' },
    });
  });

  return router;
}

/** Node's request and response, when @hono/node-server serves the app (not in `app.request()`). */
function nodeHttp(c: Context<AppEnv>): { incoming?: IncomingMessage; outgoing?: ServerResponse } {
  return (c.env as { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined) ?? {};
}

/**
 * What a request holds while its body is read: its Content-Length, or a guess when it
 * declares none (chunked; see intake-gate.ts). One declaring more than the limit holds
 * nothing: readBody refuses it (413) before reading a byte, and it should not wait for room
 * to hear so.
 */
function bytesToHold(contentLength: string | undefined, maxBodyBytes: number): number {
  const declared = declaredLength(contentLength);
  if (declared === undefined) return Math.min(CHUNKED_GUESS_BYTES, maxBodyBytes);
  return declared > maxBodyBytes ? 0 : declared;
}

/** 415 unless the body is declared as JSON; parameters are fine, other charsets are not. */
function requireJson(contentType: string | undefined) {
  const [mediaType = '', ...parameters] = (contentType ?? '').split(';');
  const problem =
    mediaType.trim().toLowerCase() !== 'application/json'
      ? `Content-Type must be application/json (got ${contentType ? quote(contentType) : 'none'})`
      : nonUtf8Charset(parameters);
  if (problem) throw new GatewayError(415, 'unsupported-media-type', problem);
}

function nonUtf8Charset(parameters: string[]): string | undefined {
  for (const parameter of parameters) {
    const [name = '', value = ''] = parameter.split('=');
    if (name.trim().toLowerCase() !== 'charset') continue;
    const charset = value.trim().replace(/^"|"$/g, '').toLowerCase();
    if (charset !== 'utf-8' && charset !== 'utf8') return `Caliper envelopes must be UTF-8 JSON (got charset=${quote(charset)})`;
  }
  return undefined;
}
