import { describe, expect, it } from 'vitest';
import { jsonDiff } from '../../src/mapping/json-diff.ts';

describe('jsonDiff', () => {
  it('finds no difference between equal values, however nested', () => {
    const value = { a: [1, { b: null, c: 'x' }], d: { e: [] }, f: true };
    expect(jsonDiff(value, structuredClone(value))).toEqual([]);
    expect(jsonDiff(null, null)).toEqual([]);
  });

  it('ignores the order of properties', () => {
    expect(jsonDiff({ a: 1, b: 2 }, { b: 2, a: 1 })).toEqual([]);
  });

  it('names each changed property by its path', () => {
    const expected = { event: { object: { type: 'Thread', tags: ['a', 'b'] }, extensions: { 'bb:course.id': '_1_1' } } };
    const actual = { event: { object: { type: 'Message', tags: ['a', 'c'] }, extensions: { 'bb:course.id': '_2_1' } } };
    expect(jsonDiff(expected, actual)).toEqual([
      'event.object.type: expected "Thread", got "Message"',
      'event.object.tags[1]: expected "b", got "c"',
      'event.extensions["bb:course.id"]: expected "_1_1", got "_2_1"',
    ]);
  });

  it('says "nothing" for a property or list item on one side only', () => {
    expect(jsonDiff({ a: 1 }, { b: true })).toEqual(['a: expected 1, got nothing', 'b: expected nothing, got true']);
    expect(jsonDiff([1], [1, { x: 2 }])).toEqual(['[1]: expected nothing, got {"x":2}']);
    expect(jsonDiff([1, 2, 3], [1])).toEqual(['[1]: expected 2, got nothing', '[2]: expected 3, got nothing']);
  });

  it('tells a null apart from a missing property, and a list from an object', () => {
    expect(jsonDiff({ a: null }, {})).toEqual(['a: expected null, got nothing']);
    expect(jsonDiff({ a: [] }, { a: {} })).toEqual(['a: expected [], got {}']);
    expect(jsonDiff({ a: 1 }, { a: '1' })).toEqual(['a: expected 1, got "1"']);
  });

  it('shows a difference at the top as (root)', () => {
    expect(jsonDiff('a', 'b')).toEqual(['(root): expected "a", got "b"']);
    expect(jsonDiff([], {})).toEqual(['(root): expected [], got {}']);
  });

  it('cuts a long value to 100 characters', () => {
    const [line] = jsonDiff({ a: 'x'.repeat(500) }, { a: 'y' });
    expect(line).toBe(`a: expected "${'x'.repeat(96)}…, got "y"`);
  });

  // check-mappings writes the line as UTF-8: half an emoji would come out as U+FFFD.
  it('never cuts a value between the halves of an emoji', () => {
    // The JSON text's 97th UTF-16 unit, the last kept, is the first half of an emoji.
    const [line] = jsonDiff({ a: `${'x'.repeat(95)}${'😀'.repeat(10)}` }, { a: 'y' }, { maxChars: 100 });
    expect(line).toBe(`a: expected "${'x'.repeat(95)}…, got "y"`);
    const [whole] = jsonDiff({ a: `${'x'.repeat(94)}${'😀'.repeat(10)}` }, { a: 'y' });
    expect(whole).toBe(`a: expected "${'x'.repeat(94)}😀…, got "y"`);
  });

  it('stops at the limit and counts the rest', () => {
    const expected = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`k${i}`, i]));
    const lines = jsonDiff(expected, {});
    expect(lines).toHaveLength(21);
    expect(lines[19]).toBe('k19: expected 19, got nothing');
    expect(lines[20]).toBe('… and 5 more differences');
    expect(jsonDiff({ a: 1, b: 2 }, {}, 1)).toEqual(['a: expected 1, got nothing', '… and 1 more difference']);
  });

  // check-mappings prints these lines: a bidi override in a fixture's value must not reorder them.
  it('escapes what a terminal would not show as written', () => {
    expect(jsonDiff({ name: 'a\u202eb' }, { name: 'a\u0085b' })).toEqual(['name: expected "a\\u202eb", got "a\\u0085b"']);
  });
});
