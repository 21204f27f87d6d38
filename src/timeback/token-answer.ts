/**
 * What an answer from TimeBack's token endpoint means: a token and when it stops working, an
 * outage to wait out, or a refusal worded for the admin who must fix the set-up. Pure (no
 * request, clock or log), apart from client-credentials-token.ts, which asks, keeps the
 * token and logs.
 */
import { decodeJwt } from 'jose';
import { z } from 'zod';
import { EVENTS_WRITE_SCOPE } from '../config.ts';
import { excerpt, parseJsonBody, parseRetryAfter } from './http-answers.ts';
import { TokenError } from './token-provider.ts';

/**
 * Assumed lifetime when the answer says no `expires_in` and the token no `iat` and `exp`: short,
 * so we re-ask soon. Also the least a lone `exp` can make it (see expiryOf).
 */
const DEFAULT_LIFETIME_MS = 5 * 60_000;
/**
 * The longest we keep a token, whatever the answer says: TimeBack's live an hour, and an
 * `expires_in` of years (a proxy's or a misconfigured pool's) would otherwise leave every
 * expiry to be found by a refused request.
 */
const MAX_LIFETIME_MS = 24 * 60 * 60_000;

const TokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  // Read leniently (see lifetimeSeconds): a lifetime we cannot read must not cost a good token.
  expires_in: z.unknown().optional(),
  // Read leniently too (see grantedScopes): it only ever informs, never refuses.
  scope: z.unknown().optional(),
});

/** RFC 6749 §5.2 error answer. */
const OAuthErrorSchema = z.looseObject({
  error: z.string().optional(),
  error_description: z.string().optional(),
});

/** Who asked, where: what a refusal's message names for the admin. */
export interface TokenEndpoint {
  tokenUrl: string;
  clientId: string | undefined;
  scopes: readonly string[];
  /** The variable the secret comes from: TIMEBACK_CLIENT_SECRET or TIMEBACK_CLIENT_SECRET_FILE. */
  secretSetting: string;
  /** Cuts our credentials out of text the endpoint sent back (see credentialRemover). */
  withoutCredentials(text: string): string;
}

export type TokenAnswer =
  /** `scopes`: what the answer says it grants; undefined when it does not say. */
  | { kind: 'token'; value: string; expiresAt: number; scopes?: string[] }
  /** Time may fix it (a 5xx, 408, 429, or a 2xx without a usable token). */
  | { kind: 'unavailable'; error: TokenError }
  /** Only the admin can fix it: the message says what to check. */
  | { kind: 'rejected'; error: TokenError };

/**
 * Reads one answer. `askedAt` is when the request went out (a lifetime counts from then, so
 * network time only makes us refresh earlier), `answeredAt` when the answer was read.
 */
export function readTokenAnswer(
  statusCode: number,
  retryAfter: string | string[] | undefined,
  text: string,
  askedAt: number,
  answeredAt: number,
  endpoint: TokenEndpoint,
): TokenAnswer {
  const { tokenUrl } = endpoint;
  if (statusCode >= 200 && statusCode < 300) {
    const parsed = TokenResponseSchema.safeParse(parseJsonBody(text));
    if (!parsed.success) {
      return {
        kind: 'unavailable',
        error: new TokenError(`TimeBack's token endpoint ${tokenUrl} answered ${statusCode} without a usable access_token`, true),
      };
    }
    const value = parsed.data.access_token;
    const scopes = grantedScopes(parsed.data.scope);
    return { kind: 'token', value, expiresAt: expiryOf(value, lifetimeSeconds(parsed.data.expires_in), askedAt), ...(scopes ? { scopes } : {}) };
  }
  if (statusCode === 408 || statusCode === 429 || statusCode >= 500) {
    const retryAfterMs = parseRetryAfter(retryAfter, answeredAt);
    return {
      kind: 'unavailable',
      error: new TokenError(`TimeBack's token endpoint ${tokenUrl} is unavailable (HTTP ${statusCode}); will retry`, true, { retryAfterMs }),
    };
  }
  return { kind: 'rejected', error: new TokenError(refusalMessage(statusCode, text, endpoint), false) };
}

/** What an admin should change, from the status and the RFC 6749 error code. */
function refusalMessage(status: number, text: string, { tokenUrl, clientId, scopes, secretSetting, withoutCredentials }: TokenEndpoint): string {
  const oauth = OAuthErrorSchema.safeParse(parseJsonBody(text));
  const code = oauth.success ? oauth.data.error : undefined;
  // Both are quoted in logs and on /readyz, which anyone may read: never with our
  // credentials in them, and cut only once those are out (a cut could leave part of one).
  const quoted = (said: string, max: number) => excerpt(withoutCredentials(said), max);
  const description = oauth.success && oauth.data.error_description ? `: ${quoted(oauth.data.error_description, 200)}` : '';
  const said = `HTTP ${status}${code ? ` ${quoted(code, 60)}` : ''}${description}`;
  if (status === 401 || code === 'invalid_client') {
    return `TimeBack refused the client credentials for client id "${clientId}" (${said}); check TIMEBACK_CLIENT_ID and ${secretSetting}`;
  }
  if (code === 'invalid_scope' || code === 'unauthorized_client' || status === 403) {
    return `TimeBack will not issue a token with scopes "${scopes.join(' ')}" to client id "${clientId}" (${said}); check TIMEBACK_SCOPES and that the app is active with those scopes`;
  }
  if (status === 404 || status === 405 || (status >= 300 && status < 400)) {
    return `No OAuth token endpoint at ${tokenUrl} (${said}); check TIMEBACK_TOKEN_URL`;
  }
  return `TimeBack's token endpoint ${tokenUrl} refused the request (${said})`;
}

/**
 * Removes the ways our credentials could come back in a refusal's error_description (an
 * endpoint or a proxy in front of it that echoes the request): longest first, so the Basic
 * value is cut whole rather than around the secret inside it.
 */
export function credentialRemover(basicCredentials: string, clientSecret: string | undefined): (text: string) => string {
  const echoes = [basicCredentials, clientSecret, clientSecret && encodeURIComponent(clientSecret)]
    .filter((text): text is string => text !== undefined && text.length > 0)
    .sort((a, b) => b.length - a.length);
  return (text) => echoes.reduce((out, echo) => out.replaceAll(echo, '[redacted]'), text);
}

/**
 * When the token stops working, by our clock. Lifetimes are counted from when we asked (so
 * network time only makes us earlier): `expires_in`, and a JWT's own `exp` less its `iat`,
 * the earlier of the two. Both are relative, so they hold whatever our clock says. A JWT's
 * `exp` by itself is a time on TimeBack's clock: read by ours it would keep a dead token
 * while ours runs behind (a 401 at each expiry), and, while ours runs ahead, make a token
 * issued just now look about to expire and be asked for again at every use. So it counts
 * only when nothing relative is said, and then never for less than the lifetime assumed.
 */
function expiryOf(token: string, expiresInSeconds: number | undefined, askedAt: number): number {
  const claims = jwtTimes(token);
  const jwtLifetimeMs = claims.iat !== undefined && claims.exp !== undefined && claims.exp > claims.iat ? (claims.exp - claims.iat) * 1000 : undefined;
  const said = [expiresInSeconds === undefined ? undefined : expiresInSeconds * 1000, jwtLifetimeMs].filter((ms): ms is number => ms !== undefined);
  const lifetime =
    said.length > 0
      ? Math.min(...said)
      : claims.exp !== undefined
        ? Math.max(claims.exp * 1000 - askedAt, DEFAULT_LIFETIME_MS)
        : DEFAULT_LIFETIME_MS;
  return askedAt + Math.min(lifetime, MAX_LIFETIME_MS);
}

/** A JWT's `iat` and `exp`, in seconds, where they are numbers; nothing from an opaque token. */
function jwtTimes(token: string): { iat?: number; exp?: number } {
  if (token.split('.').length !== 3) return {};
  try {
    const { iat, exp } = decodeJwt(token);
    const seconds = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
    return { iat: seconds(iat), exp: seconds(exp) };
  } catch {
    // Not a JWT after all: an opaque token that happens to contain dots.
    return {};
  }
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

/**
 * The scopes a token answer grants (RFC 6749 §3.3: space-separated; a list of strings, as some
 * proxies re-serialise it, is read too). Missing, blank or unreadable mean "not said": by
 * §5.1 the token then holds what was asked, and nothing is claimed about it.
 */
export function grantedScopes(value: unknown): string[] | undefined {
  const listed =
    typeof value === 'string' ? value.split(/\s+/) : Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : [];
  const scopes = listed.map((scope) => scope.trim()).filter((scope) => scope !== '');
  return scopes.length > 0 ? scopes : undefined;
}

/**
 * What an admin should know when a token answer grants scopes without Caliper's events.write:
 * TimeBack will likely refuse every event (401/403). Undefined when the answer grants it or
 * names no scopes. Only said, never acted on: TimeBack is the judge of its token, and a scope
 * written in a form this does not know may still let events in. Scopes are no secret, so
 * they are quoted; the token never is.
 */
export function missingEventsScope(granted: readonly string[] | undefined, asked: readonly string[]): string | undefined {
  if (granted === undefined || granted.includes(EVENTS_WRITE_SCOPE)) return undefined;
  const fix = asked.includes(EVENTS_WRITE_SCOPE)
    ? 'check that the app holds that scope at TimeBack'
    : 'TIMEBACK_SCOPES does not ask for it';
  return `TimeBack's token grants "${granted.join(' ')}" but not "${EVENTS_WRITE_SCOPE}", which events need (${fix})`;
}
