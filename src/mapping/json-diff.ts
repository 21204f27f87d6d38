/**
 * A readable difference between two JSON values: one line per differing property path,
 * `path: expected X, got Y`, so a fixture mismatch points at the property that changed.
 */
import { cutText, formatPath } from '../errors.ts';
import { jsonText } from '../json-text.ts';
import { isRecord } from '../is-record.ts';

export interface JsonDiffOptions {
  /** Lines to give before summing up the rest (default 20). */
  limit?: number;
  /** How the two sides are named (default: expected, got; `--update` says was, now). */
  words?: DiffWords;
  /** Where both values sit in a larger document, so paths name the whole way. */
  at?: readonly PropertyKey[];
  /** The longest a value is shown before it is cut (default 100 characters). */
  maxChars?: number;
}

export interface DiffWords {
  before: string;
  after: string;
}

export const CHECK_WORDS: DiffWords = { before: 'expected', after: 'got' };

export function jsonDiff(expected: unknown, actual: unknown, options: JsonDiffOptions | number = {}): string[] {
  const { limit = 20, words = CHECK_WORDS, at = [], maxChars = 100 } = typeof options === 'number' ? { limit: options } : options;
  const lines: string[] = [];
  const path: PropertyKey[] = [...at];
  let more = 0;
  const show = (value: unknown) => showValue(value, maxChars);
  const note = (a: unknown, b: unknown) => {
    if (lines.length < limit) lines.push(`${formatPath(path)}: ${words.before} ${show(a)}, ${words.after} ${show(b)}`);
    else more++;
  };
  const walk = (a: unknown, b: unknown) => {
    if (Object.is(a, b)) return;
    if (Array.isArray(a) && Array.isArray(b)) {
      const length = Math.max(a.length, b.length);
      for (let i = 0; i < length; i++) {
        path.push(i);
        walk(i < a.length ? a[i] : undefined, i < b.length ? b[i] : undefined);
        path.pop();
      }
      return;
    }
    if (isRecord(a) && isRecord(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        path.push(key);
        walk(key in a ? a[key] : undefined, key in b ? b[key] : undefined);
        path.pop();
      }
      return;
    }
    note(a, b);
  };
  walk(expected, actual);
  if (more > 0) lines.push(`… and ${more} more difference${more === 1 ? '' : 's'}`);
  return lines;
}

export function showValue(value: unknown, maxChars = 100): string {
  if (value === undefined) return 'nothing';
  const text = jsonText(value);
  return text.length > maxChars ? `${cutText(text, maxChars - 3)}…` : text;
}
