import { describe, expect, it } from 'vitest';
import { excerpt, parseRetryAfter } from '../../src/timeback/http-answers.ts';

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


describe('parseRetryAfter: the three HTTP-date forms (RFC 9110 §5.6.7), always in GMT', () => {
  // A gateway runs in its school's time zone; an HTTP date is GMT whatever the zone.
  const inZone = <T>(zone: string, read: () => T): T => {
    const before = process.env.TZ;
    process.env.TZ = zone;
    try {
      return read();
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  };

  it.each(['UTC', 'America/New_York', 'Asia/Kolkata'])('reads each form as the same instant in %s', (zone) => {
    inZone(zone, () => {
      expect(parseRetryAfter('Mon, 02 Nov 2026 10:01:30 GMT', NOW)).toBe(90_000);
      expect(parseRetryAfter('Monday, 02-Nov-26 10:01:30 GMT', NOW)).toBe(90_000);
      expect(parseRetryAfter('Mon Nov  2 10:01:30 2026', NOW)).toBe(90_000);
    });
  });

  it('reads a two-digit rfc850 year as the nearest one not more than 50 years ahead', () => {
    // 2026 now: "75" is 2075 (49 years ahead, capped to an hour), "77" is 1977 (long past, so 0).
    expect(parseRetryAfter('Saturday, 02-Nov-75 10:00:00 GMT', NOW)).toBe(3_600_000);
    expect(parseRetryAfter('Tuesday, 02-Nov-77 10:00:00 GMT', NOW)).toBe(0);
  });

  it('ignores a date without its zone, or one that is no day of the calendar', () => {
    inZone('America/New_York', () => {
      expect(parseRetryAfter('Mon, 02 Nov 2026 10:01:30', NOW)).toBeUndefined();
      expect(parseRetryAfter('Mon, 31 Feb 2026 10:01:30 GMT', NOW)).toBeUndefined();
      expect(parseRetryAfter('Mon, 02 Nov 2026 25:01:30 GMT', NOW)).toBeUndefined();
    });
  });
});

describe('excerpt', () => {
  it('gives an answer on one line, cut at the limit with an ellipsis', () => {
    expect(excerpt('  upstream\n  timed out  ')).toBe('upstream timed out');
    expect(excerpt('abcdef', 4)).toBe('abcd…');
  });

  it('never cuts between the halves of an emoji', () => {
    expect(excerpt(`abc${'😀'.repeat(3)}`, 4)).toBe('abc…');
  });
});
