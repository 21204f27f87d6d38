import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../src/timeback/http-answers.ts';

const NOW = Date.parse('2026-11-02T10:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter(['7', '9'], NOW)).toBe(7_000);
  });

  it('reads an HTTP date relative to now, and a past date as 0', () => {
    expect(parseRetryAfter('Mon, 02 Nov 2026 10:01:30 GMT', NOW)).toBe(90_000);
    expect(parseRetryAfter('Mon, 02 Nov 2026 09:00:00 GMT', NOW)).toBe(0);
  });

  it('obeys at most an hour, whatever a proxy says', () => {
    expect(parseRetryAfter('86400', NOW)).toBe(3_600_000);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter('', NOW)).toBeUndefined();
    expect(parseRetryAfter('-5', NOW)).toBeUndefined();
    expect(parseRetryAfter('1.5', NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
  });
});

