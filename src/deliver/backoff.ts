/**
 * How long to wait before trying again. Pure functions with an injected random source, so
 * the arithmetic is unit-tested exactly.
 *
 * Exponential backoff with **full jitter** (a uniformly random wait between 0 and the
 * exponential step) is what Vector defaults to and what AWS's analysis recommends: when
 * many events (or many gateways) fail together, their retries spread out instead of
 * arriving in waves.
 */

export interface BackoffPolicy {
  /** The first step: after one failure the wait is random in [0, baseMs). */
  baseMs: number;
  /**
   * The backoff never grows past this, however many attempts failed. A Retry-After may ask
   * for longer (parseRetryAfter bounds it at an hour): TimeBack knows when it will be back.
   */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 300_000 };

/** `base · 2^(failures-1)`, capped; computed without overflowing for large counts. */
export function exponentialStep(failures: number, policy: BackoffPolicy): number {
  const exponent = Math.max(0, failures - 1);
  // 2^40 · 1 ms is already 35 years: beyond that the cap always wins.
  if (exponent > 40) return policy.capMs;
  return Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
}

/** Full jitter: uniform in [0, step). */
export function fullJitterDelay(failures: number, policy: BackoffPolicy, random: () => number): number {
  return Math.floor(random() * exponentialStep(failures, policy));
}

/**
 * Equal jitter: uniform in [step/2, step). Used for the shared pause while TimeBack is down,
 * where a wait near zero would turn probes into a busy loop.
 */
export function equalJitterDelay(failures: number, policy: BackoffPolicy, random: () => number): number {
  const step = exponentialStep(failures, policy);
  return Math.floor(step / 2 + random() * (step / 2));
}

/**
 * The wait before retrying one event after its `failures`-th failed attempt: full jitter
 * (never longer than the cap), but never sooner than TimeBack asked (`Retry-After`), even
 * when it asked for longer than the cap: retrying earlier only earns another refusal.
 */
export function retryDelay(
  failures: number,
  retryAfterMs: number | undefined,
  policy: BackoffPolicy,
  random: () => number,
): number {
  return Math.max(fullJitterDelay(failures, policy, random), retryAfterMs ?? 0);
}
