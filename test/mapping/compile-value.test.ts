import { describe, expect, it } from 'vitest';
import { compileValue, prune } from '../../src/mapping/compile-value.ts';
import type { Variables } from '../../src/mapping/paths.ts';
import { RuleFileSchema, type RuleValue } from '../../src/mapping/rule-schema.ts';

const vars: Variables = {
  student: 'urn:uuid:0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05',
  platformId: '0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05',
  edApp: 'urn:uuid:a5e0c6f2-1b7d-4c39-8e4a-6f2d9b1c3e70',
  sensor: 'site-1',
  sourceId: 'event-1',
};

const event = {
  generated: { id: 'https://x.example/post/1', maxScore: 0, extensions: { firstPost: true, threadId: '_1_1', secret: 's' } },
  object: { assignable: { maxScore: 160 }, flags: 'false', roles: ['Learner'], name: '', nothing: null },
  group: null,
  membership: { organization: { id: 'https://x.example/course/1', courseNumber: 'BIO-110' } },
};

/** Renders a value written in a rule file (checked by the schema first, as the loader does). */
function render(value: RuleValue): unknown {
  const parsed = RuleFileSchema.parse({
    rules: [{ id: 'r', match: { type: 'X' }, student: ['a'], output: { type: 'Event', action: 'Viewed', profile: 'GeneralProfile', object: value } }],
  });
  return compileValue(parsed.rules[0]!.output!.object!)(event, vars);
}

describe('values', () => {
  it('literals are taken as written; empty text is left out', () => {
    expect(render('Message')).toBe('Message');
    expect(render(3)).toBe(3);
    expect(render(false)).toBe(false);
    expect(render('')).toBeUndefined();
  });

  it('$variables are read from the gateway', () => {
    expect(render('$student')).toBe(vars.student);
    expect(render({ from: '$sensor' })).toBe('site-1');
  });

  it('lists drop items that come out empty, and an empty list is left out', () => {
    expect(render(['a', { from: 'object.missing' }, { from: 'object.roles[0]' }])).toEqual(['a', 'Learner']);
    expect(render([{ from: 'object.missing' }])).toBeUndefined();
  });

  it('from tries each path in order, after its transforms, until one yields a value', () => {
    expect(render({ from: ['generated.maxScore', 'object.assignable.maxScore'], transform: 'positive' })).toBe(160);
    expect(render({ from: ['group.id', 'membership.organization.id'] })).toBe('https://x.example/course/1');
    expect(render({ from: 'object.flags', transform: 'boolean' })).toBe(false);
    expect(render({ from: 'object.missing', transform: ['string', 'lowercase'] })).toBeUndefined();
  });

  it('from treats null, "" and empty collections as no value', () => {
    expect(render({ from: ['object.name', 'object.nothing', 'group', 'generated.id'] })).toBe('https://x.example/post/1');
  });

  it('default is used only when no path yields a value', () => {
    expect(render({ from: 'object.missing', default: 'Learner' })).toBe('Learner');
    expect(render({ from: 'object.roles[0]', default: 'Mentor' })).toBe('Learner');
  });

  it('pick keeps only the listed keys of an object (the extensions allow-list)', () => {
    expect(render({ from: 'generated.extensions', pick: ['firstPost', 'threadId', 'absent'] })).toEqual({ firstPost: true, threadId: '_1_1' });
    expect(render({ from: 'generated.extensions', pick: ['absent'] })).toBeUndefined();
  });

  it('map looks the value up last; a value not in the table comes out empty', () => {
    expect(render({ from: 'object.roles[0]', map: { Learner: 'Learner', Instructor: 'Instructor' } })).toBe('Learner');
    expect(render({ from: 'object.roles[0]', map: { Instructor: 'Instructor' } })).toBeUndefined();
    expect(render({ from: ['object.roles[0]', 'object.flags'], map: { false: 'No' } })).toBe('No');
  });

  it('const values are taken as written, with empties left out, and cannot be changed by later steps', () => {
    const value = render({ const: { type: 'SoftwareApplication', tags: [], name: null, nested: { keep: 1, drop: '' } } });
    expect(value).toEqual({ type: 'SoftwareApplication', nested: { keep: 1 } });
    expect(Object.isFrozen(value)).toBe(true);
    expect(render({ const: '$student' })).toBe('$student');
  });

  it('objects build their keys; one whose id comes out empty is left out whole', () => {
    expect(render({ id: { from: 'generated.id' }, type: 'Message', name: { from: 'object.name' } })).toEqual({ id: 'https://x.example/post/1', type: 'Message' });
    expect(render({ id: { from: 'object.missing' }, type: 'Message' })).toBeUndefined();
    expect(render({ type: { from: 'object.missing' } })).toBeUndefined();
  });

  it('values copied from the input leave out nulls and empties all the way down', () => {
    expect(render({ from: 'object' })).toEqual({ assignable: { maxScore: 160 }, flags: 'false', roles: ['Learner'] });
  });
});

describe('prune', () => {
  it('returns scalars as they are and undefined for empties', () => {
    expect(prune(0)).toBe(0);
    expect(prune(false)).toBe(false);
    expect(prune([null, '', [], {}])).toBeUndefined();
    expect(prune({ a: [{ b: null }] })).toBeUndefined();
  });

  it('never lets a "__proto__" key of the input become the copy\'s prototype', () => {
    // JSON.parse makes "__proto__" an own key; assigned to a fresh object it would set its
    // prototype, and the validator would then read type and id that are never sent.
    const pruned = prune(JSON.parse('{"a": 1, "__proto__": {"type": "DigitalResource", "polluted": true}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(pruned)).toBe(Object.prototype);
    expect(pruned.type).toBeUndefined();
    expect(pruned).toEqual({ a: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
