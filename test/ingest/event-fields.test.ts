/**
 * readEventFields against what it stands in for: `JSON.parse` of the event and the checks
 * `eventProblem` makes. Whenever it vouches for an event, the event must parse, pass every
 * check and give the same id, type, action and eventTime; whenever the event is plain (no
 * escape in a field it reads, no repeated field), it must vouch. Then the same, a level up:
 * envelopes as POST /caliper reads them, with and without its answers, and against a parse
 * of the whole body.
 */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.ts';
import { eventProblem, MAX_EVENT_FIELD_CHARS } from '../../src/ingest/envelope-schema.ts';
import { toEnvelopeBatch } from '../../src/ingest/envelope-batch.ts';
import { readEventFields, wordsOf, type EventFields } from '../../src/ingest/event-fields.ts';
import { parseEnvelope } from '../../src/ingest/parse-envelope.ts';
import { prng } from '../../src/dev/synthetic-events.ts';

type Verdict = { fields: EventFields } | { problem: 'not JSON' | 'malformed' };

/** What JSON.parse and eventProblem make of `text`, as intake would store it. */
function reference(text: string): Verdict {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'not JSON' };
  }
  if (eventProblem(value, 0) !== undefined) return { problem: 'malformed' };
  const event = value as Record<string, string>;
  return { fields: { sourceId: event.id!.trim(), type: event.type!.trim(), action: event.action!.trim(), eventTime: event.eventTime! } };
}

/** readEventFields on `text`, followed by `after` (what the scanner sees next); the bytes it claims, or undefined. */
function fast(text: string, after = ' ,', shift = 0): { fields: EventFields; claimed: string } | undefined {
  // In memory of its own, `shift` bytes past a 4-byte boundary (the reader skips plain bytes a word at a time).
  const bytes = Buffer.from(new Uint8Array(Buffer.from(`${' '.repeat(shift)}[${text}${after}`)));
  const out: EventFields = { sourceId: '', type: '', action: '', eventTime: '' };
  const end = readEventFields(bytes, wordsOf(bytes), shift + 1, out);
  return end < 0 ? undefined : { fields: out, claimed: bytes.toString('utf8', shift + 1, end) };
}

/** Checks the one rule that matters: vouched for means the same as JSON.parse and the checks. */
function expectSound(text: string) {
  const read = fast(text);
  // Wherever the event lies against word boundaries, the answer is the same.
  for (const shift of [1, 2, 3]) expect(fast(text, ' ,', shift), text).toEqual(read);
  if (read === undefined) return undefined;
  // It claims a prefix of the text (what follows is the scanner's to check) that is a
  // well-formed event with exactly these fields.
  expect(text.startsWith(read.claimed), text).toBe(true);
  expect(reference(read.claimed), text).toEqual({ fields: read.fields });
  // And when the whole text is JSON, it claims all of it.
  const whole = reference(text);
  if (!('problem' in whole && whole.problem === 'not JSON')) expect(read.claimed, text).toBe(text);
  return read;
}

const plain = {
  '@context': 'http://purl.imsglobal.org/ctx/caliper/v1p1',
  id: 'urn:uuid:3a6f3b1e-0c1d-4c2b-9f55-1d1c6e0b7a10',
  type: 'NavigationEvent',
  actor: { id: 'https://example.edu/users/554433', type: 'Person', extensions: { 'bb:user.externalId': 's001' } },
  action: 'NavigatedTo',
  object: { id: 'https://example.edu/courses/7/pages/2', type: 'WebPage', score: -0.5, count: 3, flags: [true, false, null] },
  eventTime: '2026-03-02T09:15:27.481Z',
};
const plainText = JSON.stringify(plain);
/** `plain` with one member's value written as `value` (raw JSON text). */
const withMember = (key: string, value: string) => plainText.replace(/}$/, `,"${key}":${value}}`);
/** `plain` with the field `key` (at the top) written as `value` (raw JSON text). */
const withField = (key: string, value: string) => {
  const event: Record<string, unknown> = { ...plain, [key]: '\u0000PLACEHOLDER' };
  return JSON.stringify(event).replace('"\\u0000PLACEHOLDER"', value);
};

describe('readEventFields', () => {
  it('reads a plain event, at any spacing JSON allows', () => {
    const expected = { sourceId: plain.id, type: plain.type, action: plain.action, eventTime: plain.eventTime };
    for (const spacing of [0, 1, 2, '\t', '\r\n', ' \n\t\r ']) {
      const text = spacing === 0 ? plainText : JSON.stringify(plain, null, spacing as string | number);
      const spaced = typeof spacing === 'string' && spacing.includes('\r') ? text.replaceAll('\n', spacing) : text;
      expect(expectSound(spaced)?.fields, JSON.stringify(spacing)).toEqual(expected);
    }
  });

  it('agrees with JSON.parse on numbers', () => {
    const valid = ['0', '-0', '1', '-1', '10', '1e5', '1E5', '1e+5', '1e-5', '-1.5e-7', '0.0', '1.25', '1e400', '-1e-400', '123456789012345678901234567890'];
    const invalid = ['01', '-01', '00', '1.', '.5', '-', '+1', '1e', '1e+', '1e-', '1.e5', '0x10', 'Infinity', 'NaN', '-Infinity', '1_000', '1 2', '--1', '1.5.5', '1e5.5', '0.', '-.5'];
    for (const number of valid) {
      const text = withMember('n', number);
      expect(JSON.parse(text).n, number).toBe(Number(number));
      expect(expectSound(text), number).toBeDefined();
      expect(expectSound(withMember('n', `[${number}]`)), number).toBeDefined();
    }
    for (const number of invalid) {
      expect(() => JSON.parse(withMember('n', number)), number).toThrow();
      expect(fast(withMember('n', number)), number).toBeUndefined();
      expect(fast(withMember('n', `[${number}]`)), number).toBeUndefined();
    }
  });

  it('agrees with JSON.parse on literals', () => {
    for (const literal of ['true', 'false', 'null']) expect(expectSound(withMember('b', literal)), literal).toBeDefined();
    for (const literal of ['tru', 'True', 'tXue', 'nul', 'nulll', 'nuxl', 'NULL', 'fals', 'faLse', 'falsey', 'undefined', 'nan', 't']) {
      for (const text of [withMember('b', literal), withMember('b', `[${literal}]`), withMember('b', `[${literal},1]`)]) {
        expect(() => JSON.parse(text), text).toThrow();
        expect(fast(text), text).toBeUndefined();
      }
    }
  });

  it('agrees with JSON.parse on strings and their escapes', () => {
    const valid = ['""', '"\\""', '"\\\\"', '"\\/"', '"\\b\\f\\n\\r\\t"', '"\\u0000"', '"\\uD800"', '"\\udc00"', '"\\uD83D\\uDE00"', '"\\u00e9"', '"\\uFEFF"', '"é😀\u2028\u2029\u007f"', '"\\\\\\""', '"a\\\\"'];
    const invalid = ['"\\x41"', "\"\\'\"", '"\\u12"', '"\\u12G4"', '"\\U0041"', '"\\a"', '"\\"', '"\t"', '"\n"', '"\u0001"', '"\u001f"', "'single'", '"unclosed'];
    for (const string of valid) {
      expect(expectSound(withMember('s', string)), string).toBeDefined();
      expect(expectSound(withMember('o', `{"k${string.slice(1, -1)}":1}`)), string).toBeDefined();
    }
    for (const string of invalid) {
      expect(() => JSON.parse(withMember('s', string)), string).toThrow();
      expect(fast(withMember('s', string)), string).toBeUndefined();
    }
  });

  it('finds a quote, a backslash or a control byte wherever it falls in a long string', () => {
    const long = 'https://example.edu/courses/7/pages/é/😀/'.repeat(3);
    for (let at = 0; at <= 24; at++) {
      for (const shift of [0, 1, 2, 3]) {
        const around = (inner: string) => withMember('s', `"${long.slice(0, at)}${inner}${long.slice(at)}"`);
        for (const good of ['\\"', '\\\\', '\\u0041', '\\n', '\u007f', 'é']) {
          const text = around(good);
          expect(fast(text, ' ,', shift)?.claimed, text).toBe(text);
        }
        for (const bad of ['\u0000', '\u0001', '\t', '\n', '\u001f', '\\x', '\\u00g', '"']) {
          const text = around(bad);
          expect(() => JSON.parse(text), text).toThrow();
          expect(fast(text, ' ,', shift), text).toBeUndefined();
        }
        // A quote ends the string there: the key after it is read, the event is not JSON.
        expect(fast(withMember('s', `"${long.slice(0, at)}"`), ' ,', shift)).toBeDefined();
      }
    }
  });

  it('agrees with JSON.parse on spacing, nesting and punctuation', () => {
    const invalid = [
      plainText.replace('{', '{,'),
      plainText.replace(/}$/, ',}'),
      withMember('a', '[1,]'),
      withMember('a', '[,1]'),
      withMember('a', '[1 2]'),
      withMember('a', '{"x" 1}'),
      withMember('a', '{"x":1 "y":2}'),
      withMember('a', '{x:1}'),
      withMember('a', '{"x":1]'),
      withMember('a', '[1}'),
      withMember('a', '[[['),
      plainText.slice(0, -1),
      plainText.replace('{', '{\f'),
      plainText.replace('{', '{\v'),
      plainText.replace('{', '{\u00a0'),
      plainText.replace('{', '{\u2028'),
      plainText.replace('{', '{\uFEFF'),
      `\uFEFF${plainText}`,
      plainText.replace(':', '::'),
      // Whitespace JSON does not have, wherever whitespace may go.
      ...['\f', '\v', '\u00a0', '\u3000', '\u0000'].flatMap((space) => [
        withMember('a', `${space}1`),
        withMember('a', `1${space}`),
        withMember('a', `[${space}1]`),
        withMember('a', `[1${space}]`),
        withMember('a', `{${space}"b":1}`),
        withMember('a', `{"b"${space}:1}`),
        plainText.replace(/}$/, `${space},"a":1}`),
      ]),
    ];
    for (const text of invalid) {
      expect(() => JSON.parse(text), text).toThrow();
      expect(fast(text), text).toBeUndefined();
    }
    // Nesting: read as deep as MAX_DEPTH, past it left to JSON.parse (which takes it).
    expect(expectSound(withMember('deep', `${'['.repeat(60)}1${']'.repeat(60)}`))).toBeDefined();
    expect(expectSound(withMember('deep', `${'{"a":'.repeat(60)}{}${'}'.repeat(60)}`))).toBeDefined();
    expect(expectSound(withMember('deep', `${'['.repeat(200)}${']'.repeat(200)}`))).toBeUndefined();
    expect(expectSound(withMember('empty', '{ }'))).toBeDefined();
    expect(expectSound(withMember('empty', '[\n]'))).toBeDefined();
    // What follows the event is the scanner's to check: the event is still read.
    expect(fast(plainText, 'x')?.claimed).toBe(plainText);
    expect(fast(plainText, '}')?.claimed).toBe(plainText);
    // A value that is not an object is not an event.
    for (const text of ['[]', '"event"', '1', 'null']) expect(fast(text), text).toBeUndefined();
  });

  it('takes the last of a repeated key as JSON.parse does, or leaves the event to it', () => {
    // A repeated field the reader needs: it gives up, and the event is parsed.
    for (const key of ['id', 'type', 'action', 'eventTime', 'actor']) {
      const text = withMember(key, key === 'actor' ? '"urn:other"' : key === 'eventTime' ? '"2020-01-01T00:00:00Z"' : '"other"');
      expect(JSON.parse(text)[key], key).not.toEqual((plain as Record<string, unknown>)[key]);
      expect(fast(text), key).toBeUndefined();
    }
    // A repeated key it does not need changes nothing it reads.
    expect(expectSound(withMember('@context', '"x"'))).toBeDefined();
    // The actor's id and type: the last wins, and it must be a string.
    expect(expectSound(withField('actor', '{"id":"a","id":"b","type":"P","type":"Q"}'))).toBeDefined();
    expect(reference(withField('actor', '{"id":1,"id":"b"}'))).toHaveProperty('fields');
    expectSound(withField('actor', '{"id":1,"id":"b"}'));
    expect(reference(withField('actor', '{"id":"b","id":1}'))).toEqual({ problem: 'malformed' });
    expect(fast(withField('actor', '{"id":"b","id":1}'))).toBeUndefined();
    // An escaped key may spell a field: left to JSON.parse.
    expect(fast(plainText.replace('"action"', '"\\u0061ction"'))).toBeUndefined();
    expect(JSON.parse(withMember('\\u0061ction', '"Other"')).action).toBe('Other');
    expect(fast(withMember('\\u0061ction', '"Other"'))).toBeUndefined();
    expect(fast(withField('actor', '{"i\\u0064":5}'))).toBeUndefined();
    expect(reference(withField('actor', '{"id":"x","i\\u0064":5}'))).toEqual({ problem: 'malformed' });
    expect(fast(withField('actor', '{"id":"x","i\\u0064":5}'))).toBeUndefined();
    // __proto__ is a key like any other to JSON.parse.
    expect(expectSound(withMember('__proto__', '{"id":"x"}'))).toBeDefined();
  });

  it('applies the event checks eventProblem applies', () => {
    const cases: Array<[string, string]> = [
      ['id', '"  "'],
      ['id', '""'],
      ['id', '" padded\u00a0"'],
      ['id', '"\\u00a0"'],
      ['id', '"\\uFEFF x \\u3000"'],
      ['id', '"\u2003"'],
      ['id', '"e\\u00e9"'],
      ['id', '"a\\/b"'],
      ['id', '7'],
      ['id', 'null'],
      ['id', '["x"]'],
      ['type', '" ViewEvent\\t"'],
      ['type', '{"id":"x"}'],
      ['action', '"\\n"'],
      ['action', 'true'],
      ['actor', '"urn:uuid:a"'],
      ['actor', '" "'],
      ['actor', '"\\u0020"'],
      ['actor', '{}'],
      ['actor', '{"id":1}'],
      ['actor', '{"type":null}'],
      ['actor', '{"id":"x","type":"Person","extensions":{"id":1,"type":[]}}'],
      ['actor', '["urn:a"]'],
      ['actor', 'null'],
      ['actor', '5'],
      ['eventTime', '"2026-03-02T09:15:27Z"'],
      ['eventTime', '"2026-03-02T09:15:27.123456789+05:30"'],
      ['eventTime', '"2026-03-02T09:15+0100"'],
      ['eventTime', '"2026-13-02T09:15:27Z"'],
      ['eventTime', '"2026-02-30T09:15:27Z"'],
      ['eventTime', '"2026-03-02T09:15:27"'],
      ['eventTime', '" 2026-03-02T09:15:27Z"'],
      ['eventTime', '"2026-03-02T09:15:27Z "'],
      ['eventTime', '"2026-03-02T09:15:27\\u005a"'],
      ['eventTime', '"2026-03-02"'],
      ['eventTime', '1'],
      ['id', JSON.stringify('i'.repeat(MAX_EVENT_FIELD_CHARS))],
      ['id', JSON.stringify(` ${'i'.repeat(MAX_EVENT_FIELD_CHARS)}\n`)],
      ['id', JSON.stringify('i'.repeat(MAX_EVENT_FIELD_CHARS + 1))],
      ['id', JSON.stringify(`${'i'.repeat(MAX_EVENT_FIELD_CHARS - 1)}😀`)],
      ['id', JSON.stringify('é'.repeat(MAX_EVENT_FIELD_CHARS))],
      ['id', JSON.stringify('é'.repeat(MAX_EVENT_FIELD_CHARS + 1))],
      ['id', `"${'\\u0069'.repeat(MAX_EVENT_FIELD_CHARS + 1)}"`],
      ['type', JSON.stringify('t'.repeat(MAX_EVENT_FIELD_CHARS + 1))],
      ['action', JSON.stringify('a'.repeat(MAX_EVENT_FIELD_CHARS + 1))],
      ['eventTime', JSON.stringify(`2026-03-02T09:15:27.${'1'.repeat(MAX_EVENT_FIELD_CHARS)}Z`)],
    ];
    let vouched = 0;
    for (const [key, value] of cases) {
      const text = withField(key, value);
      if (expectSound(text)) vouched += 1;
    }
    // Some of these are well-formed, and read without a parse.
    expect(vouched).toBeGreaterThanOrEqual(10);
    // The bound counts characters (UTF-16 units, as zod does) once trimmed, not bytes.
    expect(fast(withField('id', JSON.stringify('é'.repeat(MAX_EVENT_FIELD_CHARS))))).toBeDefined();
    expect(fast(withField('id', JSON.stringify(` ${'i'.repeat(MAX_EVENT_FIELD_CHARS)} `)))).toBeDefined();
    for (const key of ['id', 'type', 'action']) {
      expect(fast(withField(key, JSON.stringify('x'.repeat(MAX_EVENT_FIELD_CHARS + 1)))), key).toBeUndefined();
    }
    for (const key of ['id', 'type', 'action', 'actor', 'eventTime']) {
      const { [key]: _, ...rest } = plain as Record<string, unknown>;
      expect(reference(JSON.stringify(rest))).toEqual({ problem: 'malformed' });
      expect(fast(JSON.stringify(rest)), key).toBeUndefined();
    }
  });

  it('agrees with JSON.parse and eventProblem on generated events, whole and with bytes changed', () => {
    const random = prng(20261206);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
    const awkward = ['"', '\\', '/', '\u0000', '\u001f', '\t', '\n', ' ', '\u00a0', '\u2028', '\uFEFF', 'é', '😀', '\ud800', 'id', 'type', '{', '}', '[', ']', ',', ':', 'x', '0'];
    const text = () => Array.from({ length: Math.floor(random() * 4) }, () => pick(awkward)).join('');
    const value = (depth: number): unknown => {
      const kind = random();
      if (depth > 4 || kind < 0.4) return pick([0, -0, 1e21, -1.5e-7, 42, true, false, null, text(), 'plain']);
      if (kind < 0.6) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, () => [pick(['id', 'type', text()]), value(depth + 1)]));
    };
    const field = (good: string) => (random() < 0.8 ? good : pick([good, ` ${good} `, text(), '', 5, null, [good]]));
    const event = () => {
      const members: Array<[string, unknown]> = [
        ['id', field('e-1')],
        ['type', field('ViewEvent')],
        ['actor', random() < 0.7 ? { id: field('urn:a'), type: 'Person', ...(value(1) as object) } : field('urn:actor')],
        ['action', field('Viewed')],
        ['eventTime', field(pick(['2026-03-02T09:15:27.481Z', '2026-03-02T09:15:27+01:00']))],
        ...Array.from({ length: Math.floor(random() * 4) }, (): [string, unknown] => [text(), value(0)]),
      ];
      members.sort(() => random() - 0.5);
      if (random() < 0.1) members.splice(Math.floor(random() * members.length), 1);
      return Object.fromEntries(members);
    };
    // Bytes JSON cares about, to put in, take out or swap.
    const noise = ['"', '\\', ',', ':', '{', '}', '[', ']', ' ', '\t', '\n', '\f', '0', '-', '.', 'e', 'u', 'n', 'x', '\u0001', 'é', '\\u', '\\u00'];
    let vouched = 0;
    let parsed = 0;
    for (let round = 0; round < 4000; round++) {
      const whole = JSON.stringify(event(), null, pick([0, 0, 0, 1, '\t']));
      // Written out by JSON.stringify: no key repeats, so only an escaped key it must
      // compare is left to JSON.parse.
      const read = expectSound(whole);
      if ('fields' in reference(whole) && !hasEscapedKey(whole)) expect(read, whole).toBeDefined();
      if (read) vouched += 1;
      let changed = whole;
      for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
        const at = Math.floor(random() * changed.length);
        const what = random();
        if (what < 0.4) changed = changed.slice(0, at) + pick(noise) + changed.slice(at);
        else if (what < 0.7) changed = changed.slice(0, at) + changed.slice(at + 1);
        else changed = changed.slice(0, at) + pick(noise) + changed.slice(at + 1);
      }
      if (expectSound(changed)) vouched += 1;
      if (!('problem' in reference(changed))) parsed += 1;
    }
    // The run covers both outcomes in numbers (of 8,000 texts, about 1,500 are well-formed
    // events, some with escaped keys; about 200 of the changed ones still parse).
    expect(vouched).toBeGreaterThan(800);
    expect(parsed).toBeGreaterThan(100);
  });
});

describe('reading envelopes with readEventFields', () => {
  type Outcome = { refused: string } | { columns: unknown };

  async function outcome(body: Buffer, useFields: boolean): Promise<Outcome> {
    try {
      const parsed = await parseEnvelope(Buffer.from(body));
      const events = useFields ? parsed.events : { ...parsed.events, fields: undefined };
      const batch = await toEnvelopeBatch({ ...parsed, events }, { receivedAt: 0 });
      const raws = batch.raws.map((raw) => Buffer.from(raw).toString('utf8'));
      return { columns: { ...batch, raws, transferable: undefined } };
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      return { refused: `${error.status} ${error.code} ${error.message}` };
    }
  }

  /** The oracle: JSON.parse of the whole body, eventProblem per event. */
  function fromWholeParse(body: Buffer): { events: unknown[] } | { notJson: true } {
    const text = body.toString('utf8').replace(/^\uFEFF/, '');
    try {
      return { events: (JSON.parse(text) as { data: unknown[] }).data };
    } catch {
      return { notJson: true };
    }
  }

  it('gives what parsing every event gives, on generated envelopes with bytes changed', async () => {
    const random = prng(77);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
    const noise = ['"', '\\', ',', ':', '{', '}', '[', ']', ' ', '\n', '0', '-', 'e', 'u', 'x', '\u0001', 'é'];
    const event = (i: number) => ({
      id: pick([`e-${i}`, `e-${i}`, `e-${i}`, `e${'-'.repeat(MAX_EVENT_FIELD_CHARS)}${i}`, ` e${'-'.repeat(MAX_EVENT_FIELD_CHARS - 3)}${i} `]),
      type: pick(['ViewEvent', ' NavigationEvent ']),
      actor: pick([{ id: 'urn:a', type: 'Person' }, 'urn:a', {}, { id: 1 }]),
      action: 'Viewed',
      eventTime: pick(['2026-03-02T09:15:27.481Z', 'yesterday']),
      extensions: { n: pick([0, -1.5, 1e21, null, true, 'x\\"y', [1, { a: [] }]]) },
    });
    let accepted = 0;
    let refused = 0;
    let longIds = 0;
    let longSourceIds = 0;
    for (let round = 0; round < 400; round++) {
      const data = Array.from({ length: 1 + Math.floor(random() * 5) }, (_, i) => event(i));
      const head = `{"sensor":"s","sendTime":"2026-03-02T09:15:27.481Z","dataVersion":"http://purl.imsglobal.org/ctx/caliper/v1p1","data":`;
      let text = head + JSON.stringify(data, null, pick([0, 2])) + '}';
      if (round % 4 !== 0) {
        // Change a byte inside the data array.
        const at = head.length + 1 + Math.floor(random() * (text.length - head.length - 3));
        text = random() < 0.5 ? text.slice(0, at) + pick(noise) + text.slice(at) : text.slice(0, at) + text.slice(at + 1);
      }
      if (random() < 0.05) text = `\uFEFF${text}`;
      const body = Buffer.from(text);
      const withFields = await outcome(body, true);
      expect(withFields, text).toEqual(await outcome(body, false));

      const whole = fromWholeParse(body);
      if ('notJson' in whole) {
        expect(withFields, text).toMatchObject({ refused: expect.stringMatching(/^400 malformed-json /) });
        refused += 1;
        continue;
      }
      if ('refused' in withFields) continue; // not an envelope (e.g. data is no longer a list)
      accepted += 1;
      const columns = withFields.columns as { raws: string[]; problems: unknown[]; sourceIds: unknown[]; eventTimes: unknown[] };
      expect(columns.raws.map((raw) => JSON.parse(raw)), text).toEqual(whole.events);
      expect(columns.problems, text).toEqual(whole.events.map((value, i) => eventProblem(value, i)));
      for (const sourceId of columns.sourceIds) {
        if (typeof sourceId !== 'string') continue;
        expect(sourceId.length).toBeLessThanOrEqual(MAX_EVENT_FIELD_CHARS);
        if (sourceId.length > 64) longSourceIds += 1;
      }
      if (columns.problems.some((problem) => typeof problem === 'string' && /^data\[\d+\]\.id: the event id has/.test(problem))) longIds += 1;
    }
    expect(longIds).toBeGreaterThan(10);
    // The bound above met ids near or past it, not only short ones.
    expect(longSourceIds).toBeGreaterThan(10);
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(50);
  });
});

/** Whether a key at the top of the event or in its actor object is written with an escape. */
function hasEscapedKey(text: string): boolean {
  const event = JSON.parse(text) as Record<string, unknown>;
  const actor = event.actor !== null && typeof event.actor === 'object' ? Object.keys(event.actor) : [];
  return [...Object.keys(event), ...actor].some((key) => JSON.stringify(key).includes('\\'));
}
