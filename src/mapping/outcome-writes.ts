/**
 * What the translate stage records for one event, given what translation decided: hand it to
 * delivery, settle it (skipped, rejected, or dead once the roster has failed it for
 * DELIVERY_MAX_AGE), try it again after a backoff, or hold it untried until the gateway is
 * set up. Pure: the worker passes the time, the row's attempts so far and its random source.
 */
import { retryDelay, type BackoffPolicy } from '../deliver/backoff.ts';
import { UNTIL_CONFIGURED } from '../store/schema.ts';
import type { RetryOutcome, TranslateOutcome } from './translate.ts';
import type { TranslationWrite } from './translation-writes.ts';

/** Why an event dies here: the roster could not say who its student is within DELIVERY_MAX_AGE. */
export const ROSTER_UNAVAILABLE = 'roster-unavailable';

/** The stored event being translated: which row, and how often its student could not be looked up. */
export interface TranslatedRow {
  seq: number;
  attempts: number;
  firstAttemptAt: number | null;
}

export interface RetryPolicy {
  /** Backoff for events whose student the roster could not answer for. */
  backoff: BackoffPolicy;
  /** DELIVERY_MAX_AGE: how long such an event is retried before it is dead. */
  maxAgeMs: number;
  /** Random source for jitter, in [0, 1). */
  random: () => number;
}

export function outcomeWrite(row: TranslatedRow, outcome: TranslateOutcome, at: number, policy: RetryPolicy): TranslationWrite {
  switch (outcome.fate) {
    case 'deliver':
      return {
        kind: 'deliver',
        seq: row.seq,
        rule: outcome.rule,
        studentId: outcome.studentId,
        platformId: outcome.platformId,
        output: JSON.stringify(outcome.event),
        outputId: outcome.outputId,
      };
    case 'skipped':
    case 'rejected':
      return {
        kind: 'settle',
        seq: row.seq,
        fate: outcome.fate,
        reason: outcome.reason,
        detail: outcome.detail,
        rule: outcome.rule ?? null,
        studentId: outcome.studentId ?? null,
      };
    case 'retry':
      return outcome.held ? holdWrite(row, outcome, at, policy) : retryWrite(row, outcome, at, policy);
  }
}

/**
 * Looked at again once per backoff cap (or when TimeBack said), until the gateway can try;
 * or, for a setting not there at all, once the gateway runs with it.
 */
function holdWrite(row: TranslatedRow, outcome: RetryOutcome, at: number, policy: RetryPolicy): TranslationWrite {
  return {
    kind: 'hold',
    seq: row.seq,
    detail: `waiting: ${outcome.detail}`,
    rule: outcome.rule,
    studentId: outcome.studentId,
    nextAttemptAt: outcome.untilConfigured ? UNTIL_CONFIGURED : at + Math.max(policy.backoff.capMs, outcome.retryAfterMs ?? 0),
  };
}

/** The roster could not answer: tried again after a backoff, or dead once DELIVERY_MAX_AGE has passed. */
function retryWrite(row: TranslatedRow, outcome: RetryOutcome, at: number, policy: RetryPolicy): TranslationWrite {
  const failures = row.attempts + 1;
  const since = row.firstAttemptAt ?? at;
  if (at - since >= policy.maxAgeMs) {
    return {
      kind: 'settle',
      seq: row.seq,
      fate: 'dead',
      reason: ROSTER_UNAVAILABLE,
      detail: `the roster could not say who ${outcome.studentId} is within DELIVERY_MAX_AGE (${Math.round(policy.maxAgeMs / 1000)} s) after ${failures} attempts; last: ${outcome.detail}`,
      rule: outcome.rule,
      studentId: outcome.studentId,
    };
  }
  const nextAttemptAt = at + retryDelay(failures, outcome.retryAfterMs, policy.backoff, policy.random);
  return {
    kind: 'retry',
    seq: row.seq,
    detail: `identity attempt ${failures} failed (${outcome.detail}); next at ${new Date(nextAttemptAt).toISOString()}`,
    rule: outcome.rule,
    studentId: outcome.studentId,
    nextAttemptAt,
  };
}
