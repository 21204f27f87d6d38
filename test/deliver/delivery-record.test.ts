import { describe, expect, it } from 'vitest';
import { failedRecord, settledRecord, type RetryRules } from '../../src/deliver/delivery-record.ts';
import type { PostResult } from '../../src/deliver/events-client.ts';
import type { DueEvent } from '../../src/deliver/outbox.ts';

const STARTED = Date.parse('2026-03-02T10:00:00.000Z');
const FINISHED = STARTED + 120;

function dueEvent(overrides: Partial<DueEvent> = {}): DueEvent {
  return { seq: 7, output: '{"id":"urn:uuid:x"}', outputId: 'urn:uuid:x', attempts: 0, firstAttemptAt: null, updatedAt: 41, ...overrides };
}

function answer(status: number, body = 'ok', retryAfter?: string): PostResult {
  return { kind: 'response', status, retryAfter, body };
}

// Jitter at its top (just under the step) so the expected retry times are exact.
const rules: RetryRules = { maxAgeMs: 3_600_000, backoff: { baseMs: 1_000, capMs: 60_000 }, random: () => 0.5 };

describe('settledRecord', () => {
  it('records a delivered event with the answer and no retry', () => {
    expect(settledRecord(dueEvent(), STARTED, FINISHED, 1, answer(200, 'accepted'), { kind: 'delivered' })).toEqual({
      seq: 7,
      readUpdatedAt: 41,
      fate: 'delivered',
      posts: 1,
      startedAt: STARTED,
      finishedAt: FINISHED,
      status: 200,
      response: 'accepted',
      nextAttemptAt: null,
      reason: null,
      detail: null,
      cause: undefined,
    });
  });

  it('records a refused event as dead with the status as its reason and detail', () => {
    const entry = settledRecord(dueEvent(), STARTED, FINISHED, 1, answer(422, 'bad actor'), { kind: 'dead', reason: 'http-422' });
    expect(entry).toMatchObject({ fate: 'dead', status: 422, response: 'bad actor', reason: 'http-422', nextAttemptAt: null });
    expect(entry.detail).toBe('TimeBack refused the event with HTTP 422');
  });

  it('says an event with no output was never sent', () => {
    const entry = settledRecord(dueEvent({ output: null }), STARTED, STARTED, 0, undefined, { kind: 'dead', reason: 'no-output' });
    expect(entry).toMatchObject({ fate: 'dead', posts: 0, status: null, response: null, reason: 'no-output' });
    expect(entry.detail).toBe('the translated event has no output to send');
  });

  it('keeps only the start of a long answer and says how much was cut', () => {
    const entry = settledRecord(dueEvent(), STARTED, FINISHED, 1, answer(400, 'x'.repeat(5_000)), { kind: 'dead', reason: 'http-400' });
    expect(entry.response).toBe(`${'x'.repeat(4_096)}… (904 more characters)`);
  });

  it('never cuts an answer between the halves of an emoji', () => {
    const body = `${'x'.repeat(4_095)}${'😀'.repeat(500)}`;
    const entry = settledRecord(dueEvent(), STARTED, FINISHED, 1, answer(400, body), { kind: 'dead', reason: 'http-400' });
    expect(entry.response).toBe(`${'x'.repeat(4_095)}… (1000 more characters)`);
  });
});

describe('failedRecord', () => {
  it('keeps a failed event pending with its next attempt after the backoff', () => {
    const entry = failedRecord(dueEvent({ attempts: 2 }), STARTED, FINISHED, 1, answer(503, 'busy'), { kind: 'retry', cause: 'http-503' }, 'HTTP 503', undefined, rules);
    // Third failure: a step of 4 s, half of it with this random source.
    const next = FINISHED + 2_000;
    expect(entry).toMatchObject({ fate: 'pending', status: 503, response: 'busy', nextAttemptAt: next, reason: null, cause: 'http-503' });
    expect(entry.detail).toBe(`attempt 3 failed (HTTP 503); next at ${new Date(next).toISOString()}`);
  });

  it('never retries sooner than Retry-After asked', () => {
    const entry = failedRecord(dueEvent(), STARTED, FINISHED, 1, answer(429), { kind: 'retry', cause: 'http-429' }, 'HTTP 429', 90_000, rules);
    expect(entry.nextAttemptAt).toBe(FINISHED + 90_000);
  });

  it('labels a refreshed token refused again as an http-401 retry', () => {
    const entry = failedRecord(dueEvent(), STARTED, FINISHED, 2, answer(401), { kind: 'unauthorized' }, 'refused', undefined, rules);
    expect(entry).toMatchObject({ fate: 'pending', posts: 2, cause: 'http-401' });
  });

  it('keeps the transport failure as the answer when TimeBack did not answer', () => {
    const timeout: PostResult = { kind: 'failure', failure: 'timeout', message: 'headers timeout' };
    const entry = failedRecord(dueEvent(), STARTED, FINISHED, 1, timeout, { kind: 'retry', cause: 'timeout' }, 'timeout: headers timeout', undefined, rules);
    expect(entry).toMatchObject({ fate: 'pending', status: null, response: 'headers timeout', cause: 'timeout' });
  });

  it('records a round with no token as pending with nothing sent', () => {
    const entry = failedRecord(dueEvent(), STARTED, FINISHED, 1, undefined, { kind: 'retry', cause: 'http-401' }, 'no token', undefined, rules);
    expect(entry).toMatchObject({ fate: 'pending', status: null, response: null });
  });

  it('gives the event up once DELIVERY_MAX_AGE has passed since its first attempt', () => {
    const first = FINISHED - rules.maxAgeMs;
    const entry = failedRecord(dueEvent({ attempts: 9, firstAttemptAt: first }), STARTED, FINISHED, 1, answer(503), { kind: 'retry', cause: 'http-503' }, 'HTTP 503', undefined, rules);
    expect(entry).toMatchObject({ fate: 'dead', reason: 'max-age', nextAttemptAt: null, cause: undefined });
    expect(entry.detail).toBe('not delivered within DELIVERY_MAX_AGE (3600 s) after 10 attempts; last: HTTP 503');
  });

  it('counts the age of a first attempt from when this round started', () => {
    const young = failedRecord(dueEvent(), STARTED, STARTED + rules.maxAgeMs - 1, 1, answer(503), { kind: 'retry', cause: 'http-503' }, 'HTTP 503', undefined, rules);
    const old = failedRecord(dueEvent(), STARTED, STARTED + rules.maxAgeMs, 1, answer(503), { kind: 'retry', cause: 'http-503' }, 'HTTP 503', undefined, rules);
    expect(young.fate).toBe('pending');
    expect(old.fate).toBe('dead');
  });
});
