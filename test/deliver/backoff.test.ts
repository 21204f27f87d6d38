import { describe, expect, it } from 'vitest';
import {
  equalJitterDelay,
  exponentialStep,
  fullJitterDelay,
  retryDelay,
  type BackoffPolicy,
} from '../../src/deliver/backoff.ts';

const policy: BackoffPolicy = { baseMs: 1_000, capMs: 300_000 };
const always = (value: number) => () => value;

describe('exponentialStep', () => {
  it('doubles from the base with each failure and stops at the cap', () => {
    expect([1, 2, 3, 4, 5].map((n) => exponentialStep(n, policy))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
    expect(exponentialStep(9, policy)).toBe(256_000);
    expect(exponentialStep(10, policy)).toBe(300_000);
    expect(exponentialStep(10_000, policy)).toBe(300_000);
  });

  it('treats zero failures like the first', () => {
    expect(exponentialStep(0, policy)).toBe(1_000);
  });
});

describe('full jitter', () => {
  it('spreads the wait uniformly over [0, step)', () => {
    expect(fullJitterDelay(3, policy, always(0))).toBe(0);
    expect(fullJitterDelay(3, policy, always(0.5))).toBe(2_000);
    expect(fullJitterDelay(3, policy, always(0.999_999))).toBe(3_999);
  });

  it('never exceeds the cap however many failures', () => {
    expect(fullJitterDelay(50, policy, always(0.999_999))).toBeLessThan(300_000);
  });
});

describe('equal jitter', () => {
  it('waits at least half the step, so a pause never turns into a busy loop', () => {
    expect(equalJitterDelay(1, policy, always(0))).toBe(500);
    expect(equalJitterDelay(1, policy, always(0.999_999))).toBe(999);
    expect(equalJitterDelay(20, policy, always(0))).toBe(150_000);
  });
});

describe('retryDelay', () => {
  it('is the jittered backoff when TimeBack gave no Retry-After', () => {
    expect(retryDelay(4, undefined, policy, always(0.25))).toBe(2_000);
  });

  it('never retries sooner than Retry-After asks', () => {
    expect(retryDelay(1, 30_000, policy, always(0.1))).toBe(30_000);
  });

  it('keeps the jittered wait when it is already longer than Retry-After', () => {
    expect(retryDelay(8, 1_000, policy, always(0.5))).toBe(64_000);
  });

  it('obeys a Retry-After that asks for more than the cap', () => {
    expect(retryDelay(1, 600_000, policy, always(0.5))).toBe(600_000);
    expect(retryDelay(30, 3_600_000, policy, always(0.999))).toBe(3_600_000);
  });
});
