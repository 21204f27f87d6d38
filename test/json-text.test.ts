import { describe, expect, it } from 'vitest';
import { escapeUnshown, jsonText } from '../src/json-text.ts';
import { firstUnshown, UNSHOWN_SAMPLE } from './helpers/unshown.ts';

describe('jsonText', () => {
  it('escapes each code point a terminal does not show as written, as \\uXXXX, and parses to the same value', () => {
    for (const char of UNSHOWN_SAMPLE) {
      const value = { [`key${char}`]: [`a${char}b`, char] };
      const text = jsonText(value);
      expect(firstUnshown(text)).toBeUndefined();
      expect(text).toContain(`\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
      expect(JSON.parse(text)).toEqual(value);
    }
  });

  it('escapes DEL too, which JSON.stringify also leaves raw', () => {
    expect(jsonText('a\u007fb')).toBe('"a\\u007fb"');
  });

  it('leaves other text as JSON.stringify writes it: printable non-ASCII, emoji, escaped controls', () => {
    const value = { name: 'Zoë 山田 😀', tab: '\t', nul: '\u0000', quote: '"\\', zwj: '\u200d', nbsp: '\u00a0' };
    expect(jsonText(value)).toBe(JSON.stringify(value));
  });
});

describe('escapeUnshown', () => {
  it('returns text without such code points unchanged', () => {
    const text = JSON.stringify({ ok: true, id: 'urn:uuid:1' });
    expect(escapeUnshown(text)).toBe(text);
  });

  it('escapes every occurrence, not only the first', () => {
    expect(escapeUnshown('"\u202e\u202e\u2066"')).toBe('"\\u202e\\u202e\\u2066"');
  });
});
