/**
 * Identifying values found inside longer text: a thing's name such as "Reply from Lena Martin",
 * an IRI copied from the input whose path holds the student's batch_uid or Learn user UUID. A
 * whole value is looked up by pii-guard.ts; this finds one at token boundaries within text.
 *
 * Not every identifying value counts inside text, so that a coincidence does not reject an
 * event (a rejected event costs an admin a rule fix and a replay):
 * - a name only as a whole name (given and family, with a space): a family name alone is too
 *   often a word of a title ("English 101", "King Lear", "Walker Percy");
 * - an id of at least MIN_IN_TEXT_ID_LENGTH characters, and not a pk1 (`_501_1`): Learn numbers
 *   courses, contents and users each from 1, so user `_501_1` is in every IRI of course `_501_1`.
 *
 * The scan is one pass over the text with no allocation: at each token start, the first two
 * characters, case-folded, look up the candidates, each compared in place. Many candidates with
 * one long beginning in common (a group of 5,000 members) against text repeating it could still
 * take long: there are at most MAX_IN_TEXT_VALUES candidates (the student's first) and at most
 * IN_TEXT_BUDGET characters compared per event, beyond which values are only looked up whole.
 */
import type { IdentifyingValues } from './identifying-values.ts';

/** Ids shorter than this are matched only as whole values (`grader`, `admin1` are words too often). */
export const MIN_IN_TEXT_ID_LENGTH = 7;
/** Longer values (a pasted document as a name) are matched only whole: it bounds the work per candidate. */
const MAX_IN_TEXT_LENGTH = 512;
const PK1 = /^_\d+_\d+$/;
const MAX_IN_TEXT_VALUES = 64;
/** Shorter runs (`li` of `ada li`) would let most text through to the scan. */
const MIN_ANCHOR_LENGTH = 3;
/** Under 10 ms (a pathological case, measured). A Learn-shaped event compares a few hundred characters. */
const IN_TEXT_BUDGET = 1_000_000;

interface Candidate {
  /** Case-folded (foldCode), spaces collapsed to one U+0020. */
  folded: string;
  /** The value's key in IdentifyingValues. */
  key: string;
}

/** Candidates by the folded codes of their first two characters. */
export interface InTextValues {
  byStart: Map<number, Candidate[]>;
  shortest: number;
  /** Bit c set when a candidate starts with ASCII c: most token starts skip the lookup (a non-ASCII one never does). */
  firstAscii: [number, number, number, number];
  /**
   * Per candidate, a part of it every match holds as it is in the lowercased text (see
   * `anchorOf`); undefined when a candidate has none, and every text is scanned.
   */
  anchors: string[] | undefined;
  /** Characters left to compare for this event. */
  budget: number;
}

/** The values of `identifying` worth finding inside text, or undefined when there are none. */
export function inTextValues(identifying: IdentifyingValues): InTextValues | undefined {
  let byStart: Map<number, Candidate[]> | undefined;
  let shortest = Infinity;
  const firstAscii: [number, number, number, number] = [0, 0, 0, 0];
  let anchors: string[] | undefined = [];
  let count = 0;
  // In the order collected: the id the rule read as the student's first.
  for (const [key, category] of identifying) {
    if (count >= MAX_IN_TEXT_VALUES) break;
    if (key.length > MAX_IN_TEXT_LENGTH) continue;
    const forms: string[] = [];
    if (category === 'name') {
      const folded = foldText(key);
      if (folded.includes(' ')) forms.push(folded);
    } else if (key.length >= MIN_IN_TEXT_ID_LENGTH && !PK1.test(key)) {
      forms.push(foldText(key));
      // Learn's IRIs write its user UUIDs without dashes; the key is the dashed form.
      if (key.length === 36 && key.charCodeAt(8) === 0x2d) forms.push(key.replaceAll('-', ''));
    }
    for (const folded of forms) {
      const first = folded.charCodeAt(0);
      if (first < 0x80) firstAscii[first >> 5]! |= 1 << (first & 31);
      const start = startCode(first, folded.charCodeAt(1));
      byStart ??= new Map();
      let list = byStart.get(start);
      if (list === undefined) byStart.set(start, (list = []));
      list.push({ folded, key });
      const anchor = anchorOf(folded);
      if (anchor === undefined) anchors = undefined;
      else anchors?.push(anchor);
      count++;
      if (folded.length < shortest) shortest = folded.length;
    }
  }
  return byStart === undefined ? undefined : { byStart, shortest, firstAscii, anchors, budget: IN_TEXT_BUDGET };
}

/** The key of the first value of `values` found in `text` at token boundaries, but for those in `skip`. */
export function findInText(text: string, values: InTextValues, skip?: ReadonlySet<string>): string | undefined {
  const { byStart, shortest, firstAscii } = values;
  const length = text.length;
  if (length < shortest || !mayHoldOne(text, values.anchors)) return undefined;
  let inToken = false;
  for (let i = 0; i + 1 < length; i++) {
    const code = text.charCodeAt(i);
    const token = code < 0x80 ? ASCII_TOKEN[code] === 1 : isTokenCode(code);
    // A match starts at the text's start, after a non-token character, or with one.
    if (inToken && token) continue;
    inToken = token;
    const first = code < 0x80 ? ASCII_FOLD[code]! : foldCode(code);
    if (first < 0x80 && ((firstAscii[first >> 5]! >>> (first & 31)) & 1) === 0) continue;
    const list = byStart.get(startCode(first, foldCode(text.charCodeAt(i + 1))));
    if (list === undefined) continue;
    for (const candidate of list) {
      if (skip?.has(candidate.key)) continue;
      if (values.budget <= 0) return undefined;
      const end = matchAt(text, i, candidate.folded, values);
      if (end >= 0 && (end === length || !isTokenCode(text.charCodeAt(end)) || !isTokenCode(candidate.folded.charCodeAt(candidate.folded.length - 1)))) {
        return candidate.key;
      }
    }
  }
  return undefined;
}

/**
 * The longest run of a candidate's ASCII characters between spaces, when it is at least
 * MIN_ANCHOR_LENGTH long (`lovelace` of `ada lovelace`, a whole batch_uid). Where `matchAt`
 * matches the candidate, the text holds that run folded character by character, and an ASCII
 * character folds as `toLowerCase` lowers it (a character that lowers to ASCII, as the Kelvin
 * sign does, folds to the same), so the lowercased text holds the run as it is.
 */
function anchorOf(folded: string): string | undefined {
  let bestStart = 0;
  let bestLength = 0;
  let start = 0;
  for (let i = 0; i <= folded.length; i++) {
    const code = i < folded.length ? folded.charCodeAt(i) : 0;
    if (code > 0x20 && code < 0x7f) continue;
    if (i - start > bestLength) {
      bestStart = start;
      bestLength = i - start;
    }
    start = i + 1;
  }
  return bestLength >= MIN_ANCHOR_LENGTH ? folded.slice(bestStart, bestStart + bestLength) : undefined;
}

/**
 * Whether `text` may hold a candidate: a match needs its anchor, which the native search finds
 * far faster than the scan, one character at a time in JavaScript (about 12 ns each here), in
 * text that holds none (most of it: types, dates, the gateway's own ids).
 */
function mayHoldOne(text: string, anchors: readonly string[] | undefined): boolean {
  if (anchors === undefined) return true;
  const lower = text.toLowerCase();
  for (const anchor of anchors) if (lower.includes(anchor)) return true;
  return false;
}

/** Where the match of `folded` at `start` ends, or -1. A space matches any run of spaces. */
function matchAt(text: string, start: number, folded: string, values: InTextValues): number {
  let at = start;
  for (let j = 0; j < folded.length; j++) {
    values.budget--;
    if (at >= text.length) return -1;
    const want = folded.charCodeAt(j);
    const code = text.charCodeAt(at++);
    const got = code < 0x80 ? ASCII_FOLD[code]! : foldCode(code);
    if (got !== want) return -1;
    if (want === 0x20) {
      while (at < text.length && foldCode(text.charCodeAt(at)) === 0x20) {
        at++;
        values.budget--;
      }
    }
  }
  return at;
}

function startCode(first: number, second: number): number {
  return first * 0x10000 + second;
}

/**
 * Letters, digits and `_` (as a regex's `\w`), and any other character outside ASCII that is not a
 * space or punctuation (Latin-1's `«»¿·`, general and CJK punctuation). `_` joins: Learn's pk1s
 * (`_1234567_1`, a post's) would otherwise hold a numeric batch_uid `1234567` as a token, and
 * large schools number posts into the millions.
 */
function isTokenCode(code: number): boolean {
  if (code < 0x80) return (code >= 0x30 && code <= 0x39) || ((code | 0x20) >= 0x61 && (code | 0x20) <= 0x7a) || code === 0x5f;
  if (code <= 0xbf) return code === 0xaa || code === 0xb5 || code === 0xba;
  if (code === 0xd7 || code === 0xf7) return false;
  return foldCode(code) !== 0x20 && !(code >= 0x2000 && code <= 0x206f) && !(code >= 0x3000 && code <= 0x303f);
}

const folds = new Map<number, number>();
const ASCII_TOKEN = new Uint8Array(0x80);
const ASCII_FOLD = new Uint16Array(0x80);
for (let code = 0; code < 0x80; code++) {
  ASCII_TOKEN[code] = isTokenCode(code) ? 1 : 0;
  ASCII_FOLD[code] = foldCode(code);
}

/**
 * A character as compared: lowercase, any space as U+0020. One character at a time (not the
 * text's toLowerCase, which would allocate a copy of every text checked); what lowercases to
 * more than one character stays itself, on both sides.
 */
function foldCode(code: number): number {
  if (code < 0x80) return code >= 0x41 && code <= 0x5a ? code + 0x20 : code <= 0x20 && (code === 0x20 || (code >= 0x09 && code <= 0x0d)) ? 0x20 : code;
  let folded = folds.get(code);
  if (folded === undefined) {
    const text = String.fromCharCode(code);
    const lower = text.toLowerCase();
    folded = text.trim() === '' ? 0x20 : lower.length === 1 ? lower.charCodeAt(0) : code;
    folds.set(code, folded);
  }
  return folded;
}

/** `text` folded as foldCode folds each character, runs of spaces as one. */
function foldText(text: string): string {
  if (isFolded(text)) return text;
  let out = '';
  let space = false;
  for (let i = 0; i < text.length; i++) {
    const code = foldCode(text.charCodeAt(i));
    if (code === 0x20 && space) continue;
    space = code === 0x20;
    out += String.fromCharCode(code);
  }
  return out;
}

/** True for lowercase ASCII text without two spaces in a row or a space other than U+0020, as most keys are. */
function isFolded(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80 || (code >= 0x41 && code <= 0x5a) || (code <= 0x20 && (code !== 0x20 || text.charCodeAt(i + 1) === 0x20))) return false;
  }
  return true;
}
