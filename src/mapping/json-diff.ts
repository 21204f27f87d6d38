/**
 * A readable difference between two JSON values: one line per differing property path,
 * `path: expected X, got Y`, so a fixture mismatch points at the property that changed.
 */
import { formatPath } from '../errors.ts';

export function jsonDiff(expected: unknown, actual: unknown, limit = 20): string[] {
  const lines: string[] = [];
  const path: PropertyKey[] = [];
  let more = 0;
  const note = (line: string) => {
    if (lines.length < limit) lines.push(line);
    else more++;
  };
  const walk = (a: unknown, b: unknown) => {
    if (Object.is(a, b)) return;
    const where = formatPath(path);
    if (Array.isArray(a) && Array.isArray(b)) {
      const length = Math.max(a.length, b.length);
      for (let i = 0; i < length; i++) {
        path.push(i);
        if (i >= a.length) note(`${formatPath(path)}: expected nothing, got ${show(b[i])}`);
        else if (i >= b.length) note(`${formatPath(path)}: expected ${show(a[i])}, got nothing`);
        else walk(a[i], b[i]);
        path.pop();
      }
      return;
    }
    if (isObject(a) && isObject(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        path.push(key);
        if (!(key in b)) note(`${formatPath(path)}: expected ${show(a[key])}, got nothing`);
        else if (!(key in a)) note(`${formatPath(path)}: expected nothing, got ${show(b[key])}`);
        else walk(a[key], b[key]);
        path.pop();
      }
      return;
    }
    note(`${where}: expected ${show(a)}, got ${show(b)}`);
  };
  walk(expected, actual);
  if (more > 0) lines.push(`… and ${more} more difference${more === 1 ? '' : 's'}`);
  return lines;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 100 ? `${text.slice(0, 97)}…` : text;
}
