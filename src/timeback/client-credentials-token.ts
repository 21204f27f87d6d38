/**
 * The TokenProvider for TimeBack: OAuth 2 client credentials (RFC 6749 §4.4) against
 * TIMEBACK_TOKEN_URL, shared by the roster lookups and delivery.
 *
 * One token is kept until shortly before it expires, and at most one request for a new
 * one is in flight: a burst of 16 deliveries and 1,000 roster misses costs one token call.
 * Neither the secret nor a token is ever logged or put in an error message.
 */
import { decodeJwt } from 'jose';
import { Agent, request } from 'undici';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { describeNetworkError, excerpt, parseJsonBody, parseRetryAfter } from './http-answers.ts';
import { TokenError, type TokenProvider } from './token-provider.ts';

/** Refresh this long before expiry (or a tenth of a short lifetime), so no request carries a dying token. */
const REFRESH_MARGIN_MS = 60_000;
/** Assumed lifetime when the answer says neither `expires_in` nor a JWT `exp`: short, so we re-ask soon. */
const DEFAULT_LIFETIME_MS = 5 * 60_000;
/**
 * The longest we keep a token, whatever the answer says: TimeBack's live an hour, and an
 * `expires_in` of years (a proxy's or a misconfigured pool's) would otherwise leave every
 * expiry to be found by a refused request.
 */
const MAX_LIFETIME_MS = 24 * 60 * 60_000;
/**
 * After credentials are refused, answer from memory for this long instead of asking again:
 * every delivery and lookup would otherwise re-send a known-bad secret, and identity
 * providers lock out clients that do that.
 */
const REJECTED_COOLDOWN_MS = 30_000;
const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;

const TokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  // Read leniently (see lifetimeSeconds): a lifetime we cannot read must not cost a good token.
  expires_in: z.unknown().optional(),
});

/** RFC 6749 §5.2 error answer. */
const OAuthErrorSchema = z.looseObject({
  error: z.string().optional(),
  error_description: z.string().optional(),
});

export interface TokenProviderDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  /** Milliseconds since the epoch; injected so tests control expiry. */
  now?: () => number;
}

export interface ClientCredentialsTokenProvider extends TokenProvider {
  /** Closes the connections to the token endpoint. */
  close(): Promise<void>;
}

interface HeldToken {
  value: string;
  refreshAt: number;
}

export function createTokenProvider({
  config,
  log,
  metrics,
  now = Date.now,
}: TokenProviderDeps): ClientCredentialsTokenProvider {
  const { tokenUrl, clientId, clientSecret, scopes, tokenTimeoutMs } = config.timeback;
  const missing = [
    ...(clientId ? [] : ['TIMEBACK_CLIENT_ID']),
    ...(clientSecret ? [] : ['TIMEBACK_CLIENT_SECRET']),
  ];
  // Sent as-is, not form-encoded first: TimeBack documents `curl -u id:secret`, and its
  // Cognito endpoint compares the raw values.
  const basicAuth = `Basic ${Buffer.from(`${clientId}:${clientSecret}`, 'utf8').toString('base64')}`;
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (scopes.length > 0) form.set('scope', scopes.join(' '));
  const body = form.toString();
  /**
   * The ways our credentials could come back in a refusal's error_description (an endpoint
   * or a proxy in front of it that echoes the request): longest first, so the Basic value
   * is cut whole rather than around the secret inside it.
   */
  const echoes = [basicAuth.slice('Basic '.length), clientSecret, clientSecret && encodeURIComponent(clientSecret)]
    .filter((text): text is string => text !== undefined && text.length > 0)
    .sort((a, b) => b.length - a.length);
  const withoutCredentials = (text: string) => echoes.reduce((out, echo) => out.replaceAll(echo, '[redacted]'), text);
  const agent = new Agent({
    keepAliveTimeout: 10_000,
    connect: { timeout: tokenTimeoutMs },
    headersTimeout: tokenTimeoutMs,
    bodyTimeout: tokenTimeoutMs,
    maxResponseSize: MAX_TOKEN_RESPONSE_BYTES,
  });

  let held: HeldToken | undefined;
  let inflight: Promise<string> | undefined;
  let remembered: { error: TokenError; until: number } | undefined;

  const fail = (error: TokenError, outcome: 'rejected' | 'unavailable'): TokenError => {
    metrics.tokenRefreshes.inc({ outcome });
    if (!error.retryable) remembered = { error, until: now() + REJECTED_COOLDOWN_MS };
    else if (error.retryAfterMs !== undefined) remembered = { error, until: now() + error.retryAfterMs };
    log[error.retryable ? 'warn' : 'error']({ tokenUrl, retryable: error.retryable }, error.message);
    return error;
  };

  async function fetchToken(): Promise<string> {
    const askedAt = now();
    let statusCode: number;
    let headers: Record<string, string | string[] | undefined>;
    let text: string;
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
        signal: AbortSignal.timeout(tokenTimeoutMs),
      });
      statusCode = response.statusCode;
      headers = response.headers;
      text = await response.body.text();
    } catch (err) {
      throw fail(
        new TokenError(`Could not get a TimeBack token from ${tokenUrl}: ${describeNetworkError(err)}`, true, {
          cause: err,
        }),
        'unavailable',
      );
    }

    if (statusCode >= 200 && statusCode < 300) {
      const parsed = TokenResponseSchema.safeParse(parseJsonBody(text));
      if (!parsed.success) {
        throw fail(
          new TokenError(`TimeBack's token endpoint ${tokenUrl} answered ${statusCode} without a usable access_token`, true),
          'unavailable',
        );
      }
      const token = parsed.data.access_token;
      const expiresAt = expiryOf(token, lifetimeSeconds(parsed.data.expires_in), askedAt);
      const lifetime = expiresAt - askedAt;
      held = { value: token, refreshAt: expiresAt - Math.min(REFRESH_MARGIN_MS, lifetime / 10) };
      remembered = undefined;
      metrics.tokenRefreshes.inc({ outcome: 'ok' });
      log.info({ tokenUrl, expiresInSeconds: Math.round(lifetime / 1000) }, 'obtained a TimeBack access token');
      return token;
    }

    const retryAfterMs = parseRetryAfter(headers['retry-after'], now());
    if (statusCode === 408 || statusCode === 429 || statusCode >= 500) {
      throw fail(
        new TokenError(
          `TimeBack's token endpoint ${tokenUrl} is unavailable (HTTP ${statusCode}); will retry`,
          true,
          { retryAfterMs },
        ),
        'unavailable',
      );
    }
    throw fail(new TokenError(refusalMessage(statusCode, text), false), 'rejected');
  }

  /** What an admin should change, from the status and the RFC 6749 error code. */
  function refusalMessage(status: number, text: string): string {
    const oauth = OAuthErrorSchema.safeParse(parseJsonBody(text));
    const code = oauth.success ? oauth.data.error : undefined;
    // Both are quoted in logs and on /readyz, which anyone may read: never with our
    // credentials in them, and cut only once those are out (a cut could leave part of one).
    const quoted = (said: string, max: number) => excerpt(withoutCredentials(said), max);
    const description = oauth.success && oauth.data.error_description ? `: ${quoted(oauth.data.error_description, 200)}` : '';
    const said = `HTTP ${status}${code ? ` ${quoted(code, 60)}` : ''}${description}`;
    if (status === 401 || code === 'invalid_client') {
      return `TimeBack refused the client credentials for client id "${clientId}" (${said}); check TIMEBACK_CLIENT_ID and TIMEBACK_CLIENT_SECRET`;
    }
    if (code === 'invalid_scope' || code === 'unauthorized_client' || status === 403) {
      return `TimeBack will not issue a token with scopes "${scopes.join(' ')}" to client id "${clientId}" (${said}); check TIMEBACK_SCOPES and that the app is active with those scopes`;
    }
    if (status === 404 || status === 405 || (status >= 300 && status < 400)) {
      return `No OAuth token endpoint at ${tokenUrl} (${said}); check TIMEBACK_TOKEN_URL`;
    }
    return `TimeBack's token endpoint ${tokenUrl} refused the request (${said})`;
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

    close() {
      return agent.close();
    },
  };
}

/**
 * When the token stops working. A JWT's own `exp` is the truth when present; `expires_in`
 * otherwise, counted from when we asked (so network time only makes us earlier). An `exp`
 * already past by our clock means the clocks disagree, and trusting it would refresh on
 * every call, so `expires_in` wins then.
 */
function expiryOf(token: string, expiresInSeconds: number | undefined, askedAt: number): number {
  const fromExpiresIn = expiresInSeconds === undefined ? undefined : askedAt + expiresInSeconds * 1000;
  let expiresAt = fromExpiresIn ?? askedAt + DEFAULT_LIFETIME_MS;
  if (token.split('.').length === 3) {
    try {
      const { exp } = decodeJwt(token);
      if (typeof exp === 'number' && exp * 1000 > askedAt) expiresAt = exp * 1000;
    } catch {
      // Not a JWT after all: an opaque token that happens to contain dots.
    }
  }
  return Math.min(expiresAt, askedAt + MAX_LIFETIME_MS);
}

/**
 * `expires_in` as seconds, when it says something usable: a positive number, or one written
 * as text (some proxies and gateways re-serialise it). Missing, null, 0, negative or
 * unreadable mean "not said" (RFC 6749 §5.1 makes it optional), and the token is still used:
 * refusing it would stop delivery over a field, while a token that really is dead is found
 * by the first 401 and replaced.
 */
export function lifetimeSeconds(value: unknown): number | undefined {
  const seconds = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}
