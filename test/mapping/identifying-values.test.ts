import { describe, expect, it } from 'vitest';
import { collectIdentifying, identifyingKey, locateIdentifying } from '../../src/mapping/identifying-values.ts';

const both = new Set(['user-id', 'name'] as const);

describe('identifyingKey', () => {
  it.each([
    ['s1234567', 's1234567'],
    ['  S1234567\n\n', 's1234567'],
    ['aa11bb22cc33dd44ee55ff6677889900', 'aa11bb22-cc33-dd44-ee55-ff6677889900'],
    ['AA11BB22-CC33-DD44-EE55-FF6677889900', 'aa11bb22-cc33-dd44-ee55-ff6677889900'],
    ['urn:uuid:aa11bb22-cc33-dd44-ee55-ff6677889900', 'aa11bb22-cc33-dd44-ee55-ff6677889900'],
    ['urn:uuid:aa11bb22cc33dd44ee55ff6677889900', 'aa11bb22-cc33-dd44-ee55-ff6677889900'],
    // 32 characters that are not all hex stay as they are.
    ['zz11bb22cc33dd44ee55ff6677889900', 'zz11bb22cc33dd44ee55ff6677889900'],
  ])('compares %j as %j', (text, key) => {
    expect(identifyingKey(text)).toBe(key);
  });

  it.each(['', 'ab', '_9_1', ' Lena ', 'true', 'FALSE'])('never counts %j', (text) => {
    expect(identifyingKey(text)).toBeUndefined();
  });
});

describe('collectIdentifying', () => {
  it("collects the people an event names, and what the gateway sends for the student is not among them", () => {
    const input = {
      actor: { id: 'https://l.example/users/aa11bb22cc33dd44ee55ff6677889900', type: 'Person', name: 'Lena Martin', extensions: { 'bb:user.externalId': 'lmartin07' } },
      object: { id: 'https://l.example/courses/c1', type: 'CourseOffering', courseNumber: 'BIO-110', name: 'Biology' },
      membership: { member: 'https://l.example/users/bb22cc33dd44ee55ff66778899001122', roles: ['Learner'] },
    };
    const found = collectIdentifying(input, both, 'lmartin07', ['urn:uuid:bb22cc33-dd44-ee55-ff66-778899001122']);
    expect(found).toEqual(
      new Map([
        ['https://l.example/users/aa11bb22cc33dd44ee55ff6677889900', 'user-id'],
        ['aa11bb22-cc33-dd44-ee55-ff6677889900', 'user-id'],
        ['lena martin', 'name'],
        ['lmartin07', 'user-id'],
        ['https://l.example/users/bb22cc33dd44ee55ff66778899001122', 'user-id'],
      ]),
    );
    expect(collectIdentifying(input, new Set(['name'] as const), 'lmartin07', [])).toEqual(new Map([['lena martin', 'name']]));
    expect(collectIdentifying({ object: { id: 'https://l.example/x', type: 'Document' } }, both, undefined, [])).toBeUndefined();
  });

  it('stops at a depth hostile input cannot push it past', () => {
    let deep: unknown = { type: 'Person', id: 'https://l.example/users/deep-down' };
    for (let i = 0; i < 10_000; i++) deep = { inner: deep };
    expect(collectIdentifying(deep, both, undefined, [])).toBeUndefined();
  });
});

describe('locateIdentifying', () => {
  const input = {
    actor: { id: 'https://l.example/users/1', type: 'Person', extensions: { 'bb:user.externalId': 'ALG-2025' } },
    group: { id: 'https://l.example/courses/1', type: 'CourseOffering', courseNumber: 'alg-2025' },
  };

  it('names where the input identifies someone by the value, and whether it holds it elsewhere too', () => {
    expect(locateIdentifying(input, 'alg-2025', false)).toEqual({ path: ['actor', 'extensions', 'bb:user.externalId'], elsewhere: true });
    expect(locateIdentifying({ actor: input.actor }, 'alg-2025', false)).toEqual({ path: ['actor', 'extensions', 'bb:user.externalId'], elsewhere: false });
  });
});
