import { describe, expect, it } from 'vitest';
import { GatewayError } from '../src/errors.ts';
import { noQuery, singleQuery } from '../src/query-params.ts';
import { thrownBy } from './helpers/thrown.ts';

describe('singleQuery', () => {
  it('takes each name once, unknown names included, for the schema to judge', () => {
    expect(singleQuery({ outcome: ['found'], limit: ['5'], outcom: ['x'] }, ['outcome', 'limit'])).toEqual({ outcome: 'found', limit: '5', outcom: 'x' });
  });

  it('refuses a known name sent twice, naming it', () => {
    const error = thrownBy(GatewayError, () => singleQuery({ outcome: ['not-found', 'found'] }, ['outcome']));
    expect(error).toMatchObject({ status: 400, code: 'invalid-request', message: 'outcome: give it once (it was sent 2 times)' });
  });

  it('leaves an unknown name sent twice to the schema', () => {
    expect(singleQuery({ outcom: ['a', 'b'] }, ['outcome'])).toEqual({ outcom: 'a' });
  });
});

describe('noQuery', () => {
  it('takes a query without names', () => {
    expect(() => noQuery({}, 'this route takes none')).not.toThrow();
  });

  it('refuses any name, showing one that is not a plain word escaped', () => {
    expect(thrownBy(GatewayError, () => noQuery({ reason: ['http-400'] }, 'this route takes none'))).toMatchObject({
      status: 400,
      code: 'invalid-request',
      message: 'reason: unknown parameter; this route takes none',
    });
    expect(thrownBy(GatewayError, () => noQuery({ 'a\nb': [''] }, 'x')).message).toBe('["a\\nb"]: unknown parameter; x');
  });
});
