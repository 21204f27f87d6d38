import { describe, expect, it } from 'vitest';
import { describeJsonSyntaxError, findJsonSyntaxError } from '../../src/ingest/json-syntax.ts';
import { prng } from '../../src/dev/synthetic-events.ts';

describe('findJsonSyntaxError', () => {
  it('finds nothing wrong in any text JSON.parse accepts', () => {
    const valid = [
      '{}',
      '[]',
      ' {"a": [1, -2.5e+3, 0, 0.1, true, false, null, "x\\"y\\\\", "\\u00e9\\n"]} ',
      '"just a string"',
      '-0',
      '{"data":[{"data":[]}],"data":{}}',
      '\n[\r\n\t1\n]\n',
    ];
    for (const text of valid) {
      JSON.parse(text);
      expect(findJsonSyntaxError(text)).toBeUndefined();
    }
  });

  it.each([
    ['', 1, 1, '(root)', 'the body is empty'],
    ['{"a":1', 1, 7, 'a', 'expected "," or "}" after a property value, found the end of the body'],
    ['{"a":}', 1, 6, 'a', 'expected a value, found "}"'],
    ['[1,2,]', 1, 6, '[2]', 'expected a value, found "]" (remove the trailing comma)'],
    ['{"a":1,}', 1, 8, 'a', 'expected a property name in double quotes, found "}" (remove the trailing comma)'],
    ["{'a':1}", 1, 2, '(root)', "expected a property name in double quotes, found \"'\""],
    ['{"a":\'x\'}', 1, 6, 'a', 'expected a value, found "\'" (strings take double quotes)'],
    ['{"a" 1}', 1, 6, 'a', 'expected ":" after the property name, found "1"'],
    ['{"a":"x\ny"}', 1, 8, 'a', 'control character inside a string (write it escaped, e.g. \\n)'],
    ['{"a":"\\x"}', 1, 7, 'a', 'invalid escape "\\\\x" in a string'],
    ['{"a":"\\u12G4"}', 1, 7, 'a', '\\u must be followed by four hex digits'],
    ['{"a":"open', 1, 6, 'a', 'this string is never closed (missing ")'],
    ['{"a":01}', 1, 6, 'a', 'invalid number: leading zeros are not allowed'],
    ['{"a":1.}', 1, 8, 'a', 'invalid number: expected a digit after ".", found "}"'],
    ['{"a":-}', 1, 7, 'a', 'invalid number: expected a digit after "-", found "}"'],
    ['{"a":tru}', 1, 6, 'a', 'expected a value, found "t"'],
    ['{} {}', 1, 4, '(root)', 'unexpected "{" after the end of the JSON value'],
    ['{"a":1}\u00a0', 1, 8, '(root)', 'unexpected "\u00a0" (U+00A0) after the end of the JSON value'],
    ['{\n  "data": [\n    {"id": 1}\n    {"id": 2}\n  ]\n}', 4, 5, 'data[0]', 'expected "," or "]" after an array element, found "{"'],
    ['{"d\\u0061ta": [{"actor": {"id" "x"}}]}', 1, 32, 'data[0].actor.id', 'expected ":" after the property name, found """'],
    ['{"bb:user.id": [1 2]}', 1, 19, '["bb:user.id"][0]', 'expected "," or "]" after an array element, found "2"'],
  ])('%j: line %i, column %i, at %s: %s', (text, line, column, path, problem) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(findJsonSyntaxError(text)).toEqual({ line, column, path, problem });
  });

  it('agrees with JSON.parse on thousands of mutated documents', () => {
    // Deterministic: a fixed-seed generator, so a failure reproduces.
    // mulberry32: the LCG this used lost its low bits past 2 ** 53 and cycled every 10,466
    // draws, so of the 3,000 documents only 2,157 differed.
    const random = prng(12345);
    const base = JSON.stringify({ sensor: 's', data: [{ id: 'e\u00e9"1', n: [1, -2.5e3, true, null], o: { 'k.k': 'v\n' } }] }, null, 1);
    const alphabet = ['{', '}', '[', ']', ',', ':', '"', '\\', ' ', '\n', '0', '1', '-', '.', 'e', 't', 'n', 'u', 'x', '\u0001'];
    for (let round = 0; round < 3000; round++) {
      let text = base;
      for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
        const at = Math.floor(random() * text.length);
        const char = alphabet[Math.floor(random() * alphabet.length)]!;
        const kind = random();
        text = kind < 0.33 ? text.slice(0, at) + text.slice(at + 1) : kind < 0.66 ? text.slice(0, at) + char + text.slice(at) : text.slice(0, at) + char + text.slice(at + 1);
      }
      let parses = true;
      try {
        JSON.parse(text);
      } catch {
        parses = false;
      }
      expect(findJsonSyntaxError(text) === undefined, text).toBe(parses);
    }
  });

  it('handles nesting deeper than any call stack', () => {
    const text = '['.repeat(200_000) + ']'.repeat(199_999);
    expect(findJsonSyntaxError(text)).toMatchObject({ problem: 'expected "," or "]" after an array element, found the end of the body' });
  });
});

describe('describeJsonSyntaxError', () => {
  it('is one sentence with the path, line and column', () => {
    expect(describeJsonSyntaxError('{"data": [1, 2,, 3]}', 'fallback')).toBe(
      'The body is not valid JSON in data[2] (line 1, column 16): expected a value, found ","',
    );
  });

  it('falls back to the parser message if it finds nothing', () => {
    expect(describeJsonSyntaxError('{}', 'Unexpected token')).toBe('The body is not valid JSON: Unexpected token');
  });
});
