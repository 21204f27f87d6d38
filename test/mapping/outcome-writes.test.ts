import { describe, expect, it } from 'vitest';
import { outcomeWrite, ROSTER_UNAVAILABLE, type RetryPolicy } from '../../src/mapping/outcome-writes.ts';
import { UNTIL_CONFIGURED } from '../../src/store/schema.ts';

const at = Date.parse('2026-11-02T08:00:00.000Z');
// random() just under 1: full jitter gives nearly the whole exponential step.
const policy: RetryPolicy = { backoff: { baseMs: 1_000, capMs: 60_000 }, maxAgeMs: 3_600_000, random: () => 0.999 };
const retry = { fate: 'retry', detail: 'roster answered 503', rule: 'grade-posted', studentId: 'kid-7' } as const;

describe('outcomeWrite', () => {
  it('hands a translated event to delivery with its output as JSON text', () => {
    const write = outcomeWrite(
      { seq: 4, attempts: 0, firstAttemptAt: null },
      { fate: 'deliver', rule: 'grade-posted', studentId: 'kid-7', platformId: 'p-1', event: { id: 'urn:uuid:x' }, outputId: 'urn:uuid:x' },
      at,
      policy,
    );
    expect(write).toEqual({ kind: 'deliver', seq: 4, rule: 'grade-posted', studentId: 'kid-7', platformId: 'p-1', output: '{"id":"urn:uuid:x"}', outputId: 'urn:uuid:x' });
  });

  it('settles a skipped event with nulls for what translation did not find', () => {
    const write = outcomeWrite({ seq: 5, attempts: 0, firstAttemptAt: null }, { fate: 'skipped', reason: 'no-rule', detail: 'no rule matches' }, at, policy);
    expect(write).toEqual({ kind: 'settle', seq: 5, fate: 'skipped', reason: 'no-rule', detail: 'no rule matches', rule: null, studentId: null });
  });

  it('retries after a backoff that grows with the attempts so far', () => {
    const first = outcomeWrite({ seq: 6, attempts: 0, firstAttemptAt: null }, retry, at, policy);
    const fourth = outcomeWrite({ seq: 6, attempts: 3, firstAttemptAt: at - 1_000 }, retry, at, policy);
    expect(first).toMatchObject({ kind: 'retry', nextAttemptAt: at + 999 });
    expect(fourth).toMatchObject({ kind: 'retry', nextAttemptAt: at + 7_992 });
    expect(fourth.kind === 'retry' && fourth.detail).toMatch(/^identity attempt 4 failed \(roster answered 503\); next at /);
  });

  it('kills an event whose student the roster could not answer for within DELIVERY_MAX_AGE', () => {
    const write = outcomeWrite({ seq: 7, attempts: 9, firstAttemptAt: at - policy.maxAgeMs }, retry, at, policy);
    expect(write).toMatchObject({ kind: 'settle', fate: 'dead', reason: ROSTER_UNAVAILABLE, rule: 'grade-posted', studentId: 'kid-7' });
  });

  it('holds without counting an attempt: until the gateway is configured, or for a backoff cap', () => {
    const row = { seq: 8, attempts: 0, firstAttemptAt: null };
    expect(outcomeWrite(row, { ...retry, held: true, untilConfigured: true }, at, policy)).toMatchObject({ kind: 'hold', nextAttemptAt: UNTIL_CONFIGURED });
    expect(outcomeWrite(row, { ...retry, held: true }, at, policy)).toMatchObject({ kind: 'hold', nextAttemptAt: at + 60_000 });
    expect(outcomeWrite(row, { ...retry, held: true, retryAfterMs: 90_000 }, at, policy)).toMatchObject({ kind: 'hold', nextAttemptAt: at + 90_000 });
  });
});
