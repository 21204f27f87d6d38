/**
 * The TokenProvider for TimeBack: OAuth 2 client credentials (RFC 6749 §4.4) against
 * TIMEBACK_TOKEN_URL, shared by the roster lookups and delivery.
 *
 * One token is kept until shortly before it expires, and at most one request for a new
 * one is in flight: a burst of 16 deliveries and 1,000 roster misses costs one token call.
 * Neither the secret nor a token is ever logged or put in an error message. With
 * TIMEBACK_CLIENT_SECRET_FILE the secret is re-read before each token request and, while a
 * refusal is remembered, when asked again, so a rotated secret needs no restart. What each
 * answer of the endpoint means (the token's lifetime, an outage, a refusal's wording) is
 * token-answer.ts; this module asks, keeps the token and remembers failures.
 */
import { Agent, request } from 'undici';
import { clientSecretSetting, EVENTS_WRITE_SCOPE, missingCredentials, readSecretFile, type Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { describeNetworkError } from './http-answers.ts';
import { requestSignal } from './request-signal.ts';
import { credentialRemover, missingEventsScope, readTokenAnswer, type TokenEndpoint } from './token-answer.ts';
import { TokenError, type TokenProvider } from './token-provider.ts';

/** Refresh this long before expiry (or a tenth of a short lifetime), so no request carries a dying token. */
const REFRESH_MARGIN_MS = 60_000;
/**
 * After credentials are refused, answer from memory for this long instead of asking again:
 * every delivery and lookup would otherwise re-send a known-bad secret, and identity
 * providers lock out clients that do that.
 */
const REJECTED_COOLDOWN_MS = 30_000;
const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;

export interface TokenProviderDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  /** Milliseconds since the epoch; injected so tests control expiry. */
  now?: () => number;
}

export interface ClientCredentialsTokenProvider extends TokenProvider {
  /** Cuts a token request in flight (see abort) and closes the connections to the token endpoint. */
  close(): Promise<void>;
}

interface HeldToken {
  value: string;
  refreshAt: number;
  /** Its answer named scopes without events.write. */
  lacksEventsScope: boolean;
}

export function createTokenProvider({
  config,
  log,
  metrics,
  now = Date.now,
}: TokenProviderDeps): ClientCredentialsTokenProvider {
  const { tokenUrl, clientId, clientSecretFile, scopes, tokenTimeoutMs } = config.timeback;
  const missing = missingCredentials(config.timeback);
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (scopes.length > 0) form.set('scope', scopes.join(' '));
  const body = form.toString();

  let clientSecret = config.timeback.clientSecret;
  let basicAuth = '';
  let endpoint: TokenEndpoint;
  const useSecret = (secret: string | undefined) => {
    clientSecret = secret;
    // Sent as-is, not form-encoded first: TimeBack documents `curl -u id:secret`, and its
    // Cognito endpoint compares the raw values.
    basicAuth = `Basic ${Buffer.from(`${clientId}:${secret}`, 'utf8').toString('base64')}`;
    endpoint = {
      tokenUrl,
      clientId,
      scopes,
      secretSetting: clientSecretSetting(config.timeback),
      withoutCredentials: credentialRemover(basicAuth.slice('Basic '.length), secret),
    };
  };
  useSecret(clientSecret);

  /**
   * With TIMEBACK_CLIENT_SECRET_FILE, takes up the file's secret if it changed (a mounted secret
   * rotated), so a rotation needs no restart; true when it did. A file that cannot be read
   * keeps the secret read before, said once per problem, never with any of the file's text.
   */
  let rereadProblem: string | undefined;
  const rereadSecret = (): boolean => {
    if (clientSecretFile === undefined) return false;
    let secret: string;
    try {
      secret = readSecretFile(clientSecretFile);
    } catch (err) {
      const problem = (err as Error).message;
      if (problem !== rereadProblem) log.warn({ problem }, 'cannot re-read TIMEBACK_CLIENT_SECRET_FILE; the secret read before is still used');
      rereadProblem = problem;
      return false;
    }
    rereadProblem = undefined;
    if (secret === clientSecret) return false;
    useSecret(secret);
    log.info({ file: clientSecretFile }, 'TIMEBACK_CLIENT_SECRET_FILE holds a new secret; token requests use it from now on');
    return true;
  };
  /** While a refusal is remembered, the file is looked at no more than once a second, however many callers ask. */
  let lastLookAt = Number.NEGATIVE_INFINITY;
  const agent = new Agent({
    keepAliveTimeout: 10_000,
    connect: { timeout: tokenTimeoutMs },
    headersTimeout: tokenTimeoutMs,
    bodyTimeout: tokenTimeoutMs,
    maxResponseSize: MAX_TOKEN_RESPONSE_BYTES,
  });
  /** Aborted at shutdown: a token request then ends at once, not at TIMEBACK_TOKEN_TIMEOUT. */
  const stopping = new AbortController();
  const stoppedError = (cause?: unknown) =>
    new TokenError('No TimeBack token asked for: the gateway is stopping', true, { cause, stopped: true });

  // Every outcome exists from the start, at 0, so that increase() sees the first refusal.
  for (const outcome of ['ok', 'rejected', 'unavailable']) metrics.tokenRefreshes.inc({ outcome }, 0);
  let held: HeldToken | undefined;
  let inflight: Promise<string> | undefined;
  let remembered: { error: TokenError; until: number } | undefined;
  /** Of the last token obtained; kept after it is invalidated, since the refusal it explains follows. */
  let scopeProblem: string | undefined;

  const fail = (error: TokenError, outcome: 'rejected' | 'unavailable'): TokenError => {
    metrics.tokenRefreshes.inc({ outcome });
    if (!error.retryable) remembered = { error, until: now() + REJECTED_COOLDOWN_MS };
    else if (error.retryAfterMs !== undefined) remembered = { error, until: now() + error.retryAfterMs };
    log[error.retryable ? 'warn' : 'error']({ tokenUrl, retryable: error.retryable }, error.message);
    return error;
  };

  async function fetchToken(): Promise<string> {
    rereadSecret();
    const askedAt = now();
    let statusCode: number;
    let headers: Record<string, string | string[] | undefined>;
    let text: string;
    const cut = requestSignal(stopping.signal, tokenTimeoutMs);
    try {
      const response = await request(tokenUrl, {
        method: 'POST',
        dispatcher: agent,
        headers: {
          authorization: basicAuth,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body,
        signal: cut.signal,
      });
      statusCode = response.statusCode;
      headers = response.headers;
      text = await response.body.text();
    } catch (err) {
      // Cut by shutdown, not failed: no outage to log or count.
      if (stopping.signal.aborted) throw stoppedError(err);
      throw fail(
        new TokenError(`Could not get a TimeBack token from ${tokenUrl}: ${describeNetworkError(err)}`, true, {
          cause: err,
        }),
        'unavailable',
      );
    } finally {
      cut.done();
    }

    const answer = readTokenAnswer(statusCode, headers['retry-after'], text, askedAt, now(), endpoint);
    if (answer.kind !== 'token') throw fail(answer.error, answer.kind);
    const lifetime = answer.expiresAt - askedAt;
    // Once per token obtained: the token is used as TimeBack issued it, and TimeBack's answers
    // to events decide; this only tells the admin why they may be refused.
    scopeProblem = missingEventsScope(answer.scopes, scopes);
    held = {
      value: answer.value,
      refreshAt: answer.expiresAt - Math.min(REFRESH_MARGIN_MS, lifetime / 10),
      lacksEventsScope: scopeProblem !== undefined,
    };
    remembered = undefined;
    metrics.tokenRefreshes.inc({ outcome: 'ok' });
    log.info({ tokenUrl, expiresInSeconds: Math.round(lifetime / 1000) }, 'obtained a TimeBack access token');
    if (scopeProblem !== undefined) {
      log.warn({ tokenUrl, missingScope: EVENTS_WRITE_SCOPE, grantedScopes: answer.scopes }, 'the TimeBack token lacks the events.write scope; TimeBack may refuse events');
    }
    return answer.value;
  }

  /** The held token while it is good for a while yet; getToken() and fresh() share this rule. */
  const heldToken = (): string | undefined => (held && now() < held.refreshAt ? held.value : undefined);

  return {
    configured: missing.length === 0,

    async getToken() {
      if (missing.length > 0) {
        throw new TokenError(`TimeBack credentials are not set: ${missing.join(', ')}`, false);
      }
      const current = heldToken();
      if (current !== undefined) return current;
      // Stopping: neither a new request nor a remembered failure, which would read as an outage.
      if (stopping.signal.aborted) throw stoppedError();
      // A refused secret replaced in its file since: asked with at once, not after the cooldown.
      if (remembered && !remembered.error.retryable && !inflight && clientSecretFile !== undefined && now() >= lastLookAt + 1_000) {
        lastLookAt = now();
        if (rereadSecret()) remembered = undefined;
      }
      if (remembered && now() < remembered.until) {
        const { error, until } = remembered;
        throw new TokenError(error.message, error.retryable, { retryAfterMs: error.retryable ? until - now() : undefined });
      }
      inflight ??= fetchToken().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },

    fresh: heldToken,

    invalidate(token) {
      // Only the token that was refused: after a burst of 401s with one old token, the
      // first caller's refresh must not be thrown away by the others.
      if (held?.value === token) held = undefined;
    },

    invalidateLackingScope(token) {
      if (held?.value !== token || !held.lacksEventsScope) return false;
      held = undefined;
      return true;
    },

    scopeProblem: () => scopeProblem,

    abort() {
      stopping.abort();
    },

    close() {
      stopping.abort();
      return agent.close();
    },
  };
}
