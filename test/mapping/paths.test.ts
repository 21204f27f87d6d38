import { describe, expect, it } from 'vitest';
import { compilePath, hasValue, parsePath, PathSyntaxError, type Variables } from '../../src/mapping/paths.ts';

const vars: Variables = {
  student: 'urn:uuid:0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05',
  platformId: '0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05',
  edApp: 'urn:uuid:a5e0c6f2-1b7d-4c39-8e4a-6f2d9b1c3e70',
  sensor: 'site-1',
  sourceId: 'event-1',
};

const read = (path: string, event: unknown) => compilePath(path, { allowVariables: true }).read(event, vars);

describe('parsePath', () => {
  it('splits dotted keys, quoted keys and list indexes', () => {
    expect(parsePath('object.assignable.maxScore')).toEqual(['object', 'assignable', 'maxScore']);
    expect(parsePath('actor.extensions["bb:user.externalId"]')).toEqual(['actor', 'extensions', 'bb:user.externalId']);
    expect(parsePath("actor.extensions['bb:user.id']")).toEqual(['actor', 'extensions', 'bb:user.id']);
    expect(parsePath('membership.roles[0]')).toEqual(['membership', 'roles', 0]);
    expect(parsePath('["@context"][1]')).toEqual(['@context', 1]);
    expect(parsePath('a["say \\"hi\\""]')).toEqual(['a', 'say "hi"']);
  });

  it('refuses keys with dots or colons outside quotes, naming the fix', () => {
    expect(() => parsePath('actor.extensions.bb:user.externalId')).toThrow(PathSyntaxError);
    expect(() => parsePath('actor.extensions.bb:user.externalId')).toThrow(/brackets and quotes, like extensions\["bb:user.externalId"\]/);
  });

  it.each([
    ['', /empty/],
    ['a.', /a key is missing at the end/],
    ['a..b', /unexpected "\."/],
    ['a[x]', /brackets hold a list index/],
    ['a["b"', /expected "\]"/],
    ['a["b', /no closing "/],
    [' a', /leading or trailing spaces/],
    ['a[""]', /an empty key/],
    ['$student', /variables are/],
  ])('refuses %j', (path, message) => {
    expect(() => parsePath(path)).toThrow(message);
  });
});

describe('compilePath', () => {
  const event = {
    actor: { extensions: { 'bb:user.externalId': 'lmartin07', bb: { 'user.externalId': 'wrong' } } },
    object: { isPartOf: 'https://school.example.edu/forums/1', assignable: { id: 'https://x.example/a/1' } },
    membership: { roles: ['Learner', 'Mentor'] },
  };

  it('reads a literal dotted key, never a nested one', () => {
    expect(read('actor.extensions["bb:user.externalId"]', event)).toBe('lmartin07');
  });

  it('indexes lists', () => {
    expect(read('membership.roles[1]', event)).toBe('Mentor');
    expect(read('membership.roles[5]', event)).toBeUndefined();
    expect(read('membership.roles.length', event)).toBeUndefined();
  });

  it('reads id from an entity written as its IRI, and from an entity object', () => {
    expect(read('object.isPartOf.id', event)).toBe('https://school.example.edu/forums/1');
    expect(read('object.assignable.id', event)).toBe('https://x.example/a/1');
    expect(read('object.isPartOf.name', event)).toBeUndefined();
  });

  it('answers undefined for missing keys, non-objects and inherited properties', () => {
    expect(read('object.nothing.here', event)).toBeUndefined();
    expect(read('actor.extensions["bb:user.externalId"].x', event)).toBeUndefined();
    expect(read('object.constructor', event)).toBeUndefined();
    expect(read('toString', event)).toBeUndefined();
    expect(read('__proto__', event)).toBeUndefined();
    expect(read('object["__proto__"].hasOwnProperty', event)).toBeUndefined();
    // JSON.parse makes "__proto__" an ordinary key: read as the data it is.
    expect(read('object["__proto__"].x', JSON.parse('{"object": {"__proto__": {"x": 1}}}'))).toBe(1);
    expect(read('a', null)).toBeUndefined();
    expect(read('a', 'text')).toBeUndefined();
  });

  it('reads the gateway variables', () => {
    expect(read('$student', event)).toBe(vars.student);
    expect(read('$platformId', event)).toBe(vars.platformId);
    expect(read('$edApp', event)).toBe(vars.edApp);
    expect(read('$sensor', event)).toBe('site-1');
    expect(read('$sourceId', event)).toBe('event-1');
  });

  it('refuses unknown variables, and variables where only input paths make sense', () => {
    expect(() => compilePath('$teacher', { allowVariables: true })).toThrow(/unknown variable "\$teacher"/);
    expect(() => compilePath('$student', { allowVariables: false })).toThrow(/variables cannot be used here/);
  });
});

describe('path messages', () => {
  // A rule's text reaches check-mappings' output: escaped where a terminal would not show it, and cut.
  it('quote the path escaped and bounded', () => {
    expect(() => parsePath('a\u202e')).toThrow('bad path "a\\u202e": unexpected "\\u202e" at position 2');
    expect(() => compilePath('$teach\u0085er', { allowVariables: true })).toThrow('unknown variable "$teach\\u0085er": variables are');
    const long = `${'a'.repeat(300)}:`;
    expect(() => parsePath(long)).toThrow(`bad path "${'a'.repeat(100)}"… (301 characters): keys containing dots`);
  });
});

describe('hasValue', () => {
  it('treats missing, null, "", [] and {} as no value', () => {
    for (const empty of [undefined, null, '', [], {}]) expect(hasValue(empty)).toBe(false);
    for (const present of [0, false, 'x', [0], { a: 1 }]) expect(hasValue(present)).toBe(true);
  });

  it('treats blank text, and a list of nothing but empties, as no value: [""] names no role', () => {
    for (const empty of [' ', '\t\n', [''], [' ', null], [[], {}]]) expect(hasValue(empty)).toBe(false);
    for (const present of [' x ', ['', 'Learner'], [false]]) expect(hasValue(present)).toBe(true);
  });

  it('treats text of nothing but commas and spaces as no value: a comma-separated list of blank items', () => {
    for (const empty of [',', ' , ', ',,\n', [' , '], ['', ','], [[','], {}]]) expect(hasValue(empty)).toBe(false);
    for (const present of ['x,', ' , x', [',', 'Learner']]) expect(hasValue(present)).toBe(true);
  });
});
