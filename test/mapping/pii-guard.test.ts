import { describe, expect, it } from 'vitest';
import { findPii, MAX_PII_DEPTH } from '../../src/mapping/pii-guard.ts';
import type { PiiCategory } from '../../src/mapping/rule-schema.ts';

const none = new Set<PiiCategory>();
const only = (...categories: PiiCategory[]) => new Set<PiiCategory>(categories);

describe('the personal-data guard', () => {
  it('finds nothing in an event without personal data', () => {
    const event = {
      actor: 'urn:uuid:0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05',
      object: { id: 'https://x.example/forums/1', type: 'Forum', name: 'Week 3 @ home', version: '1.2.3' },
      extensions: { 'bb:user.externalId': 'lmartin07', courseNumber: 'BIO-110', note: 'email me later', host: 'x.example:443' },
    };
    expect(findPii(event, none)).toBeUndefined();
  });

  it.each([
    ['an e-mail address as a value', { extensions: { 'bb:user.externalId': 'lena.martin@school.example.edu' } }, 'email', 'extensions["bb:user.externalId"]'],
    ['a mailto: IRI', { object: { id: 'mailto:lena@school.example.edu' } }, 'email', 'object.id'],
    ['a urn:email: IRI', { actor: 'urn:email:lena@school.example.edu' }, 'email', 'actor'],
    ['a key named email', { object: { email: 'redacted' } }, 'email', 'object.email'],
    ['a person\'s name', { object: { assignee: { id: 'https://x.example/u', type: 'Person', name: 'Lena Martin' } } }, 'name', 'object.assignee.name'],
    ['a person\'s given name', { actor: { id: 'https://x.example/u', type: 'Person', givenName: 'Lena' } }, 'name', 'actor.givenName'],
    ['an ipAddress key', { object: { client: { ipAddress: 'unknown' } } }, 'ip-address', 'object.client.ipAddress'],
    ['Learn\'s IP header', { edApp: { extensions: { 'bb:request.headers.ipAddress': 'x' } } }, 'ip-address', 'edApp.extensions["bb:request.headers.ipAddress"]'],
    ['an IPv4 address as a value', { extensions: { origin: '203.0.113.9' } }, 'ip-address', 'extensions.origin'],
    ['an IPv6 address as a value', { extensions: { list: ['2001:db8::1'] } }, 'ip-address', 'extensions.list[0]'],
    ['a userAgent key', { object: { client: { userAgent: 'x' } } }, 'user-agent', 'object.client.userAgent'],
    ['Learn\'s user-agent header', { object: { extensions: { 'bb:request.headers.agent': 'Mozilla/5.0' } } }, 'user-agent', 'object.extensions["bb:request.headers.agent"]'],
    ['launch parameters', { object: { launchParameters: {} } }, 'lti-parameters', 'object.launchParameters'],
    ['message parameters', { federatedSession: { messageParameters: { a: 1 } } }, 'lti-parameters', 'federatedSession.messageParameters'],
    ['custom parameters', { object: { customParameters: {} } }, 'lti-parameters', 'object.customParameters'],
    ['an oauth_ key', { extensions: { oauth_signature: 'c2ln' } }, 'lti-parameters', 'extensions.oauth_signature'],
    ['a lis_person_ key', { extensions: { lis_person_sourcedid: 'lmartin07' } }, 'lti-parameters', 'extensions.lis_person_sourcedid'],
    // Extensions are free-form, and may nest deep.
    [
      'an address nested deep in extensions',
      { extensions: { a: { b: { c: { d: { e: { f: ['x', { g: 'lena@school.example.edu' }] } } } } } } },
      'email',
      'extensions.a.b.c.d.e.f[1].g',
    ],
  ])('finds %s', (_what, event, category, path) => {
    expect(findPii(event, none)).toEqual({ category, path });
  });

  it.each([
    ['lena@school.example', true],
    ['MAILTO:lena@x.example.edu', true],
    ['lena@localhost', false],
    ['lena@.example', false],
    ['lena@example.', false],
    ['lena@x..', true],
    ['@x.example', false],
    ['le na@x.example', false],
    ['lena@x/y.example', false],
    ['a@b.c@d.e', false],
  ])('reads %j as an e-mail address: %s', (text, isEmail) => {
    expect(findPii({ x: text }, none)).toEqual(isEmail ? { category: 'email', path: 'x' } : undefined);
  });

  it('reads long runs of dots in one pass', () => {
    // Where the domain's dot goes was ambiguous to the old pattern: the first two took it
    // about 20 s, a thing's name (object.name, written by a student) holding the event loop.
    const dots = '.'.repeat(200_000);
    expect(findPii({ object: { name: `a@${dots}@` } }, none)).toBeUndefined();
    expect(findPii({ object: { name: `a@${dots} ` } }, none)).toBeUndefined();
    expect(findPii({ object: { name: `a@b${dots}c` } }, none)).toEqual({ category: 'email', path: 'object.name' });
  });

  it('refuses what lies deeper than it looks, instead of letting it through unchecked', () => {
    const nested = (levels: number, leaf: unknown) => {
      let value = leaf;
      for (let i = 0; i < levels; i++) value = { a: value };
      return value;
    };
    // Objects MAX_PII_DEPTH levels below the event are the deepest it reads.
    expect(findPii(nested(MAX_PII_DEPTH + 1, 'lena@school.example.edu'), none)).toMatchObject({ category: 'email' });
    expect(findPii(nested(MAX_PII_DEPTH + 1, 'nothing personal'), none)).toBeUndefined();
    // One more level: not read, so refused whatever it holds.
    expect(findPii(nested(MAX_PII_DEPTH + 2, 'nothing personal'), none)).toEqual({ tooDeep: true, path: expect.stringMatching(/^a\.a\.a … \d+ more … a\.a\.a\.a\.a$/) });
    expect(findPii(nested(MAX_PII_DEPTH + 2, 'x'), only('email', 'ip-address', 'name', 'user-agent', 'lti-parameters'))).toBeUndefined();
  });

  it('names are personal only on a person', () => {
    expect(findPii({ object: { id: 'https://x.example/f', type: 'Forum', name: 'Week 3' } }, none)).toBeUndefined();
  });

  it('lets through exactly the categories a rule allows', () => {
    const event = { extensions: { email: 'lena@school.example.edu', agent: { userAgent: 'Mozilla/5.0' } } };
    expect(findPii(event, only('email'))).toEqual({ category: 'user-agent', path: 'extensions.agent.userAgent' });
    expect(findPii(event, only('email', 'user-agent'))).toBeUndefined();
    expect(findPii({ object: { type: 'Person', name: 'Lena' } }, only('name'))).toBeUndefined();
    expect(findPii({ x: '203.0.113.9' }, only('email', 'name', 'user-agent', 'lti-parameters'))).toEqual({ category: 'ip-address', path: 'x' });
    expect(findPii({ x: '203.0.113.9', launchParameters: {} }, only('email', 'name', 'ip-address', 'user-agent', 'lti-parameters'))).toBeUndefined();
  });
});
