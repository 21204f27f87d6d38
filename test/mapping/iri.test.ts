import { describe, expect, it } from 'vitest';
import { isHttpsUrl, isTimebackIri, isUrnUuid, toTimebackIri, toUrlIri, toUrnUuid } from '../../src/mapping/iri.ts';

const UUID = '0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05';

describe('isUrnUuid', () => {
  it('accepts only the lowercase form TimeBack asks for', () => {
    expect(isUrnUuid(`urn:uuid:${UUID}`)).toBe(true);
    expect(isUrnUuid(`urn:uuid:${UUID.toUpperCase()}`)).toBe(false);
    expect(isUrnUuid(`URN:UUID:${UUID}`)).toBe(false);
    expect(isUrnUuid(UUID)).toBe(false);
    expect(isUrnUuid(`urn:uuid:${UUID}x`)).toBe(false);
    expect(isUrnUuid(`urn:uuid:${UUID.replaceAll('-', '')}`)).toBe(false);
  });
});

describe('isHttpsUrl', () => {
  it.each(['https://a', 'https://learn.school.test/courses/_12_1?x=1#top', 'https://host:8443/'])('accepts %j', (text) => {
    expect(isHttpsUrl(text)).toBe(true);
  });

  it.each([
    ['plain http', 'http://learn.school.test/'],
    ['an upper-case scheme', 'HTTPS://learn.school.test/'],
    ['no host', 'https://'],
    ['no host before the path', 'https:///path'],
    ['credentials in the host', 'https://user:pass@learn.school.test/'],
    ['a space', 'https://learn.school.test/a b'],
    ['a newline', 'https://learn.school.test/\n'],
    ['a control character', 'https://learn.school.test/a\u0001b'],
    ['DEL', 'https://learn.school.test/a\u007fb'],
    ['a C1 control', 'https://learn.school.test/a\u0085b'],
    ['a bidi override (RFC 3987 §4.1)', 'https://learn.school.test/\u202etxt.exe'],
    ['a bidi mark in the host', 'https://learn\u200f.school.test/'],
    ['a bidi isolate', 'https://learn.school.test/?q=\u2066x\u2069'],
    ['a relative path', '/courses/1'],
  ])('refuses %s', (_what, text) => {
    expect(isHttpsUrl(text)).toBe(false);
  });
});

describe('isTimebackIri', () => {
  it('accepts urn:uuid, https and urn:email ids, and nothing else', () => {
    expect(isTimebackIri(`urn:uuid:${UUID}`)).toBe(true);
    expect(isTimebackIri('https://learn.school.test/x')).toBe(true);
    expect(isTimebackIri('urn:email:ada@school.test')).toBe(true);
    expect(isTimebackIri('urn:email:ada')).toBe(false);
    expect(isTimebackIri('urn:email:ada @school.test')).toBe(false);
    expect(isTimebackIri('urn:email:ada\u202e@school.test')).toBe(false);
    expect(isTimebackIri('mailto:ada@school.test')).toBe(false);
    expect(isTimebackIri('_12345_1')).toBe(false);
    expect(isTimebackIri('')).toBe(false);
  });
});

describe('toUrnUuid', () => {
  it('turns a bare UUID or any-case urn:uuid into the lowercase urn', () => {
    const wanted = `urn:uuid:${UUID}`;
    expect(toUrnUuid(UUID)).toBe(wanted);
    expect(toUrnUuid(UUID.toUpperCase())).toBe(wanted);
    expect(toUrnUuid(`URN:UUID:${UUID.toUpperCase()}`)).toBe(wanted);
    expect(toUrnUuid(`  urn:uuid:${UUID}\t`)).toBe(wanted);
  });

  it.each(['urn:uuid:', 'urn:uuid:not-a-uuid', `${UUID}0`, UUID.replaceAll('-', ''), `{${UUID}}`, ''])('refuses %j', (text) => {
    expect(toUrnUuid(text)).toBeUndefined();
  });
});

describe('toTimebackIri', () => {
  it('keeps https URLs as they are and lowercases urn:uuid ids', () => {
    expect(toTimebackIri('https://learn.school.test/Courses/A')).toBe('https://learn.school.test/Courses/A');
    expect(toTimebackIri(`Urn:Uuid:${UUID.toUpperCase()}`)).toBe(`urn:uuid:${UUID}`);
  });

  it('drops e-mail ids, bare UUIDs, http and anything else', () => {
    expect(toTimebackIri('urn:email:ada@school.test')).toBeUndefined();
    expect(toTimebackIri(UUID)).toBeUndefined();
    expect(toTimebackIri('http://learn.school.test/')).toBeUndefined();
    expect(toTimebackIri('urn:uuid:nope')).toBeUndefined();
    expect(toTimebackIri('_12345_1')).toBeUndefined();
  });
});

describe('toUrlIri', () => {
  it('keeps an https URL as it is', () => {
    expect(toUrlIri('https://tool.example.edu/launch')).toBe('https://tool.example.edu/launch');
  });

  it('names an http URL by its UUID v5 in the URL namespace (RFC 9562)', () => {
    // Python's uuid.uuid5(uuid.NAMESPACE_URL, 'http://tool.example.edu/launch?x=1') agrees.
    expect(toUrlIri('http://tool.example.edu/launch?x=1')).toBe('urn:uuid:a8170563-70e5-5164-b221-a1b1e0555043');
    expect(toUrlIri('http://tool.example.edu/launch?x=2')).not.toBe(toUrlIri('http://tool.example.edu/launch?x=1'));
  });

  it.each(['ftp://tool.example.edu/', 'http://', 'http://a b/', 'tool.example.edu/launch', `urn:uuid:${UUID}`])('gives nothing for %j', (text) => {
    expect(toUrlIri(text)).toBeUndefined();
  });
});
