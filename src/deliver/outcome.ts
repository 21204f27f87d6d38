/**
 * What one answer from TimeBack's events endpoint means for the event, by status class
 * (the split Vector, Redpanda Connect and Logstash converge on, see docs/anchors §5):
 * retry what time can fix, park what it cannot, and never retry forever on one event. Also
 * how a failed round is described to an admin, since that depends on the same answers.
 */
import type { PostResult } from './events-client.ts';

export type Outcome =
  /** TimeBack has the event. */
  | { kind: 'delivered' }
  /** The token was refused: refresh it and try once more. */
  | { kind: 'unauthorized' }
  /** Try again later; `cause` labels the retry metric. */
  | { kind: 'retry'; cause: string }
  /** Trying again cannot help; `reason` becomes the event's reason. */
  | { kind: 'dead'; reason: string };

/** Statuses that say "not now" rather than "not this": timeouts, too early, too many. */
const RETRYABLE_4XX = new Set([408, 425, 429]);

/**
 * Statuses about this client or the endpoint, not the event: forbidden (the app lacks the
 * events.write scope, as a draft app does), no such endpoint, method not allowed (a wrong
 * TIMEBACK_BASE_URL). Every event would get the same answer, and TimeBack creates any entity
 * an event names that it does not know, so none of them can be the event's fault. Like a
 * redirect, they are retried (and pause delivery) until an admin fixes the set-up.
 */
const DEPLOYMENT_4XX: ReadonlyMap<number, string> = new Map([
  [403, 'TimeBack refused the app (HTTP 403); check that it is active with the events.write scope (TIMEBACK_SCOPES)'],
  [404, 'No events endpoint there (HTTP 404); check TIMEBACK_BASE_URL'],
  [405, 'No events endpoint there (HTTP 405); check TIMEBACK_BASE_URL'],
]);

// Shared: an outcome is only read, and these two come once per POST.
const DELIVERED: Outcome = Object.freeze({ kind: 'delivered' });
const UNAUTHORIZED: Outcome = Object.freeze({ kind: 'unauthorized' });

export function classifyStatus(status: number): Outcome {
  if (status >= 200 && status < 300) return DELIVERED;
  // TimeBack already has an event with this id: an earlier attempt got through (the
  // answer was lost, or we crashed before recording it). ERB made the same call (#298).
  if (status === 409) return DELIVERED;
  if (status === 401) return UNAUTHORIZED;
  if (RETRYABLE_4XX.has(status) || DEPLOYMENT_4XX.has(status) || status >= 500) return { kind: 'retry', cause: `http-${status}` };
  if (status >= 400) return { kind: 'dead', reason: `http-${status}` };
  // 1xx/3xx: we follow no redirects, and a redirect here is a deployment problem (an
  // http→https hop, a moved base URL) that affects every event. Parking them all as dead
  // would make an admin replay everything; retrying keeps them and shows on the metrics.
  return { kind: 'retry', cause: `http-${status}` };
}

/**
 * What a round's last answer means: `result` is the POST after the one token refresh, so a
 * 401 there is a refreshed token refused again (a scope or clock problem, not this event's
 * fault) and is retried. `aborted` never gets here: the round stops before it.
 */
export function roundOutcome(result: PostResult): Outcome {
  if (result.kind === 'failure') return { kind: 'retry', cause: result.failure };
  const outcome = classifyStatus(result.status);
  return outcome.kind === 'unauthorized' ? { kind: 'retry', cause: 'http-401' } : outcome;
}

/**
 * Answers every event would get, which only an admin can change: 403/404/405, a token
 * refused although just issued (a token URL of another TimeBack environment than the base
 * URL, or a clock far off), and redirects, which are not followed.
 */
export function isSetupAnswer(status: number, posts: number): boolean {
  return DEPLOYMENT_4XX.has(status) || (status === 401 && posts > 1) || (status >= 300 && status < 400);
}

/**
 * What went wrong in a delivery round, for the event's detail and /readyz (`result` is
 * undefined when no token could be had, so nothing was sent).
 */
export function describeFailure(result: PostResult | undefined, posts: number): string {
  if (result === undefined) return 'no token';
  if (result.kind === 'failure') return `${result.failure}: ${result.message}`;
  const { status } = result;
  if (status === 401 && posts > 1) {
    return 'TimeBack refused a freshly issued token (HTTP 401); check that TIMEBACK_TOKEN_URL issues tokens for the TimeBack of TIMEBACK_BASE_URL (production, staging and sandbox each have their own)';
  }
  if (status >= 300 && status < 400) {
    return `TimeBack answered with a redirect (HTTP ${status}), which is not followed; check TIMEBACK_BASE_URL (https, the right host)`;
  }
  return DEPLOYMENT_4XX.get(status) ?? `HTTP ${status}`;
}

/** The retry causes that are no HTTP status: a POST with no answer. */
export const TRANSPORT_FAILURES = ['timeout', 'network'] as const;
export type TransportFailure = (typeof TRANSPORT_FAILURES)[number];

/**
 * Transport errors (no HTTP answer) as `timeout` or `network`. Both are retried: the
 * request may or may not have reached TimeBack, and the deterministic event id makes a
 * repeat harmless.
 */
export function classifyError(err: unknown): TransportFailure {
  const code = (err as { code?: unknown } | null)?.code;
  const name = (err as { name?: unknown } | null)?.name;
  if (
    name === 'TimeoutError' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'ETIMEDOUT'
  ) {
    return 'timeout';
  }
  return 'network';
}
