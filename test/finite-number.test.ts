import { describe, expect, it } from 'vitest';
import { finiteNumber } from '../src/finite-number.ts';

describe('finiteNumber', () => {
  it('reads Infinity as the largest finite number of its sign, so a bound can refuse it', () => {
    expect(finiteNumber(Number('9'.repeat(400)))).toBe(Number.MAX_VALUE);
    expect(finiteNumber(Number(`-${'9'.repeat(400)}`))).toBe(-Number.MAX_VALUE);
    expect(finiteNumber(JSON.parse('1e400') as number)).toBe(Number.MAX_VALUE);
  });

  it('leaves every other number as it is, NaN included', () => {
    for (const number of [0, -0, 1.5, -3, Number.MAX_SAFE_INTEGER + 2, Number.MAX_VALUE]) expect(finiteNumber(number)).toBe(number);
    expect(finiteNumber(Number.NaN)).toBeNaN();
  });
});
