import { describe, expect, it } from 'vitest';
import { locateEnvelopeData, locateEventSlices } from '../../src/ingest/event-slices.ts';
import { prng } from '../../src/dev/synthetic-events.ts';

/** The scanner works on the UTF-8 bytes; the slices are compared as text. */
const locate = (text: string, expected: number) => locateEventSlices(Buffer.from(text), expected);
const slicesOf = (text: string, expected: number) => {
  const bytes = Buffer.from(text);
  const offsets = locateEventSlices(bytes, expected);
  if (!offsets) return undefined;
  return Array.from({ length: expected }, (_, i) => bytes.toString('utf8', offsets[2 * i], offsets[2 * i + 1]));
};

describe('locateEventSlices', () => {
  it('returns each element of data exactly as written', () => {
    const text = '{ "sensor" : "s", "data" : [ {"id":"a" , "x": [1, {"y": "]}"}]} ,\n  "str\\"ing]" , 12.50 ,null,[ ] ] , "after": {"data": [9]} }';
    expect(slicesOf(text, 5)).toEqual(['{"id":"a" , "x": [1, {"y": "]}"}]}', '"str\\"ing]"', '12.50', 'null', '[ ]']);
  });

  it('takes the last data member, as JSON.parse does', () => {
    const text = '{"data": [1, 2, 3], "sensor": "s", "data": [{"a": 1}]}';
    expect(JSON.parse(text).data).toHaveLength(1);
    expect(slicesOf(text, 1)).toEqual(['{"a": 1}']);
  });

  it('recognises an escaped "data" key', () => {
    expect(slicesOf('{"d\\u0061ta": ["x"]}', 1)).toEqual(['"x"']);
  });

  it('skips a byte-order mark and gives byte offsets around multi-byte characters', () => {
    const text = '\uFEFF{"sensor": "ß", "data": ["é😀", {"k": "ü\\"✓"}]}';
    expect(slicesOf(text, 2)).toEqual(['"é😀"', '{"k": "ü\\"✓"}']);
  });

  it('gives up when the count does not match', () => {
    expect(locate('{"data": [1, 2]}', 3)).toBeUndefined();
    expect(locate('{"data": [1, 2]}', 1)).toBeUndefined();
    expect(locate('{"sensor": "s"}', 1)).toBeUndefined();
    expect(locate('{"data": {"0": 1}}', 1)).toBeUndefined();
    expect(locate('[1]', 1)).toBeUndefined();
  });

  it('agrees with JSON.parse on generated envelopes with awkward strings and spacing', () => {
    // mulberry32: the LCG this used lost its low bits past 2 ** 53 and cycled every 10,466
    // draws, so of the 300 envelopes only 173 differed.
    const random = prng(99);
    const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
    const awkward = ['"', '\\', '\\"', ']', '}', '[{', '\u2028', 'é', '😀', '\n', '\\\\"', ',', ':', 'data'];
    const value = (depth: number): unknown => {
      const kind = random();
      if (depth > 3 || kind < 0.3) return pick([0, -1.5e-7, 1e21, true, false, null, Array.from({ length: 3 }, () => pick(awkward)).join('')]);
      if (kind < 0.6) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, () => [pick(awkward) + pick(awkward), value(depth + 1)]));
    };
    for (let round = 0; round < 300; round++) {
      const data = Array.from({ length: 1 + Math.floor(random() * 6) }, () => value(0));
      const text = JSON.stringify({ sensor: pick(awkward), data, sendTime: { data: [1] } }, null, pick([0, 1, 2, '\t']));
      const slices = slicesOf(text, data.length);
      expect(slices, text).toBeDefined();
      expect(slices!.map((slice) => JSON.parse(slice))).toEqual(data);
    }
  });

  it('refuses an events array whose commas are not JSON', () => {
    for (const data of ['[1 2]', '[1,]', '[,1]', '[1,,2]', '[{"a":1} {"b":2}]', '[1', '[']) {
      expect(locateEnvelopeData(Buffer.from(`{"data": ${data}}`)), data).toBeUndefined();
    }
    expect(locateEnvelopeData(Buffer.from('{"data": [ ]}'))?.slices).toHaveLength(0);
  });

  it('says where the array lies, so the envelope around it can be parsed without it', () => {
    const text = '{"sensor": "s", "data": [ {"id": 1}, 2 ], "sendTime": "t"}';
    const layout = locateEnvelopeData(Buffer.from(text))!;
    expect(text.slice(0, layout.open + 1) + text.slice(layout.close - 1)).toBe('{"sensor": "s", "data": [], "sendTime": "t"}');
  });
});
