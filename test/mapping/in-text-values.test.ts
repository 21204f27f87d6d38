import { describe, expect, it } from 'vitest';
import type { IdentifyingCategory } from '../../src/mapping/identifying-values.ts';
import { findInText, inTextValues } from '../../src/mapping/in-text-values.ts';

const values = (entries: Array<[string, IdentifyingCategory]>) => inTextValues(new Map(entries))!;
const candidates = (found: ReturnType<typeof values>) => [...found.byStart.values()].flat().map((candidate) => candidate.key);

describe('inTextValues', () => {
  it('keeps whole names and longer ids that are not pk1s, a UUID also without dashes', () => {
    const found = values([
      ['lena martin', 'name'],
      ['martin', 'name'],
      ['s1234567', 'user-id'],
      ['grader', 'user-id'],
      ['_1234567_1', 'user-id'],
      ['aa11bb22-cc33-dd44-ee55-ff6677889900', 'user-id'],
    ]);
    expect(candidates(found)).toEqual(['lena martin', 's1234567', 'aa11bb22-cc33-dd44-ee55-ff6677889900', 'aa11bb22-cc33-dd44-ee55-ff6677889900']);
    expect(findInText('/users/AA11BB22CC33DD44EE55FF6677889900/x', found)).toBe('aa11bb22-cc33-dd44-ee55-ff6677889900');
  });

  it('takes at most 64 values, the first collected (the student\'s) first', () => {
    const entries: Array<[string, IdentifyingCategory]> = Array.from({ length: 5000 }, (_, i) => [`member${String(i).padStart(5, '0')}`, 'user-id']);
    const found = values([['s1234567', 'user-id'], ...entries]);
    expect(candidates(found)).toHaveLength(64);
    expect(findInText('notes for s1234567', found)).toBe('s1234567');
  });

  // Text is scanned only when it holds a part of some value (mayHoldOne): the part must be there
  // however the text writes the value's case and spaces.
  it('finds a value written in another case, with other spaces, or with a letter that lowers to ASCII', () => {
    const found = values([
      ['kwabena osei', 'name'],
      ['s1234567', 'user-id'],
    ]);
    expect(findInText('Reply from KWABENA\u00a0\u00a0Osei', found)).toBe('kwabena osei');
    expect(findInText('Reply from \u212awabena Osei', found)).toBe('kwabena osei');
    expect(findInText('notes/S1234567/draft', found)).toBe('s1234567');
    expect(findInText('Reply from Kwabena Mensah about s123456', found)).toBeUndefined();
  });

  it('stops comparing once the budget of an event is spent, and finds nothing more', () => {
    const common = 'q'.repeat(200);
    const found = values(Array.from({ length: 64 }, (_, i) => [`${common}${i}x`, 'user-id']));
    // One whole value at the end, so the text is scanned (its anchor is there) and the scan
    // runs out of budget before it gets there.
    const text = `${common} `.repeat(700) + `${common}7x`;
    expect(findInText(text, found)).toBeUndefined();
    expect(found.budget).toBeLessThanOrEqual(0);
    // Spent: even a text holding one whole is not looked into.
    expect(findInText(`${common}7x`, found)).toBeUndefined();
    expect(findInText(`${common}7x`, values([[`${common}7x`, 'user-id']]))).toBe(`${common}7x`);
  });
});
