/**
 * The code points a terminal does not show as written and JSON.stringify leaves raw: the C1
 * controls, the line and paragraph separators, and the bidirectional marks, embeddings,
 * overrides and isolates (Trojan Source, CVE-2021-42574). Listed here on their own, not
 * taken from src/, so a code point dropped there fails the tests.
 */
export const UNSHOWN_SAMPLE = [
  '\u0080',
  '\u0085',
  '\u009f',
  '\u061c',
  '\u200e',
  '\u200f',
  '\u2028',
  '\u2029',
  '\u202a',
  '\u202b',
  '\u202c',
  '\u202d',
  '\u202e',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
].join('');

const UNSHOWN = /[\u0080-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** The first such code point in `text`, as U+XXXX, or undefined when it holds none. */
export function firstUnshown(text: string): string | undefined {
  const found = UNSHOWN.exec(text)?.[0];
  return found === undefined ? undefined : `U+${found.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}
