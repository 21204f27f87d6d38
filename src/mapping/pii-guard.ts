/**
 * Personal data that must not reach TimeBack unless the rule that produced the event lists
 * its category in `allowPii` (mappings/README.md "Personal data"). TimeBack needs the
 * student's platform id and nothing more about anyone.
 *
 * Two kinds of check: by what a key or value looks like (an e-mail address, an `ipAddress`
 * key, a Person's name), and, given the input event, by value: the identifiers and names of
 * the people the input names (identifying-values.ts), wherever the output holds them.
 */
import { isIP } from 'node:net';
import { formatPath } from '../errors.ts';
import { collectIdentifying, identifyingKey, keyLengths, locateIdentifying, MIN_IDENTIFYING_LENGTH, type IdentifyingCategory, type IdentifyingValues } from './identifying-values.ts';
import { findInText, inTextValues, type InTextValues } from './in-text-values.ts';
import { PII_CATEGORIES, type PiiCategory } from './rule-schema.ts';

export type PiiFinding =
  | {
      category: PiiCategory;
      /** Where in the event, e.g. `object.extensions["bb:user.externalId"]`. */
      path: string;
      /**
       * For a value found because the input identifies someone by it: where the input has it
       * (`actor.extensions["bb:user.externalId"]`), or `the student's id` when only the rule's
       * `student` path does. The value itself is never given: messages reach logs.
       */
      source?: string;
    }
  /** A value nested deeper than MAX_DEPTH: not looked into, so not let through either. */
  | { tooDeep: true; path: string };

const NAME_KEYS = new Set(['name', 'givenName', 'familyName', 'additionalName']);

// `local@domain` where the domain has a dot inside it. Not one regex with `[^@]+\.[^@]+`:
// where the dot goes is ambiguous, so a long run of dots took quadratic time to refuse (a
// 150,000-character name held the event loop for 12 s). Here each part is matched once.
const EMAIL_PARTS = /^(?:mailto:)?[^\s@:/]+@([^\s@/]+)$/i;
const EMAIL_IRI = /^(?:mailto|urn:email):/i;
// Cheap pre-checks, so most strings (IRIs, names of things) skip the exact tests.
const MAYBE_IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const MAYBE_IPV6 = /^[0-9a-f:.]*:[0-9a-f:.]*$/i;

const KEY_CATEGORIES = new Map<string, PiiCategory>([
  ['ipAddress', 'ip-address'],
  ['bb:request.headers.ipAddress', 'ip-address'],
  ['userAgent', 'user-agent'],
  ['bb:request.headers.agent', 'user-agent'],
  ['launchParameters', 'lti-parameters'],
  ['messageParameters', 'lti-parameters'],
  ['customParameters', 'lti-parameters'],
]);

function keyCategory(key: string): PiiCategory | undefined {
  const known = KEY_CATEGORIES.get(key);
  if (known !== undefined) return known;
  if (key.length === 5 && key.toLowerCase() === 'email') return 'email';
  if (key.startsWith('oauth_') || key.startsWith('lis_person_')) return 'lti-parameters';
  return undefined;
}

function valueCategory(text: string): PiiCategory | undefined {
  if (text.includes('@') && isEmail(text)) return 'email';
  const first = text.charCodeAt(0);
  // An IRI that starts mailto: or urn:email: names an address even when it is malformed.
  if (((first | 0x20) === 0x6d || (first | 0x20) === 0x75) && EMAIL_IRI.test(text)) return 'email';
  const maybeIp = (first >= 48 && first <= 57 && MAYBE_IPV4.test(text)) || (text.length >= 2 && text.length <= 45 && MAYBE_IPV6.test(text));
  return maybeIp && isIP(text) !== 0 ? 'ip-address' : undefined;
}

/** True for `[mailto:]local@domain` where the domain has a dot that is neither its first nor its last character. */
function isEmail(text: string): boolean {
  const domain = EMAIL_PARTS.exec(text)?.[1];
  return domain !== undefined && domain.lastIndexOf('.', domain.length - 2) > 0;
}

/**
 * How deep the check looks. A rule that copies a value whole (`{ from: … }`, extensions)
 * copies whatever nesting the sender chose, so what lies deeper is refused, not sent
 * unchecked: an address 100 levels down in a copied extension used to reach TimeBack.
 */
export const MAX_PII_DEPTH = 64;
const TOO_DEEP = 'too-deep';

/** The event the output was built from, for the check by value. */
export interface PiiInput {
  event: unknown;
  /** The id the rule's `student` paths read: identifying wherever the rule read it. */
  studentId?: string;
  /** What the gateway itself sends for the student (`urn:uuid:<platform id>`): never a finding. */
  own?: readonly string[];
  /**
   * Text the rule writes itself: the same for every student, so what the rule says, not what the
   * input says about someone. Not compared with the input's people (a lab named "Grace Hopper
   * Hall" is not a leak of student Grace Hopper's name); still checked by its shape (an address).
   */
  constants?: ReadonlySet<string>;
  /**
   * Text the event came with, outside it, that names no one: the envelope's sensor, Learn's
   * site id, which is in every Learn IRI. An identifying value equal to one is let through as a
   * coincidence, as one the event also holds where it identifies no one is (Learn's anonymized
   * samples give the student the site's id as batch_uid).
   */
  notPersonal?: readonly string[];
  /**
   * Ids the rule made by hashing text (`url-iri`), with that text. A hash of a URL that holds
   * a student's id is that id in disguise, stable and recomputable from a guess: it is checked
   * as the URL, wherever it stands.
   */
  hashed?: ReadonlyMap<string, string>;
}

const BOTH: ReadonlySet<IdentifyingCategory> = new Set(['user-id', 'name']);
const ONLY_IDS: ReadonlySet<IdentifyingCategory> = new Set(['user-id']);
const ONLY_NAMES: ReadonlySet<IdentifyingCategory> = new Set(['name']);

interface Check {
  allowed: ReadonlySet<PiiCategory>;
  path: PropertyKey[];
  /** Undefined when there is no input, it names no one, or the rule allows both categories. */
  identifying: IdentifyingValues | undefined;
  /**
   * The lengths of the texts that can be one of them: most output text (dates, types, IRIs) is
   * of another length and skips the lookup, which would lowercase it.
   */
  lengths: Set<number> | undefined;
  /** Those of them looked for inside longer text (in-text-values.ts). */
  inText: InTextValues | undefined;
  input: unknown;
  /** Values found in the output that the input also holds where they identify no one. */
  exempt: Set<string> | undefined;
  /** Where the input holds the value found, once one is. */
  source: PropertyKey[] | undefined;
  /** The student's id as compared (identifyingKey). */
  studentKey: string | undefined;
  constants: ReadonlySet<string> | undefined;
}

/** The first personal data in `event` that `allowed` does not cover, or undefined. */
export function findPii(event: unknown, allowed: ReadonlySet<PiiCategory>, input?: PiiInput): PiiFinding | undefined {
  if (allowed.size === PII_CATEGORIES.length) return undefined;
  if (input?.hashed !== undefined && input.hashed.size > 0) event = unhashed(event, input.hashed, MAX_PII_DEPTH + 1);
  let identifying: IdentifyingValues | undefined;
  if (input !== undefined) {
    const wanted = allowed.has('user-id') ? (allowed.has('name') ? undefined : ONLY_NAMES) : allowed.has('name') ? ONLY_IDS : BOTH;
    if (wanted !== undefined) identifying = collectIdentifying(input.event, wanted, input.studentId, input.own ?? []);
  }
  let lengths: Set<number> | undefined;
  let studentKey: string | undefined;
  let inText: InTextValues | undefined;
  if (identifying !== undefined) {
    inText = inTextValues(identifying);
    lengths = new Set();
    for (const key of identifying.keys()) keyLengths(key, lengths);
    if (input?.studentId !== undefined) studentKey = identifyingKey(input.studentId);
  }
  let exempt: Set<string> | undefined;
  if (identifying !== undefined && input?.notPersonal !== undefined) {
    for (const text of input.notPersonal) {
      const key = identifyingKey(text);
      if (key !== undefined && identifying.has(key)) (exempt ??= new Set()).add(key);
    }
  }
  const check: Check = { allowed, path: [], identifying, lengths, inText, input: input?.event, exempt, source: undefined, studentKey, constants: input?.constants };
  const category = visit(event, check, 0);
  if (category === undefined) return undefined;
  if (category === TOO_DEEP) return { tooDeep: true, path: formatPath(check.path) };
  const finding: PiiFinding = { category, path: formatPath(check.path) };
  if (check.source !== undefined) finding.source = check.source.length > 0 ? formatPath(check.source) : "the student's id";
  return finding;
}

/** Depth-first; on a finding, `check.path` is left pointing at it. */
function visit(value: unknown, check: Check, depth: number): PiiCategory | typeof TOO_DEEP | undefined {
  const { allowed, path } = check;
  if (typeof value === 'string') return stringCategory(value, check);
  if (typeof value === 'number') {
    // A numeric batch_uid read through the `number` transform.
    return check.identifying !== undefined && Number.isInteger(value) && Math.abs(value) >= 10_000 ? identifyingCategory(String(value), check) : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > MAX_PII_DEPTH) return TOO_DEEP;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      const found = visit(value[i], check, depth + 1);
      if (found) return found;
      path.pop();
    }
    return undefined;
  }
  const record = value as Record<string, unknown>;
  const isPerson = record.type === 'Person';
  for (const key in record) {
    if (!Object.prototype.hasOwnProperty.call(record, key)) continue;
    // A key is text a copied object holds (a map keyed by students). The finding names the
    // object, not the key: messages reach logs.
    const inKey = stringCategory(key, check);
    if (inKey !== undefined) return inKey;
    path.push(key);
    const byKey = isPerson && NAME_KEYS.has(key) ? 'name' : keyCategory(key);
    if (byKey !== undefined && !allowed.has(byKey)) return byKey;
    const found = visit(record[key], check, depth + 1);
    if (found) return found;
    path.pop();
  }
  return undefined;
}

function stringCategory(value: string, check: Check): PiiCategory | undefined {
  const found = textCategory(value, check);
  if (found !== undefined || !value.includes('%') || check.constants?.has(value)) return found;
  // An IRI writes an e-mail batch_uid's `@` as %40 (and any id it must, encoded): read as decoded too.
  const decoded = percentDecoded(value);
  return decoded === value ? undefined : textCategory(decoded, check);
}

function textCategory(value: string, check: Check): PiiCategory | undefined {
  const category = valueCategory(value);
  // An allowed address stays allowed when it is also a batch_uid: the rule sends addresses.
  if (category !== undefined) return check.allowed.has(category) ? undefined : category;
  const inQuery = hasQuery(value) ? queryCategory(value, check.allowed) : undefined;
  if (inQuery !== undefined) return inQuery;
  if (check.identifying === undefined || value.length < MIN_IDENTIFYING_LENGTH || check.constants?.has(value)) return undefined;
  return identifyingCategory(value, check) ?? (check.inText === undefined ? undefined : inTextCategory(value, check));
}

/** Whether `text` is a URL or IRI with a query: a `?` with no white space before it (a title's `?` is no query). */
function hasQuery(text: string): boolean {
  const mark = text.indexOf('?');
  return mark > 0 && !/\s/.test(text.slice(0, mark));
}

/**
 * The first category a query string (`…?name=value&…`) holds that `allowed` does not cover: a
 * parameter named as a key would be (Learn's launchUrl carries `lis_person_contact_email_primary`
 * and the rest of the launch form), or a value that is an address. Checked by shape, like keys.
 */
function queryCategory(text: string, allowed: ReadonlySet<PiiCategory>): PiiCategory | undefined {
  const start = text.indexOf('?');
  const hash = text.indexOf('#', start);
  for (const pair of text.slice(start + 1, hash < 0 ? undefined : hash).split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = formDecoded(equals < 0 ? pair : pair.slice(0, equals));
    const byName = keyCategory(name) ?? (name.toLowerCase() === 'ipaddress' ? 'ip-address' : undefined);
    if (byName !== undefined && !allowed.has(byName)) return byName;
    if (equals < 0) continue;
    const byValue = valueCategory(formDecoded(pair.slice(equals + 1)));
    if (byValue !== undefined && !allowed.has(byValue)) return byValue;
  }
  return undefined;
}

/** A query string's part as a form decodes it (`+` is a space), its broken escapes as they are. */
function formDecoded(part: string): string {
  const spaced = part.replaceAll('+', ' ');
  return spaced.includes('%') ? percentDecoded(spaced) : spaced;
}

/** `text` with each run of percent-escapes that is valid UTF-8 decoded; the rest as it is. */
function percentDecoded(text: string): string {
  return text.replace(/(?:%[0-9a-f]{2})+/gi, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/**
 * Exactly what `String.prototype.trim` (identifyingKey) removes: a space it trims but this missed
 * (U+3000 after a batch_uid) let the value skip the lookup, so reach TimeBack unchecked.
 */
export function isSpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) || code === 0x2028 || code === 0x2029 ||
    code === 0x202f || code === 0x205f || code === 0x3000 || code === 0xfeff
  );
}

/**
 * The category of `text` when it is one of the input's identifying values. A value the input
 * also holds where it identifies no one (a course number equal to a batch_uid) is let through:
 * the rule may have copied it from there, and an event must not be rejected for a coincidence.
 */
function identifyingCategory(text: string, check: Check): PiiCategory | undefined {
  // Text with spaces around it (Learn has sent batch_uids ending in newlines) is measured trimmed.
  if (!check.lengths!.has(text.length) && !(isSpace(text.charCodeAt(0)) || isSpace(text.charCodeAt(text.length - 1)))) return undefined;
  const key = identifyingKey(text);
  return key === undefined ? undefined : identifyingKeyCategory(key, check);
}

/**
 * The category of an identifying value inside `text` (a name in a title, a batch_uid in an IRI's
 * path): the rule copied text that names someone. A value the input also holds whole where it
 * identifies no one is skipped here as it is whole: the text may well hold that instead.
 */
function inTextCategory(text: string, check: Check): PiiCategory | undefined {
  for (;;) {
    const key = findInText(text, check.inText!, check.exempt);
    if (key === undefined) return undefined;
    const category = identifyingKeyCategory(key, check);
    if (category !== undefined) return category;
    // Exempt now (held where it identifies no one): look for the others.
    (check.exempt ??= new Set()).add(key);
  }
}

/** The category of the identifying value `key`, unless the input also holds it where it identifies no one. */
function identifyingKeyCategory(key: string, check: Check): PiiCategory | undefined {
  const category = check.identifying!.get(key);
  if (category === undefined || check.exempt?.has(key)) return undefined;
  // Only for a value found, so rarely: where the input holds it.
  const where = locateIdentifying(check.input, key, key === check.studentKey);
  if (where.elsewhere) {
    (check.exempt ??= new Set()).add(key);
    return undefined;
  }
  check.source = where.path ?? [];
  return category;
}

/** `value` with each hashed id replaced by the text it was made from (a copy where one is; depth as the check's). */
function unhashed(value: unknown, hashed: ReadonlyMap<string, string>, depth: number): unknown {
  if (typeof value === 'string') return hashed.get(value) ?? value;
  if (depth === 0 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => unhashed(item, hashed, depth - 1));
  // No prototype: a copied `__proto__` key stays a key (and is checked), not the copy's prototype.
  const out: Record<string, unknown> = Object.create(null);
  for (const [key, inner] of Object.entries(value)) out[key] = unhashed(inner, hashed, depth - 1);
  return out;
}
