/**
 * Where each event of an envelope lies in the request body, so every event is stored exactly
 * as Learn sent it: the same bytes, key order, number spelling and escapes. Translation and
 * replays start from this text, so "as received" means the received characters, not a
 * re-serialisation of our parsed copy (which would also cost a second pass over 25 MB).
 *
 * It works on the UTF-8 bytes, not on the decoded text, so intake can store each event
 * straight from the body without making a string of it: every byte JSON's structure uses
 * is ASCII, and no byte of a multi-byte UTF-8 character is below 0x80, so the bytes can be
 * scanned as they are.
 *
 * The scanner does not validate JSON: it skips strings (minding escaped quotes) and counts
 * brackets. Its caller parses every part it finds (see `locateEnvelopeData`), except the
 * events `readEventFields` has read in full on the way (event-fields.ts).
 */
import { MAX_PARSED_BYTES } from './envelope-schema.ts';
import { readEventFields, wordsOf, type EventFields } from './event-fields.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/** Where the envelope's (last, top-level) `data` array lies in the body. */
export interface DataLayout {
  /** Offset of the array's `[`. */
  open: number;
  /** Offset just after its `]`. */
  close: number;
  /** Start and end offsets of its elements: `[start0, end0, start1, end1, …]`. */
  slices: Uint32Array;
  /**
   * Per element, its fields when `readEventFields` found it a valid, well-formed event (it
   * need not be parsed), else undefined.
   */
  fields: Array<EventFields | undefined>;
}

/**
 * Finds the top-level `data` array and its elements, or undefined when the body has none or
 * its punctuation is off. Like `JSON.parse`, the last `data` member wins when the envelope
 * repeats the key; a leading byte-order mark is skipped.
 *
 * The array's own punctuation (one comma between elements, none before or after) is checked
 * here; what lies outside the array and inside each element is not: the caller parses those
 * (parse-envelope.ts), and together that is the whole body.
 */
export function locateEnvelopeData(bytes: Uint8Array): DataLayout | undefined {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  let pos = skipWhitespace(bytes, bom);
  if (bytes[pos] !== OPEN_OBJECT) return undefined;
  pos += 1;
  let layout: DataLayout | undefined;
  for (;;) {
    pos = skipWhitespace(bytes, pos);
    const code = bytes[pos];
    if (code === CLOSE_OBJECT || pos >= bytes.length) return layout;
    if (code === COMMA) {
      pos += 1;
      continue;
    }
    const keyStart = pos;
    pos = endOfString(bytes, pos);
    if (pos < 0) return undefined;
    const isData = isDataKey(bytes, keyStart, pos);
    pos = skipWhitespace(bytes, skipWhitespace(bytes, pos) + 1); // past the colon
    if (isData && bytes[pos] === OPEN_ARRAY) {
      const found: number[] = [];
      const fields: Array<EventFields | undefined> = [];
      const end = sliceArray(buffer, wordsOf(buffer), pos, found, fields);
      if (end < 0) return undefined;
      layout = { open: pos, close: end, slices: Uint32Array.from(found), fields };
      pos = end;
    } else {
      if (isData) layout = undefined;
      pos = endOfValue(bytes, pos);
    }
    if (pos < 0) return undefined;
  }
}

/**
 * The elements of the `data` array of a body `JSON.parse` accepts, or undefined when it does
 * not have `expected` of them.
 */
export function locateEventSlices(bytes: Uint8Array, expected: number): Uint32Array | undefined {
  const slices = locateEnvelopeData(bytes)?.slices;
  return slices && slices.length === expected * 2 ? slices : undefined;
}

/**
 * Records the elements of the array opening at `pos` into `out`, and the fields of those
 * `readEventFields` vouches for into `fields`; returns the offset after the array, or -1
 * when its punctuation is not JSON's.
 */
function sliceArray(bytes: Buffer, words: Int32Array, pos: number, out: number[], fields: Array<EventFields | undefined>): number {
  pos = skipWhitespace(bytes, pos + 1);
  if (bytes[pos] === CLOSE_ARRAY) return pos + 1;
  for (;;) {
    const start = pos;
    const code = bytes[pos];
    if (pos >= bytes.length || code === COMMA || code === CLOSE_ARRAY) return -1;
    const read: EventFields = { sourceId: '', type: '', action: '', eventTime: '' };
    pos = code === OPEN_OBJECT ? readEventFields(bytes, words, start, read) : -1;
    // An event too large to parse is kept unread (parse-envelope.ts), however well-formed.
    if (pos >= 0 && pos - start <= MAX_PARSED_BYTES) {
      fields.push(read);
    } else {
      fields.push(undefined);
      pos = endOfValue(bytes, start);
    }
    if (pos <= start) return -1;
    out.push(start, pos);
    pos = skipWhitespace(bytes, pos);
    if (bytes[pos] === CLOSE_ARRAY) return pos + 1;
    if (bytes[pos] !== COMMA) return -1;
    pos = skipWhitespace(bytes, pos + 1);
  }
}

/** The offset just after the value starting at `pos`, or -1 if the bytes ends first. */
function endOfValue(bytes: Uint8Array, pos: number): number {
  const first = bytes[pos];
  if (first === QUOTE) return endOfString(bytes, pos);
  if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
    let depth = 0;
    const length = bytes.length;
    while (pos < length) {
      const code = bytes[pos];
      if (code === QUOTE) {
        pos = endOfString(bytes, pos);
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
  while (pos < bytes.length) {
    const code = bytes[pos]!;
    if (code === COMMA || code === CLOSE_ARRAY || code === CLOSE_OBJECT || code <= 0x20) break;
    pos += 1;
  }
  return pos;
}

/** The offset just after the string whose opening quote is at `pos`, or -1. */
function endOfString(bytes: Uint8Array, pos: number): number {
  let from = pos + 1;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, from);
    if (quote < 0) return -1;
    // The quote is escaped only if an odd number of backslashes precede it.
    let backslashes = 0;
    while (bytes[quote - 1 - backslashes] === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

function skipWhitespace(bytes: Uint8Array, pos: number): number {
  for (;;) {
    const code = bytes[pos];
    if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) return pos;
    pos += 1;
  }
}

const DATA_KEY = Buffer.from('"data"');

/** Whether the key between `start` and `end` (quotes included) is `data`, escapes and all. */
function isDataKey(bytes: Uint8Array, start: number, end: number): boolean {
  const key = bytes.subarray(start, end);
  if (key.indexOf(BACKSLASH) < 0) return Buffer.compare(key, DATA_KEY) === 0;
  return JSON.parse(Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('utf8')) === 'data';
}
