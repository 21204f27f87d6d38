import { describe, expect, it } from 'vitest';
import { closestKey, didYouMean, editDistance } from '../src/closest-name.ts';

describe('editDistance', () => {
  it('counts letters inserted, deleted or changed', () => {
    expect(editDistance('DB_PATH', 'DB_PATH')).toBe(0);
    expect(editDistance('DB_PATHH', 'DB_PATH')).toBe(1);
    expect(editDistance('DB_PTH', 'DB_PATH')).toBe(1);
    expect(editDistance('DB_BATH', 'DB_PATH')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
  });

  // Plain Levenshtein counted a swap as two changes; config.ts used it until both callers shared this one.
  it('counts two swapped neighbours as one edit', () => {
    expect(editDistance('DB_PAHT', 'DB_PATH')).toBe(1);
    expect(editDistance('actoin', 'action')).toBe(1);
    expect(editDistance('TIMEBACK_CLEINT_SCERET', 'TIMEBACK_CLIENT_SECRET')).toBe(2);
    // A swap and a change are two edits, not one.
    expect(editDistance('ab', 'bc')).toBe(2);
  });

  it('is the same both ways', () => {
    for (const [a, b] of [['DELIVERY_CONCURENCY', 'DELIVERY_CONCURRENCY'], ['ca', 'abc'], ['studnet', 'student']] as const) {
      expect(editDistance(a, b)).toBe(editDistance(b, a));
    }
  });
});

describe('closestKey', () => {
  const known = ['from', 'transform', 'pick', 'map', 'default'];

  it('names the key one letter off, two swapped, or in another case', () => {
    expect(closestKey('frm', known)).toBe('from');
    expect(closestKey('fromm', known)).toBe('from');
    expect(closestKey('form', known)).toBe('from');
    expect(closestKey('From', known)).toBe('from');
    expect(closestKey('DEFAULT', known)).toBe('default');
  });

  it('names none for a key that is known, or two edits from every known key', () => {
    expect(closestKey('from', known)).toBeUndefined();
    expect(closestKey('fr', known)).toBeUndefined();
    expect(closestKey('source', known)).toBeUndefined();
  });
});

describe('didYouMean', () => {
  it('says keys are case-sensitive when the key meant differs in case alone', () => {
    expect(didYouMean('allowPII', 'allowPii')).toBe('keys are case-sensitive: did you mean "allowPii"?');
    expect(didYouMean('alowPii', 'allowPii')).toBe('did you mean "allowPii"?');
    // A swap in another case is a misspelling, not a case slip.
    expect(didYouMean('Form', 'from')).toBe('did you mean "from"?');
  });
});
