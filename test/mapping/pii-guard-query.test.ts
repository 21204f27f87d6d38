/**
 * The personal-data guard on an IRI's query string: a launch URL copied whole carries the
 * student's e-mail address and name as LTI launch parameters (Learn's launchUrl does), which
 * no rule may send unless it allows them.
 */
import { describe, expect, it } from 'vitest';
import { findPii } from '../../src/mapping/pii-guard.ts';
import type { PiiCategory } from '../../src/mapping/rule-schema.ts';

const none = new Set<PiiCategory>();
const at = (url: string, allowed = none) => findPii({ object: { id: url, type: 'SoftwareApplication' } }, allowed);

describe('the personal-data guard, on query strings', () => {
  it.each([
    ['an LTI parameter naming the person', 'https://tool.example.org/launch?lesson=2&lis_person_contact_email_primary=lena.martin%40school.example.edu', 'lti-parameters'],
    ['an LTI signature', 'https://tool.example.org/launch?oauth_signature=c2lnbmF0dXJl', 'lti-parameters'],
    ['an e-mail address as a value', 'https://tool.example.org/launch?contact=lena.martin@school.example.edu', 'email'],
    ['an e-mail address, encoded', 'https://tool.example.org/launch?u=lena.martin%40school.example.edu#top', 'email'],
    ['a parameter named email', 'https://tool.example.org/launch?Email=x', 'email'],
    ['an IP address as a value', 'https://tool.example.org/launch?from=198.51.100.7', 'ip-address'],
    ['a parameter named ipAddress', 'https://tool.example.org/launch?ipAddress=x', 'ip-address'],
  ])('finds %s', (_what, url, category) => {
    expect(at(url)).toEqual({ category, path: 'object.id' });
  });

  it('lets through a query that names no one, and what the rule allows', () => {
    expect(at('https://tool.example.org/launch?lesson=vectors-2&course=BIO-110&page=%E2%82%AC&q=a+b')).toBeUndefined();
    expect(at('https://tool.example.org/launch?a&&=x&b=%ZZ')).toBeUndefined();
    // A title's question mark starts no query.
    expect(findPii({ object: { name: 'Why? email=me first' } }, none)).toBeUndefined();
    expect(at('https://tool.example.org/launch?contact=lena.martin@school.example.edu', new Set<PiiCategory>(['email']))).toBeUndefined();
    expect(at('https://tool.example.org/launch?lis_person_name_full=Lena', new Set<PiiCategory>(['lti-parameters']))).toBeUndefined();
  });
});
