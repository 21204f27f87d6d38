/**
 * OAuth client-credentials access tokens for TimeBack, shared by the roster lookups and
 * delivery. The contract only; client-credentials-token.ts implements it.
 */

export interface TokenProvider {
  /** False while TIMEBACK_CLIENT_ID / TIMEBACK_CLIENT_SECRET are unset. */
  readonly configured: boolean;
  /**
   * A token valid for a while yet. Reuses the current one until shortly before it expires;
   * concurrent callers share one refresh. Rejects with a TokenError when none can be had.
   */
  getToken(): Promise<string>;
  /**
   * The token getToken() would answer at once, or undefined when it would have to fetch one
   * (or fail). For hot paths: no promise to wait for when nothing needs waiting.
   */
  fresh(): string | undefined;
  /** Forgets `token` after TimeBack answered 401 with it, so the next getToken() fetches anew. */
  invalidate(token: string): void;
  /**
   * Forgets `token` after TimeBack answered 403 with it, but only when its own answer named
   * scopes without events.write (scopeProblem): the app's scopes may have been fixed at
   * TimeBack since, and only a new token carries them. A token whose answer had the scope,
   * or did not say, is kept: a new one would be refused the same. True when it was forgotten.
   */
  invalidateLackingScope(token: string): boolean;
  /**
   * When the last token answer named its scopes without Caliper's events.write: that, in words
   * for the admin (token-answer.ts missingEventsScope). Undefined when it had it or said nothing.
   */
  scopeProblem(): string | undefined;
  /**
   * Shutdown: cuts the token request in flight and refuses every later one, both as a
   * TokenError with `stopped` set, so that no caller waits up to TIMEBACK_TOKEN_TIMEOUT past
   * SHUTDOWN_TIMEOUT. Not an outage: nothing is logged or counted for it.
   */
  abort(): void;
}

export class TokenError extends Error {
  /** How long the token endpoint asked us to wait (its Retry-After), when it said. */
  readonly retryAfterMs: number | undefined;
  /** The gateway is stopping (TokenProvider.abort): nothing was learned about TimeBack. */
  readonly stopped: boolean;

  constructor(
    message: string,
    /** True for outages (network, 5xx, 429): retry later. False for bad credentials. */
    readonly retryable: boolean,
    options?: { cause?: unknown; retryAfterMs?: number; stopped?: boolean },
  ) {
    super(message, { cause: options?.cause });
    this.name = 'TokenError';
    this.retryAfterMs = options?.retryAfterMs;
    this.stopped = options?.stopped ?? false;
  }
}
