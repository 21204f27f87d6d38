/**
 * The personal-data guard against percent-encoded text: an e-mail-style batch_uid in an IRI's
 * path is written with `%40` for its `@`, and a rule that copies such an IRI copies the student.
 */
import { describe, expect, it } from 'vitest';
import { findPii } from '../../src/mapping/pii-guard.ts';
import type { PiiCategory } from '../../src/mapping/rule-schema.ts';

const none = new Set<PiiCategory>();
const student = 'urn:uuid:0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05';

function input(externalId: string) {
  return {
    id: '9a1b2c3d-4e5f-4a6b-8c7d-000000000001',
    actor: {
      id: 'https://learn.example/v1/sites/s1/users/aa11bb22cc33dd44ee55ff6677889900',
      type: 'Person',
      extensions: { 'bb:user.id': '_501_1', 'bb:user.externalId': externalId },
    },
  };
}

const output = (id: string) => ({ actor: student, object: { id, type: 'Document', name: 'Quiz 2' } });
const check = (externalId: string, id: string) => findPii(output(id), none, { event: input(externalId), studentId: externalId, own: [student] });

describe('the personal-data guard, on percent-encoded text', () => {
  it.each([
    ['an e-mail batch_uid with its @ encoded, in a path', 'lena.martin@school.example.edu', 'https://portal.example.org/people/lena.martin%40school.example.edu/home'],
    ['an e-mail batch_uid with its @ encoded, inside a query value', 'lena.martin@school.example.edu', 'https://portal.example.org/people?u=student:lena.martin%40school.example.edu'],
    ['a batch_uid encoded whole', 's1234567', 'https://portal.example.org/people/%73%31%32%33%34%35%36%37/home'],
    ['a batch_uid with a space, encoded', 'lena martin 07', 'https://portal.example.org/people/lena%20martin%2007'],
  ])('finds %s', (_what, externalId, id) => {
    expect(check(externalId, id)).toEqual({ category: 'user-id', path: 'object.id', source: 'actor.extensions["bb:user.externalId"]' });
  });

  it('finds an encoded e-mail address by its shape', () => {
    expect(findPii({ extensions: { contact: 'lena.martin%40school.example.edu' } }, none)).toEqual({ category: 'email', path: 'extensions.contact' });
  });

  it('lets through encoded text that names no one, and text whose escapes are broken', () => {
    expect(check('s1234567', 'https://portal.example.org/search?q=biology%20110&page=%E2%82%AC')).toBeUndefined();
    expect(check('s1234567', 'https://portal.example.org/a%ZZb/%E2%82/c%')).toBeUndefined();
    // Text the rule writes itself is the rule's, encoded or not (a room named like a student).
    const rooms = findPii(output('https://portal.example.org/rooms/Lena%20Martin%20Hall'), none, {
      event: { actor: { type: 'Person', name: 'Lena Martin Hall', extensions: { 'bb:user.externalId': 's1234567' } } },
      studentId: 's1234567',
      own: [student],
      constants: new Set(['https://portal.example.org/rooms/Lena%20Martin%20Hall']),
    });
    expect(rooms).toBeUndefined();
  });
});
