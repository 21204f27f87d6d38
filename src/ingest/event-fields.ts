/**
 * The fields intake indexes an event by (id, type, action, eventTime), read straight from
 * its bytes in the same pass that checks it is JSON, so a well-formed event is never parsed.
 *
 * Parsing each event was the largest part of the event loop's time at intake: for a 3.6 KB
 * event `JSON.parse` builds some 150 objects and strings, five of them are read, and the rest
 * is garbage. This pass checks the whole event against JSON's grammar (RFC 8259: the inputs
 * `JSON.parse` accepts) without building anything, and decodes only the strings intake keeps.
 *
 * It answers only when sure. Anything it does not handle in full (a key it needs written with
 * an escape, a repeated `id`, `actor` as anything but a string or an object, a missing field,
 * nesting deeper than MAX_DEPTH, a byte that is not JSON) makes it give up, and the caller
 * parses the event as before, which also words every error. A test runs it against
 * `JSON.parse` and `eventProblem` on generated and hand-picked input (event-fields.test.ts).
 */
import { hasText, isIsoDateTime, MAX_EVENT_FIELD_CHARS } from './envelope-schema.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const LOWER_U = 0x75;

/** Containers open at once beyond which the caller's parse takes over (Learn's events nest a few levels deep). */
const MAX_DEPTH = 64;

/** Which field a value belongs to. */
const OTHER = 0;
const ID = 1;
const TYPE = 2;
const ACTION = 3;
const EVENT_TIME = 4;
const ACTOR = 5;
/** `id` or `type` inside an `actor` object: a string, if there at all. */
const ACTOR_MEMBER = 6;
/** Every field an event must have, as bits of `seen`. */
const ALL_FIELDS = (1 << ID) | (1 << TYPE) | (1 << ACTION) | (1 << EVENT_TIME) | (1 << ACTOR);

/** Where the event's string fields lie: the offsets of each one's opening and closing quote. */
const quotes = new Int32Array(2 * (ACTOR + 1));
/** Whether each field's string holds an escape (decoded by JSON.parse, not by hand). */
const escaped = new Uint8Array(ACTOR + 1);
/** The kind of each container open (its opening byte), by depth. */
const stack = new Uint8Array(MAX_DEPTH + 1);
/** The field the key `readKey` last read names. */
let keyField = OTHER;
/** A bit per top-level field met so far: a repeated one gives up (JSON.parse keeps the last). */
let seen = 0;

/** What `readEventFields` found, as intake stores it: the three names trimmed, the time as sent. */
export interface EventFields {
  sourceId: string;
  type: string;
  action: string;
  eventTime: string;
}

/**
 * Reads the event whose `{` is at `start`: the offset just after its `}`, with its fields
 * in `out`, when it is valid JSON and an event `eventProblem` finds nothing wrong with;
 * -1 when it is not, or this pass is not sure (the caller then parses it).
 *
 * `bytes` must be valid UTF-8 (as intake checks every body first); `words` is `wordsOf(bytes)`.
 */
export function readEventFields(bytes: Buffer, words: Int32Array, start: number, out: EventFields): number {
  const end = scanEvent(bytes, words, start);
  if (end < 0) return -1;
  const sourceId = fieldText(bytes, ID);
  const type = fieldText(bytes, TYPE);
  const action = fieldText(bytes, ACTION);
  const eventTime = fieldText(bytes, EVENT_TIME);
  if (!hasText(sourceId) || !hasText(type) || !hasText(action) || !isIsoDateTime(eventTime)) return -1;
  // `actor` as an object was checked by the scan; as a string, it must not be blank.
  if (quotes[2 * ACTOR]! >= 0 && !hasText(fieldText(bytes, ACTOR))) return -1;
  const trimmedId = sourceId.trim();
  const trimmedType = type.trim();
  const trimmedAction = action.trim();
  // Over the bound, the event is rejected: the parse words why.
  if (
    trimmedId.length > MAX_EVENT_FIELD_CHARS ||
    trimmedType.length > MAX_EVENT_FIELD_CHARS ||
    trimmedAction.length > MAX_EVENT_FIELD_CHARS
  ) {
    return -1;
  }
  out.sourceId = trimmedId;
  out.type = trimmedType;
  out.action = trimmedAction;
  out.eventTime = eventTime;
  return end;
}

/**
 * The memory under `bytes` as 32-bit words, for `plainWordsEnd`: made once per body, not
 * per event.
 */
export function wordsOf(bytes: Buffer): Int32Array {
  return new Int32Array(bytes.buffer, 0, bytes.buffer.byteLength >>> 2);
}

/**
 * Inside a string, the bytes that need a look are quotes, backslashes and control bytes;
 * most are none of these (URLs, ids, names), and a 3.6 KB event took about 4 µs one byte at
 * a time. This skips 4 bytes at a step while none of them is one: from `from`, a multiple of
 * 4 (offsets in the memory under the body), to the first word holding one, or the last word
 * wholly before `end`. It returns an offset at or after `from`; the caller reads on from
 * there byte by byte.
 *
 * The test per word is the classic one for "some byte is below n" (n at most 128):
 * (x - n * 0x01010101) & ~x & 0x80808080 is non-zero exactly when one is, for a zero byte
 * after an XOR with the byte looked for, and for bytes below 0x20 directly. Bytes of 0x80 and
 * over (UTF-8 beyond ASCII) never count.
 */
function plainWordsEnd(words: Int32Array, from: number, end: number): number {
  let word = from >>> 2;
  const last = (end >>> 2) - 1;
  while (word <= last) {
    const x = words[word]!;
    const quote = x ^ 0x22222222;
    const backslash = x ^ 0x5c5c5c5c;
    const special = ((quote - 0x01010101) & ~quote) | ((backslash - 0x01010101) & ~backslash) | ((x - 0x20202020) & ~x);
    if ((special & 0x80808080) !== 0) break;
    word += 1;
  }
  return word * 4;
}

/** The value of a string field the scan found. */
function fieldText(bytes: Buffer, field: number): string {
  const open = quotes[2 * field]!;
  const close = quotes[2 * field + 1]!;
  // Without escapes, a JSON string's value is its bytes decoded as UTF-8.
  if (escaped[field] === 0) return bytes.toString('utf8', open + 1, close);
  return JSON.parse(bytes.toString('utf8', open, close + 1)) as string;
}

/**
 * Checks the JSON object at `start` and notes where its fields lie: the offset after it,
 * or -1 to give up. Iterative, with its own stack of open containers.
 */
function scanEvent(bytes: Buffer, words: Int32Array, start: number): number {
  if (bytes[start] !== OPEN_OBJECT) return -1;
  const length = bytes.length;
  const base = bytes.byteOffset;
  quotes.fill(-1);
  escaped.fill(0);
  seen = 0;
  /** The depth of the actor object while it is open, else 0. */
  let actorDepth = 0;
  let depth = 0;
  /** The field the value at `pos` belongs to. */
  let field = OTHER;
  let pos = start;

  // Each turn reads the value at `pos`, then what follows it: a comma and the next member
  // (the next turn reads its value), or closers, up to the end of the event.
  for (;;) {
    let code = bytes[pos];
    while (code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09) code = bytes[++pos];

    if (code === QUOTE) {
      const open = pos;
      let hasEscape = 0;
      pos += 1;
      for (;;) {
        if (((base + pos) & 3) === 0) pos = plainWordsEnd(words, base + pos, base + length) - base;
        if (pos >= length) return -1;
        const char = bytes[pos]!;
        if (char === QUOTE) break;
        if (char === BACKSLASH) {
          const skip = escapeLength(bytes, pos);
          if (skip === 0) return -1;
          hasEscape = 1;
          pos += skip;
        } else if (char < 0x20) {
          return -1;
        } else {
          pos += 1;
        }
      }
      if (field !== OTHER && field !== ACTOR_MEMBER) {
        quotes[2 * field] = open;
        quotes[2 * field + 1] = pos;
        escaped[field] = hasEscape;
      }
      pos += 1;
    } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      // Only the actor may be a container among the fields read.
      if (field !== OTHER && !(field === ACTOR && code === OPEN_OBJECT)) return -1;
      if (depth === MAX_DEPTH) return -1;
      depth += 1;
      stack[depth] = code;
      if (field === ACTOR) actorDepth = depth;
      pos += 1;
      let next = bytes[pos];
      while (next === 0x20 || next === 0x0a || next === 0x0d || next === 0x09) next = bytes[++pos];
      if (code === OPEN_OBJECT) {
        if (next !== CLOSE_OBJECT) {
          pos = readKey(bytes, pos, depth, actorDepth);
          if (pos < 0) return -1;
          field = keyField;
          continue;
        }
      } else if (next !== CLOSE_ARRAY) {
        field = OTHER;
        continue;
      }
      // An empty container: its closer is read below.
    } else if (field !== OTHER) {
      // A number or a literal where a string (or the actor object) must be: not for this pass.
      return -1;
    } else if (code === MINUS || (code !== undefined && code >= ZERO && code <= NINE)) {
      pos = numberEnd(bytes, pos);
      if (pos < 0) return -1;
    } else if (code === 0x74) {
      if (bytes[pos + 1] !== 0x72 || bytes[pos + 2] !== 0x75 || bytes[pos + 3] !== 0x65) return -1; // true
      pos += 4;
    } else if (code === 0x66) {
      if (bytes[pos + 1] !== 0x61 || bytes[pos + 2] !== 0x6c || bytes[pos + 3] !== 0x73 || bytes[pos + 4] !== 0x65) return -1; // false
      pos += 5;
    } else if (code === 0x6e) {
      if (bytes[pos + 1] !== 0x75 || bytes[pos + 2] !== 0x6c || bytes[pos + 3] !== 0x6c) return -1; // null
      pos += 4;
    } else {
      return -1;
    }

    // After a value: a comma and the next element or member, or the container's closer.
    for (;;) {
      code = bytes[pos];
      while (code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09) code = bytes[++pos];
      const container = stack[depth];
      if (code === COMMA) {
        pos += 1;
        if (container === OPEN_OBJECT) {
          pos = readKey(bytes, pos, depth, actorDepth);
          if (pos < 0) return -1;
          field = keyField;
        } else {
          field = OTHER;
        }
        break;
      }
      if (code !== (container === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) return -1;
      pos += 1;
      if (depth === actorDepth) actorDepth = 0;
      depth -= 1;
      if (depth === 0) return seen === ALL_FIELDS ? pos : -1;
    }
  }
}

/**
 * Reads the key at `pos` (after any whitespace), the colon and the whitespace after it:
 * the offset of the value, or -1. Sets `keyField` to the field the key names: at the top
 * (`depth` 1) one of the five, in the actor object `id` or `type`, anywhere else none. A
 * top-level field met twice gives up.
 */
function readKey(bytes: Buffer, pos: number, depth: number, actorDepth: number): number {
  let code = bytes[pos];
  while (code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09) code = bytes[++pos];
  if (code !== QUOTE) return -1;
  const open = pos;
  let hasEscape = false;
  pos += 1;
  for (;;) {
    if (pos >= bytes.length) return -1;
    const char = bytes[pos]!;
    if (char === QUOTE) break;
    if (char === BACKSLASH) {
      const skip = escapeLength(bytes, pos);
      if (skip === 0) return -1;
      hasEscape = true;
      pos += skip;
    } else if (char < 0x20) {
      return -1;
    } else {
      pos += 1;
    }
  }
  const size = pos - open - 1;
  keyField = OTHER;
  if (depth === 1) {
    // An escaped key may spell one of the five: not for this pass.
    if (hasEscape) return -1;
    if (size === 2 && bytes[open + 1] === 0x69 && bytes[open + 2] === 0x64) keyField = ID;
    else if (size === 4 && isKey(bytes, open, TYPE_KEY)) keyField = TYPE;
    else if (size === 6 && isKey(bytes, open, ACTION_KEY)) keyField = ACTION;
    else if (size === 9 && isKey(bytes, open, EVENT_TIME_KEY)) keyField = EVENT_TIME;
    else if (size === 5 && isKey(bytes, open, ACTOR_KEY)) keyField = ACTOR;
    if (keyField !== OTHER) {
      if ((seen & (1 << keyField)) !== 0) return -1;
      seen |= 1 << keyField;
    }
  } else if (depth === actorDepth) {
    if (hasEscape) return -1;
    if ((size === 2 && bytes[open + 1] === 0x69 && bytes[open + 2] === 0x64) || (size === 4 && isKey(bytes, open, TYPE_KEY))) {
      keyField = ACTOR_MEMBER;
    }
  }
  pos += 1;
  code = bytes[pos];
  while (code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09) code = bytes[++pos];
  return code === COLON ? pos + 1 : -1;
}

const TYPE_KEY = Buffer.from('type');
const ACTION_KEY = Buffer.from('action');
const EVENT_TIME_KEY = Buffer.from('eventTime');
const ACTOR_KEY = Buffer.from('actor');

/** Whether the key whose opening quote is at `open` is `name` (its length already matched). */
function isKey(bytes: Buffer, open: number, name: Buffer): boolean {
  for (let i = 0; i < name.length; i++) if (bytes[open + 1 + i] !== name[i]) return false;
  return true;
}

/** How many bytes the escape at `pos` (a backslash) takes, or 0 if JSON has no such escape. */
function escapeLength(bytes: Buffer, pos: number): number {
  switch (bytes[pos + 1]) {
    case QUOTE:
    case BACKSLASH:
    case 0x2f: // /
    case 0x62: // b
    case 0x66: // f
    case 0x6e: // n
    case 0x72: // r
    case 0x74: // t
      return 2;
    case LOWER_U:
      return isHex(bytes[pos + 2]) && isHex(bytes[pos + 3]) && isHex(bytes[pos + 4]) && isHex(bytes[pos + 5]) ? 6 : 0;
    default:
      return 0;
  }
}

function isHex(code: number | undefined): boolean {
  return code !== undefined && ((code >= ZERO && code <= NINE) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66));
}

const isDigit = (code: number | undefined) => code !== undefined && code >= ZERO && code <= NINE;

/** The offset after the number at `pos` (RFC 8259: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`), or -1. */
function numberEnd(bytes: Buffer, pos: number): number {
  if (bytes[pos] === MINUS) pos += 1;
  if (bytes[pos] === ZERO) pos += 1;
  else if (isDigit(bytes[pos])) while (isDigit(bytes[pos])) pos += 1;
  else return -1;
  if (bytes[pos] === DOT) {
    pos += 1;
    if (!isDigit(bytes[pos])) return -1;
    while (isDigit(bytes[pos])) pos += 1;
  }
  if (bytes[pos] === LOWER_E || bytes[pos] === UPPER_E) {
    pos += 1;
    if (bytes[pos] === PLUS || bytes[pos] === MINUS) pos += 1;
    if (!isDigit(bytes[pos])) return -1;
    while (isDigit(bytes[pos])) pos += 1;
  }
  // What follows (a comma, a closer, whitespace, or anything else: "01", "1x") is the
  // caller's to check.
  return pos;
}
