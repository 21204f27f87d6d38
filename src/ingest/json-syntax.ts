/**
 * Where a body that `JSON.parse` refused goes wrong. V8's messages give no position for
 * most mistakes ("Unexpected token '}', …"), and a 25 MB envelope is one line, so a line
 * number alone would not help either: this walks the text by the RFC 8259 grammar and
 * reports the JSON path (`data[17].actor`), the line and column, and what was expected.
 *
 * Runs only after `JSON.parse` failed, so it is written to be right, not fast; it is
 * iterative so deeply nested input cannot overflow the stack.
 */
import { formatPath } from '../errors.ts';

export interface JsonSyntaxError {
  line: number;
  column: number;
  /** Where in the document, e.g. `data[17].actor` (`(root)` at the top). */
  path: string;
  problem: string;
}

const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;

/** Inside an object whose first property name is still to come. */
const NO_KEY_YET = Symbol('no key yet');

const isDigit = (code: number) => code >= 0x30 && code <= 0x39;
const isHex = (code: number) => isDigit(code) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
const ESCAPABLE = new Set([...'"\\/bfnrtu'].map((char) => char.charCodeAt(0)));

/** Describes the first syntax error in `text`, or returns undefined when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const length = text.length;
  let pos = 0;
  // One entry per open container: the container's opening character, and the property
  // name or element index we are in (for the path in the message).
  const containers: number[] = [];
  const path: Array<string | number | typeof NO_KEY_YET> = [];
  let expecting: 'value' | 'key' | 'after-value' = 'value';

  const fail = (problem: string, at = pos): JsonSyntaxError => {
    let line = 1;
    let lineStart = 0;
    for (let i = text.indexOf('\n'); i !== -1 && i < at; i = text.indexOf('\n', i + 1)) {
      line += 1;
      lineStart = i + 1;
    }
    const known = path.filter((key): key is string | number => key !== NO_KEY_YET);
    return { line, column: at - lineStart + 1, path: formatPath(known), problem };
  };
  const found = () => (pos >= length ? 'the end of the body' : describeChar(text, pos));
  const skipWhitespace = () => {
    for (; pos < length; pos++) {
      const code = text.charCodeAt(pos);
      if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) break;
    }
  };

  /** Moves past the string starting at `pos`; returns a problem, or undefined. */
  const scanString = (): JsonSyntaxError | undefined => {
    const start = pos;
    pos += 1;
    for (;;) {
      if (pos >= length) return fail('this string is never closed (missing ")', start);
      const code = text.charCodeAt(pos);
      if (code === QUOTE) {
        pos += 1;
        return undefined;
      }
      if (code === BACKSLASH) {
        const escaped = text.charCodeAt(pos + 1);
        if (!ESCAPABLE.has(escaped)) return fail(`invalid escape ${JSON.stringify(text.slice(pos, pos + 2))} in a string`);
        if (escaped === 0x75) {
          for (let i = 2; i < 6; i++) {
            if (!isHex(text.charCodeAt(pos + i))) return fail('\\u must be followed by four hex digits');
          }
          pos += 6;
        } else {
          pos += 2;
        }
        continue;
      }
      if (code < 0x20) return fail('control character inside a string (write it escaped, e.g. \\n)');
      pos += 1;
    }
  };

  const scanNumber = (): JsonSyntaxError | undefined => {
    const start = pos;
    if (text.charCodeAt(pos) === MINUS) pos += 1;
    if (text.charCodeAt(pos) === 0x30) {
      pos += 1;
      if (isDigit(text.charCodeAt(pos))) return fail('invalid number: leading zeros are not allowed', start);
    } else if (isDigit(text.charCodeAt(pos))) while (isDigit(text.charCodeAt(pos))) pos += 1;
    else return fail(`invalid number: expected a digit after "-", found ${found()}`, pos);
    if (text.charCodeAt(pos) === 0x2e) {
      pos += 1;
      if (!isDigit(text.charCodeAt(pos))) return fail(`invalid number: expected a digit after ".", found ${found()}`);
      while (isDigit(text.charCodeAt(pos))) pos += 1;
    }
    const exponent = text.charCodeAt(pos);
    if (exponent === 0x65 || exponent === 0x45) {
      pos += 1;
      const sign = text.charCodeAt(pos);
      if (sign === 0x2b || sign === MINUS) pos += 1;
      if (!isDigit(text.charCodeAt(pos))) return fail(`invalid number: expected exponent digits, found ${found()}`);
      while (isDigit(text.charCodeAt(pos))) pos += 1;
    }
    return undefined;
  };

  for (;;) {
    skipWhitespace();
    const code = text.charCodeAt(pos);

    if (expecting === 'value') {
      if (pos >= length) return fail(length === 0 ? 'the body is empty' : 'the body ends where a value was expected');
      if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
        containers.push(code);
        pos += 1;
        skipWhitespace();
        const close = code === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
        if (text.charCodeAt(pos) === close) {
          containers.pop();
          pos += 1;
          expecting = 'after-value';
        } else if (code === OPEN_OBJECT) {
          path.push(NO_KEY_YET);
          expecting = 'key';
        } else {
          path.push(0);
          expecting = 'value';
        }
        continue;
      }
      let problem: JsonSyntaxError | undefined;
      if (code === QUOTE) problem = scanString();
      else if (code === MINUS || isDigit(code)) problem = scanNumber();
      else {
        const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, pos));
        if (!literal) {
          const hint = code === 0x27 ? ' (strings take double quotes)' : '';
          return fail(`expected a value, found ${found()}${hint}`);
        }
        pos += literal.length;
      }
      if (problem) return problem;
      expecting = 'after-value';
      continue;
    }

    if (expecting === 'key') {
      if (code !== QUOTE) {
        const hint = code === CLOSE_OBJECT ? ' (remove the trailing comma)' : '';
        return fail(`expected a property name in double quotes, found ${found()}${hint}`);
      }
      const start = pos;
      const problem = scanString();
      if (problem) return problem;
      path[path.length - 1] = decodeKey(text.slice(start, pos));
      skipWhitespace();
      if (text.charCodeAt(pos) !== COLON) return fail(`expected ":" after the property name, found ${found()}`);
      pos += 1;
      expecting = 'value';
      continue;
    }

    // after a value: the end of the document, or a separator or closer in the container
    const container = containers[containers.length - 1];
    if (container === undefined) {
      if (pos < length) return fail(`unexpected ${found()} after the end of the JSON value`);
      return undefined;
    }
    const close = container === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
    if (code === COMMA) {
      pos += 1;
      if (container === OPEN_ARRAY) {
        path[path.length - 1] = (path[path.length - 1] as number) + 1;
        skipWhitespace();
        if (text.charCodeAt(pos) === CLOSE_ARRAY) return fail('expected a value, found "]" (remove the trailing comma)');
        expecting = 'value';
      } else {
        expecting = 'key';
      }
      continue;
    }
    if (code === close) {
      containers.pop();
      path.pop();
      pos += 1;
      continue;
    }
    const after = container === OPEN_OBJECT ? 'a property value' : 'an array element';
    return fail(`expected "," or "${String.fromCharCode(close)}" after ${after}, found ${found()}`);
  }
}

/** One sentence for the 400 response: where the body stops being JSON, and why. */
export function describeJsonSyntaxError(text: string, fallback: string): string {
  return `The body is ${jsonSyntaxProblem(text, fallback)}`;
}

/**
 * The same without a subject, for callers that name the file first:
 * `not valid JSON in data[3] (line 1, column 17): …`.
 */
export function jsonSyntaxProblem(text: string, fallback: string): string {
  const error = findJsonSyntaxError(text);
  if (!error) return `not valid JSON: ${fallback}`;
  const where = error.path === '(root)' ? '' : ` in ${error.path}`;
  return `not valid JSON${where} (line ${error.line}, column ${error.column}): ${error.problem}`;
}

/**
 * A byte-order mark is not JSON, but some clients and editors write one; it carries no data
 * (RFC 8259 section 8.1 lets parsers ignore it). JSON.parse does not, so it is cut first.
 */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function decodeKey(quoted: string): string {
  if (!quoted.includes('\\')) return quoted.slice(1, -1);
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return quoted.slice(1, -1);
  }
}

function describeChar(text: string, pos: number): string {
  const point = text.codePointAt(pos) ?? 0;
  const code = `U+${point.toString(16).toUpperCase().padStart(4, '0')}`;
  if (point > 0x20 && point < 0x7f) return `"${String.fromCodePoint(point)}"`;
  // Whitespace, control and non-ASCII characters are often invisible in a message: name them.
  return point > 0x7f ? `"${String.fromCodePoint(point)}" (${code})` : code;
}
