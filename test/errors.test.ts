import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeZodError, formatPath, quote, quoteValue } from '../src/errors.ts';

describe('formatPath', () => {
  it('writes paths the way people do', () => {
    expect(formatPath([])).toBe('(root)');
    expect(formatPath(['data', 3, 'actor', 'extensions', 'bb:user.id'])).toBe('data[3].actor.extensions["bb:user.id"]');
  });

  it('shows a path thousands of levels deep by its first and last steps', () => {
    const path = ['data', 0, ...Array.from({ length: 9_998 }, () => 'a')];
    expect(formatPath(path)).toBe('data[0].a … 9992 more … a.a.a.a.a');
  });

  it('cuts a property name of megabytes to its start and says how long it was', () => {
    const key = 'k'.repeat(1_000_000);
    const shown = formatPath(['data', 0, key]);
    expect(shown).toBe(`data[0]["${'k'.repeat(60)}"… (1000000 characters)]`);
  });
});

describe('quote', () => {
  it('escapes what a terminal would not show as written: C1 controls, line separators, bidirectional overrides', () => {
    expect(quote('a\u202eb\u2066c\u200fd\u0085e\u2028f\u007f')).toBe('"a\\u202eb\\u2066c\\u200fd\\u0085e\\u2028f\\u007f"');
    // Letters of any script, accents and emoji are shown as they are.
    expect(quote('José 😀 e\u0301')).toBe('"José 😀 e\u0301"');
  });

  it('quotes short values whole, JSON-escaped', () => {
    expect(quote('text/plain; x="1"')).toBe('"text/plain; x=\\"1\\""');
  });

  it('cuts long values and says how long they were', () => {
    expect(quote('v'.repeat(300_000))).toBe(`"${'v'.repeat(100)}"… (300000 characters)`);
  });

  it('does not leave half of a character where it cuts', () => {
    // The 100th UTF-16 unit is the first half of an emoji: kept, it was shown as the escape "\ud83d".
    expect(quote(`${'a'.repeat(99)}${'😀'.repeat(5)}`)).toBe(`"${'a'.repeat(99)}"… (109 characters)`);
  });
});

describe('quoteValue', () => {
  it('quotes text as quote does', () => {
    expect(quoteValue('a\u202eb')).toBe('"a\\u202eb"');
    expect(quoteValue('v'.repeat(300))).toBe(`"${'v'.repeat(100)}"… (300 characters)`);
  });

  it('shows other values as their JSON, escaped and cut the same way', () => {
    expect(quoteValue(330)).toBe('330');
    expect(quoteValue(null)).toBe('null');
    expect(quoteValue(undefined)).toBe('undefined');
    expect(quoteValue({ a: ['x\u0085'] })).toBe('{"a":["x\\u0085"]}');
    const big = { at: 'x'.repeat(10_000) };
    expect(quoteValue(big)).toBe(`${JSON.stringify(big).slice(0, 100)}… (10009 characters of JSON)`);
  });

  it('does not leave half of a character where it cuts', () => {
    // The 100th UTF-16 unit is the first half of an emoji: the cut drops it rather than show U+FFFD.
    const shown = quoteValue([`a${'😀'.repeat(100)}`]);
    expect(shown).toBe(`["a${'😀'.repeat(48)}… (205 characters of JSON)`);
  });
});

describe('describeZodError', () => {
  const Envelope = z.strictObject({ sensor: z.string(), dataVersion: z.string(), data: z.array(z.unknown()).min(1, 'no events') });

  it('names the first problem, and where the others are, so one resend can fix them all', () => {
    const one = Envelope.safeParse({ sensor: 's', dataVersion: 'v', data: [] });
    expect(describeZodError(one.error!)).toBe('data: no events');
    const two = Envelope.safeParse({ sensor: 's', data: [] });
    expect(describeZodError(two.error!)).toBe('dataVersion: Invalid input: expected string, received undefined (and 1 more problem, at data)');
    const many = Envelope.safeParse({ data: 'x', extra: 1, more: 2 });
    expect(describeZodError(many.error!, ['envelope'])).toBe(
      'envelope.sensor: Invalid input: expected string, received undefined (and 3 more problems, at envelope.dataVersion, envelope.data, envelope.extra)',
    );
  });
});
