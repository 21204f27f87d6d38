import { describe, expect, it } from 'vitest';
import { CALIPER_DATE_TIME, toCaliperDateTime, toCaliperDuration } from '../../src/mapping/date-time.ts';

describe('toCaliperDateTime', () => {
  it.each([
    ['2026-03-02T10:04:05.123Z', '2026-03-02T10:04:05.123Z'],
    ['2026-03-02T10:04:05Z', '2026-03-02T10:04:05.000Z'],
    ['2026-03-02T10:04Z', '2026-03-02T10:04:00.000Z'],
    ['2026-03-02T10:04:05.5Z', '2026-03-02T10:04:05.500Z'],
    ['2026-03-02T10:04:05,25Z', '2026-03-02T10:04:05.250Z'],
    ['2026-03-02t10:04:05z', '2026-03-02T10:04:05.000Z'],
    ['  2026-03-02T10:04:05Z  ', '2026-03-02T10:04:05.000Z'],
    ['2026-03-02T15:34:05+05:30', '2026-03-02T10:04:05.000Z'],
    ['2026-03-02T15:34:05+0530', '2026-03-02T10:04:05.000Z'],
    ['2026-03-02T15:04:05+05', '2026-03-02T10:04:05.000Z'],
    ['2026-03-02T10:04:05+00:00', '2026-03-02T10:04:05.000Z'],
  ])('writes %j as %j', (text, expected) => {
    expect(toCaliperDateTime(text)).toBe(expected);
  });

  it('moves across midnight, month and year ends by the offset', () => {
    expect(toCaliperDateTime('2026-03-01T20:00:00-08:00')).toBe('2026-03-02T04:00:00.000Z');
    expect(toCaliperDateTime('2027-01-01T01:00:00.000+02:00')).toBe('2026-12-31T23:00:00.000Z');
  });

  it('truncates extra fraction digits rather than rounding into the next millisecond', () => {
    expect(toCaliperDateTime('2026-03-02T10:04:05.1236Z')).toBe('2026-03-02T10:04:05.123Z');
    expect(toCaliperDateTime('2026-03-02T10:04:05.9999999Z')).toBe('2026-03-02T10:04:05.999Z');
    expect(toCaliperDateTime('2026-12-31T23:59:59.99999+00:00')).toBe('2026-12-31T23:59:59.999Z');
  });

  it('knows leap years, the Gregorian century rules included', () => {
    expect(toCaliperDateTime('2024-02-29T00:00:00Z')).toBe('2024-02-29T00:00:00.000Z');
    expect(toCaliperDateTime('2000-02-29T00:00:00.000Z')).toBe('2000-02-29T00:00:00.000Z');
    expect(toCaliperDateTime('2026-02-29T00:00:00Z')).toBeUndefined();
    expect(toCaliperDateTime('1900-02-29T00:00:00Z')).toBeUndefined();
    expect(toCaliperDateTime('1900-02-29T00:00:00.000Z')).toBeUndefined();
  });

  it('keeps years below 100 as written', () => {
    expect(toCaliperDateTime('0099-06-01T00:00:00Z')).toBe('0099-06-01T00:00:00.000Z');
  });

  it.each([
    ['no zone', '2026-03-02T10:04:05'],
    ['a date alone', '2026-03-02'],
    ['a space for the T', '2026-03-02 10:04:05Z'],
    ['month 13', '2026-13-02T10:04:05Z'],
    ['month 0', '2026-00-02T10:04:05Z'],
    ['day 0', '2026-03-00T10:04:05Z'],
    ['April 31', '2026-04-31T10:04:05Z'],
    ['hour 24', '2026-03-02T24:00:00Z'],
    ['minute 60', '2026-03-02T10:60:00Z'],
    ['a leap second', '2026-12-31T23:59:60Z'],
    ['an offset of 24 hours', '2026-03-02T10:04:05+24:00'],
    ['an offset of 60 minutes', '2026-03-02T10:04:05+05:60'],
    ['a one-digit hour', '2026-03-02T1:04:05Z'],
    ['a trailing word', '2026-03-02T10:04:05Z today'],
    ['an impossible day in the Caliper form', '2026-02-30T00:00:00.000Z'],
    ['hour 25 in the Caliper form', '2026-03-02T25:00:00.000Z'],
    ['a year pushed below 0000 by the offset', '0000-01-01T00:30:00+01:00'],
    ['a year pushed past 9999 by the offset', '9999-12-31T23:30:00-01:00'],
    ['epoch milliseconds', '1772445845000'],
    ['nothing', ''],
  ])('refuses %s (%j)', (_what, text) => {
    expect(toCaliperDateTime(text)).toBeUndefined();
  });

  it('only ever answers in the one form Caliper accepts', () => {
    for (const text of ['2026-03-02T10:04Z', '2026-03-02T15:34:05.1+05:30', '0099-06-01T00:00:00Z']) {
      expect(toCaliperDateTime(text)).toMatch(CALIPER_DATE_TIME);
    }
  });
});

describe('toCaliperDuration', () => {
  it.each(['PT30M54S', 'P1DT2H', 'PT0.5S', 'P3W', 'P1Y2M3DT4H5M6S', 'P0D', 'PT1H'])('accepts %j', (text) => {
    expect(toCaliperDuration(text)).toBe(text);
  });

  it('ignores surrounding spaces', () => {
    expect(toCaliperDuration('  PT5M \n')).toBe('PT5M');
  });

  it.each(['P', 'PT', 'P1DT', '30M', 'PT1.5M', 'P1W2D', 'pt1h', '-PT1H', 'PT1H30', 'P1H', 'PT-1S', ''])('refuses %j', (text) => {
    expect(toCaliperDuration(text)).toBeUndefined();
  });
});
