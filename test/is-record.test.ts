import { describe, expect, it } from 'vitest';
import { isRecord } from '../src/is-record.ts';

describe('isRecord', () => {
  it('takes a JSON object, empty or not', () => {
    expect(isRecord({})).toBe(true);
    expect(isRecord({ data: [] })).toBe(true);
  });

  it('refuses null, lists and scalars', () => {
    for (const value of [null, undefined, [], [{}], 'text', 3, true]) expect(isRecord(value)).toBe(false);
  });
});
