/**
 * Where each event of an envelope lies in the body text, so every event is stored exactly
 * as Learn sent it: the same bytes, key order, number spelling and escapes. Translation and
 * replays start from this text, so "as received" means the received characters, not a
 * re-serialisation of our parsed copy (which would also cost a second pass over 25 MB).
 *
 * Only ever called on text that `JSON.parse` has accepted, so the scanner need not
 * validate: it skips strings (minding escaped quotes) and counts brackets.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/**
 * Start and end offsets (`[start0, end0, start1, end1, …]`) of the elements of the
 * top-level `data` array, or undefined when the text does not have `expected` of them (the
 * caller then falls back to re-serialising, which keeps the content if not the spelling).
 * Like `JSON.parse`, the last `data` member wins when the envelope repeats the key.
 */
export function locateEventSlices(text: string, expected: number): Uint32Array | undefined {
  let pos = skipWhitespace(text, 0);
  if (text.charCodeAt(pos) !== OPEN_OBJECT) return undefined;
  pos += 1;
  let slices: Uint32Array | undefined;
  for (;;) {
    pos = skipWhitespace(text, pos);
    const code = text.charCodeAt(pos);
    if (code === CLOSE_OBJECT || pos >= text.length) return slices;
    if (code === COMMA) {
      pos += 1;
      continue;
    }
    const keyStart = pos;
    pos = endOfString(text, pos);
    if (pos < 0) return undefined;
    const key = decodeKey(text.slice(keyStart, pos));
    pos = skipWhitespace(text, skipWhitespace(text, pos) + 1); // past the colon
    if (key === 'data' && text.charCodeAt(pos) === OPEN_ARRAY) {
      const found = new Uint32Array(expected * 2);
      const scan = sliceArray(text, pos, found);
      slices = scan.count === expected ? found : undefined;
      pos = scan.end;
    } else {
      if (key === 'data') slices = undefined;
      pos = endOfValue(text, pos);
    }
    if (pos < 0) return undefined;
  }
}

/**
 * Records the elements of the array opening at `pos` into `out` (as many as fit) and
 * counts them all; `end` is the offset after the array, or -1.
 */
function sliceArray(text: string, pos: number, out: Uint32Array): { end: number; count: number } {
  let count = 0;
  pos += 1;
  for (;;) {
    pos = skipWhitespace(text, pos);
    const code = text.charCodeAt(pos);
    if (code === CLOSE_ARRAY) return { end: pos + 1, count };
    if (code === COMMA) {
      pos += 1;
      continue;
    }
    if (pos >= text.length) return { end: -1, count };
    const start = pos;
    pos = endOfValue(text, pos);
    if (pos < 0) return { end: -1, count };
    if (count * 2 < out.length) {
      out[count * 2] = start;
      out[count * 2 + 1] = pos;
    }
    count += 1;
  }
}

/** The offset just after the value starting at `pos`, or -1 if the text ends first. */
function endOfValue(text: string, pos: number): number {
  const first = text.charCodeAt(pos);
  if (first === QUOTE) return endOfString(text, pos);
  if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
    let depth = 0;
    const length = text.length;
    while (pos < length) {
      const code = text.charCodeAt(pos);
      if (code === QUOTE) {
        pos = endOfString(text, pos);
        if (pos < 0) return -1;
        continue;
      }
      if (code === OPEN_OBJECT || code === OPEN_ARRAY) depth += 1;
      else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
        depth -= 1;
        if (depth === 0) return pos + 1;
      }
      pos += 1;
    }
    return -1;
  }
  // A number, true, false or null: runs until a separator, closer or whitespace.
  while (pos < text.length) {
    const code = text.charCodeAt(pos);
    if (code === COMMA || code === CLOSE_ARRAY || code === CLOSE_OBJECT || code <= 0x20) break;
    pos += 1;
  }
  return pos;
}

/** The offset just after the string whose opening quote is at `pos`, or -1. */
function endOfString(text: string, pos: number): number {
  let from = pos + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return -1;
    // The quote is escaped only if an odd number of backslashes precede it.
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

function skipWhitespace(text: string, pos: number): number {
  for (;;) {
    const code = text.charCodeAt(pos);
    if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) return pos;
    pos += 1;
  }
}

function decodeKey(quoted: string): string {
  return quoted.includes('\\') ? (JSON.parse(quoted) as string) : quoted.slice(1, -1);
}
