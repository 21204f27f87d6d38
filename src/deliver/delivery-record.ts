/**
 * What is written for one delivery round (one or two POSTs of one event): its fate, the
 * answer kept for the admin, and for a round that failed, when to try again or why it is
 * given up. Pure: the finishing time and the random source for jitter come in, so every fate
 * can be checked without a TimeBack. What a round says about TimeBack itself (the pause, the
 * set-up problem on /readyz, the log of dead events) is round-recorder.ts's business.
 */
import { cutText } from '../errors.ts';
import { retryDelay, type BackoffPolicy } from './backoff.ts';
import type { PostResult } from './events-client.ts';
import type { Outcome } from './outcome.ts';
import type { DueEvent } from './outbox.ts';
import type { PendingRecord } from './result-batches.ts';

/** Why an event dies without a refusal from TimeBack: too old to retry, or nothing to send. */
export const MAX_AGE = 'max-age';
export const NO_OUTPUT = 'no-output';

/** The longest TimeBack answer kept on the event for the admin. */
const MAX_STORED_RESPONSE = 4_096;

/** When a failed round is tried again, and when the event stops being tried. */
export interface RetryRules {
  /** DELIVERY_MAX_AGE: counted from the event's first attempt. */
  maxAgeMs: number;
  backoff: BackoffPolicy;
  /** Random source for jitter, in [0, 1). */
  random: () => number;
}

/** An answer that settles the event: TimeBack has it, or refused it for good (or there was nothing to send). */
export type SettledOutcome = Extract<Outcome, { kind: 'delivered' | 'dead' }>;
/** An answer that time may fix (a 401 here is a refreshed token refused again). */
export type FailedOutcome = Extract<Outcome, { kind: 'retry' | 'unauthorized' }>;

/** `result` is undefined when nothing was sent (no output, or no token). */
export function settledRecord(
  event: DueEvent,
  startedAt: number,
  finishedAt: number,
  posts: number,
  result: PostResult | undefined,
  outcome: SettledOutcome,
): PendingRecord {
  const status = answerStatus(result);
  const response = storedAnswer(result);
  if (outcome.kind === 'delivered') {
    // One shape for every record (same keys, same order, no spread of a shared base): this
    // runs once per event, and the result batches see one hidden class.
    return { seq: event.seq, readUpdatedAt: event.updatedAt, fate: 'delivered', posts, startedAt, finishedAt, status, response, nextAttemptAt: null, reason: null, detail: null, cause: undefined };
  }
  const detail = status === null ? 'the translated event has no output to send' : `TimeBack refused the event with HTTP ${status}`;
  return { seq: event.seq, readUpdatedAt: event.updatedAt, fate: 'dead', posts, startedAt, finishedAt, status, response, nextAttemptAt: null, reason: outcome.reason, detail, cause: undefined };
}

/**
 * A round that failed for now: pending with its next attempt, or dead once DELIVERY_MAX_AGE
 * has passed since the first attempt. `problem` is describeFailure()'s text, `retryAfterMs`
 * TimeBack's Retry-After; round-recorder.ts needs both for the pause as well, so they come in
 * rather than being worked out twice.
 */
export function failedRecord(
  event: DueEvent,
  startedAt: number,
  finishedAt: number,
  posts: number,
  result: PostResult | undefined,
  outcome: FailedOutcome,
  problem: string,
  retryAfterMs: number | undefined,
  rules: RetryRules,
): PendingRecord {
  const status = answerStatus(result);
  const response = storedAnswer(result);
  const failures = event.attempts + posts;
  const since = event.firstAttemptAt ?? startedAt;
  if (finishedAt - since >= rules.maxAgeMs) {
    const detail = `not delivered within DELIVERY_MAX_AGE (${Math.round(rules.maxAgeMs / 1000)} s) after ${failures} attempts; last: ${problem}`;
    return { seq: event.seq, readUpdatedAt: event.updatedAt, fate: 'dead', posts, startedAt, finishedAt, status, response, nextAttemptAt: null, reason: MAX_AGE, detail, cause: undefined };
  }
  const nextAttemptAt = finishedAt + retryDelay(failures, retryAfterMs, rules.backoff, rules.random);
  const detail = `attempt ${failures} failed (${problem}); next at ${new Date(nextAttemptAt).toISOString()}`;
  const cause = outcome.kind === 'retry' ? outcome.cause : 'http-401';
  return { seq: event.seq, readUpdatedAt: event.updatedAt, fate: 'pending', posts, startedAt, finishedAt, status, response, nextAttemptAt, reason: null, detail, cause };
}

function answerStatus(result: PostResult | undefined): number | null {
  return result?.kind === 'response' ? result.status : null;
}

/** TimeBack's answer (or why there was none) as kept on the event. */
function storedAnswer(result: PostResult | undefined): string | null {
  return result === undefined ? null : truncate(result.kind === 'response' ? result.body : result.message);
}

/** Keeps the start of a long answer and says how much was cut. */
function truncate(text: string): string {
  if (text.length <= MAX_STORED_RESPONSE) return text;
  const kept = cutText(text, MAX_STORED_RESPONSE);
  return `${kept}… (${text.length - kept.length} more characters)`;
}
