/**
 * The personal-data guard on an output's keys: a rule that copies an object whole copies its
 * keys too, and a sender's map keyed by students (`{ "s1234567": 92 }`) names them there.
 */
import { describe, expect, it } from 'vitest';
import { findPii } from '../../src/mapping/pii-guard.ts';
import type { PiiCategory } from '../../src/mapping/rule-schema.ts';

const none = new Set<PiiCategory>();
const input = {
  actor: {
    type: 'Person',
    name: 'Lena Martin',
    id: 'https://learn.example/v1/sites/s1/users/aa11bb22cc33dd44ee55ff6677889900',
    extensions: { 'bb:user.externalId': 's1234567' },
  },
};
const check = (copied: Record<string, unknown>, allowed = none) =>
  findPii({ object: { id: 'https://learn.example/x', type: 'Document', extensions: { copied } } }, allowed, { event: input, studentId: 's1234567', own: [] });

describe('the personal-data guard, on keys', () => {
  it.each([
    ["the student's batch_uid", { s1234567: 92 }, 'user-id'],
    ["the student's batch_uid, inside a longer key", { 'notes-for-s1234567': 'x' }, 'user-id'],
    ["the student's name", { 'Lena Martin': 'A' }, 'name'],
    ['an e-mail address', { 'kpatel22@school.example.edu': true }, 'email'],
    ['an IP address', { '198.51.100.7': 1 }, 'ip-address'],
  ])('finds %s as a key, naming the object that holds it, not the key', (_what, copied, category) => {
    expect(check(copied)).toMatchObject({ category, path: 'object.extensions.copied' });
  });

  it('lets through keys that name no one, and what the rule allows', () => {
    expect(check({ scoreGiven: 1, 'bb:canary': 2, extensions: { maxScore: 3 } })).toBeUndefined();
    expect(check({ s1234567: 92 }, new Set<PiiCategory>(['user-id']))).toBeUndefined();
  });
});
