/**
 * The values in a Learn event that identify a person (the student, a classmate, a grader): their
 * batch_uid, pk1, user name, Learn IRI, sourcedId and names. The personal-data guard looks for
 * them in what a rule built, wherever a rule put them: a batch_uid such as `s1234567` does not
 * look personal, so only knowing it is the student's can keep it from TimeBack.
 *
 * A value counts whole (see `identifyingKey`) or, for whole names and longer ids, inside longer
 * text at token boundaries (in-text-values.ts): the rule language copies input values whole, but a
 * value it copies (a title, an IRI) can hold one. A part of a token never counts: that would reject
 * a course whose number contains a student's initials.
 */
import { PERSON_VALUED_PROPERTIES, caliperTerm } from './caliper-vocabulary.ts';

export type IdentifyingCategory = 'user-id' | 'name';

/**
 * Shorter values are never identifying: a one-letter initial, a pk1 such as `_9_1`, a
 * two-letter family name would match a course section "B", a score's text or a word by
 * chance, and an event must not be rejected for that. A person's name on a Person stays
 * caught by its key whatever its length (pii-guard.ts).
 */
export const MIN_IDENTIFYING_LENGTH = 5;

/**
 * What the text under a key identifies, by key, in one lookup (this runs for every key of every
 * event): `user-id`/`name` wherever the key is (Learn's extensions, LTI launch forms, rosters);
 * `person-id`/`person-name` only on a Person; `person-iri` only as text (`member`, `assignee`:
 * a person given by IRI alone); `identifier` only in a person's `otherIdentifiers`; `member-uuid`
 * only in Learn's `bb:group.users` (a member's Learn user UUID, beside their batch_uid).
 */
type KeyKind = IdentifyingCategory | 'person-id' | 'person-name' | 'person-iri' | 'identifier' | 'member-uuid' | 'members' | 'other-identifiers';
const KEY_KINDS = new Map<string, KeyKind>([
  ...[
    // `batchUId` is how Learn's 1.1 docs spell a group member's batch_uid; its 1.0 events sent `batchUid`.
    'bb:user.externalId', 'bb:user.id', 'batchUid', 'batchUId', 'batch_uid', 'user_id', 'userId', 'lis_person_sourcedid',
    'sourcedId', 'sourcedid', 'username', 'userName', 'user_name', 'ext_user_username', 'loginId',
  ].map((key) => [key, 'user-id'] as const),
  ...['lis_person_name_full', 'lis_person_name_given', 'lis_person_name_family'].map((key) => [key, 'name'] as const),
  ['id', 'person-id'],
  ['@id', 'person-id'],
  ...['name', 'givenName', 'familyName', 'additionalName'].map((key) => [key, 'person-name'] as const),
  ...[...PERSON_VALUED_PROPERTIES].map((key) => [key, 'person-iri'] as const),
  ['identifier', 'identifier'],
  ['uuid', 'member-uuid'],
  ['bb:group.users', 'members'],
  ['otherIdentifiers', 'other-identifiers'],
]);

// Hostile input cannot make the walk recurse without end; Learn nests persons 4 levels deep.
const MAX_DEPTH = 32;

/**
 * What an output value and an identifying value are compared as: trimmed, lowercase (the
 * `lowercase` transform must not hide a batch_uid), and a UUID in any of its forms (32 hex
 * digits, `urn:uuid:`) in its dashed form. Undefined for a value too short, or true/false, to
 * count. No regex: this runs for output text.
 */
export function identifyingKey(text: string): string | undefined {
  let key = text.trim();
  if (key.length < MIN_IDENTIFYING_LENGTH) return undefined;
  key = key.toLowerCase();
  if (key === 'false') return undefined;
  if (key.length > 9 && key.startsWith('urn:uuid:')) key = key.slice(9);
  return key.length === 32 && isHex(key) ? `${key.slice(0, 8)}-${key.slice(8, 12)}-${key.slice(12, 16)}-${key.slice(16, 20)}-${key.slice(20)}` : key;
}

function isHex(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!((code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66))) return false;
  }
  return true;
}

/**
 * The lengths of the output texts that can have `key`: most output text (dates, types, IRIs) is
 * of none of them and skips the lookup, which would lowercase it.
 */
export function keyLengths(key: string, lengths: Set<number>): void {
  lengths.add(key.length);
  // A UUID's other forms: 32 hex digits, urn:uuid: dashed or not.
  if (key.length === 36 && key.charCodeAt(8) === 0x2d) for (const length of [32, 41, 45]) lengths.add(length);
}

/** Identifying values by their key (identifyingKey), with the kind of each. */
export type IdentifyingValues = Map<string, IdentifyingCategory>;

/**
 * Every identifying value of `input`, plus `studentId` (the id the rule read as the student's,
 * wherever it read it), less `own` (the student's TimeBack ids, which the gateway itself sends).
 * Only the categories in `wanted` are collected; undefined when there are none.
 */
export function collectIdentifying(
  input: unknown,
  wanted: ReadonlySet<IdentifyingCategory>,
  studentId: string | undefined,
  own: readonly string[],
): IdentifyingValues | undefined {
  const collector: Collector = { wanted, found: undefined };
  if (studentId !== undefined) addIdentifying(collector, studentId, 'user-id');
  collect(input, collector, undefined, 'event', 0);
  const found = collector.found;
  if (found !== undefined) {
    for (const text of own) {
      const key = identifyingKey(text);
      if (key !== undefined) found.delete(key);
    }
  }
  return found?.size ? found : undefined;
}

interface Collector {
  wanted: ReadonlySet<IdentifyingCategory>;
  found: IdentifyingValues | undefined;
}

function addIdentifying(collector: Collector, text: string, category: IdentifyingCategory): void {
  // Learn repeats a person's IRI and ids in actor, membership and object: one look is enough.
  if (!collector.wanted.has(category) || collector.found?.has(text)) return;
  const key = identifyingKey(text);
  if (key !== undefined) (collector.found ??= new Map()).set(key, category);
  // A person's IRI names them by its last segment too (Learn's user UUID is also the LTI user_id).
  if (category === 'user-id' && text.includes('/')) {
    const segment = lastSegment(text);
    const segmentKey = segment === undefined ? undefined : identifyingKey(segment);
    if (segmentKey !== undefined) (collector.found ??= new Map()).set(segmentKey, category);
  }
}

/** The walk of walkInput without a path or a callback: it runs for every event. */
function collect(value: unknown, collector: Collector, category: IdentifyingCategory | undefined, within: Within, depth: number): void {
  if (typeof value === 'string') {
    if (category !== undefined) addIdentifying(collector, value, category);
    return;
  }
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) {
    if (category !== undefined && typeof value === 'number' && Number.isFinite(value) && Math.abs(value) >= 10_000) addIdentifying(collector, String(value), category);
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) collect(value[i], collector, category, within, depth + 1);
    return;
  }
  const record = value as Record<string, unknown>;
  const isPerson = within === 'members' || isPersonType(record);
  for (const key in record) {
    if (!Object.prototype.hasOwnProperty.call(record, key)) continue;
    const kind = KEY_KINDS.get(key);
    const child = record[key];
    // Most values are text or numbers under keys that identify no one: nothing to look into.
    if (kind === undefined && (child === null || typeof child !== 'object')) continue;
    if (kind === 'members') collect(typeof child === 'string' ? parseMembers(child) : child, collector, undefined, 'members', depth + 1);
    else if (kind === 'other-identifiers' && isPerson) collect(child, collector, undefined, 'identifiers', depth + 1);
    else collect(child, collector, kind === undefined ? undefined : kindCategory(kind, child, isPerson, within), 'event', depth + 1);
  }
}

function isPersonType(record: Record<string, unknown>): boolean {
  const type = record.type ?? record['@type'];
  return typeof type === 'string' && (type === 'Person' || caliperTerm(type) === 'Person');
}

/**
 * Where `key` is in `input`: the path of its first identifying place, and whether it is also
 * somewhere that identifies no one (a course's number that happens to equal a batch_uid), in
 * which case a rule may well have copied it from there. The student's id (`isStudentId`) was
 * read by the rule's `student` path, so a place that identifies no one by its key is still the
 * student's when it is the only place holding the id. Only run for a value found in an output,
 * so the path is built only then.
 */
export function locateIdentifying(input: unknown, key: string, isStudentId: boolean): { path: PropertyKey[] | undefined; elsewhere: boolean } {
  let path: PropertyKey[] | undefined;
  let firstPlain: PropertyKey[] | undefined;
  let plain = 0;
  walkInput(input, [], (text, category, at) => {
    if (identifyingKey(text) !== key && !(category === 'user-id' && text.includes('/') && segmentKey(text) === key)) return false;
    if (category !== undefined) path ??= [...at];
    else if (plain++ === 0) firstPlain = [...at];
    return false;
  });
  if (path === undefined && isStudentId) return { path: firstPlain, elsewhere: plain > 1 };
  return { path, elsewhere: plain > 0 };
}

function segmentKey(text: string): string | undefined {
  const segment = lastSegment(text);
  return segment === undefined ? undefined : identifyingKey(segment);
}

function lastSegment(iri: string): string | undefined {
  let end = iri.length;
  const query = iri.indexOf('?');
  if (query >= 0) end = query;
  const fragment = iri.indexOf('#');
  if (fragment >= 0 && fragment < end) end = fragment;
  while (end > 0 && iri.charCodeAt(end - 1) === 0x2f) end--;
  const start = iri.lastIndexOf('/', end - 1) + 1;
  return start < end ? iri.slice(start, end) : undefined;
}

type Visit = (text: string, category: IdentifyingCategory | undefined, path: PropertyKey[]) => boolean;

/**
 * How the walk reads the objects of a subtree: `members` is Learn's `bb:group.users` list, each
 * object a person without a type; `identifiers` a person's `otherIdentifiers`, each object's
 * `identifier` theirs.
 */
type Within = 'event' | 'members' | 'identifiers';

/**
 * Calls `visit` with every text of the input (and every large number, as text) and what kind
 * of identifier it is there, if any; stops when `visit` returns true.
 */
function walkInput(input: unknown, path: PropertyKey[], visit: Visit): boolean {
  return walk(input, path, visit, undefined, 'event', 0);
}

function walk(
  value: unknown,
  path: PropertyKey[],
  visit: Visit,
  category: IdentifyingCategory | undefined,
  within: Within,
  depth: number,
): boolean {
  if (typeof value === 'string') return visit(value, category, path);
  if (typeof value === 'number') return Number.isFinite(value) && Math.abs(value) >= 10_000 ? visit(String(value), category, path) : false;
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    // A list under an identifying key (a list of ids) is as identifying as one id.
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      if (walk(value[i], path, visit, category, within, depth + 1)) return true;
      path.pop();
    }
    return false;
  }
  const record = value as Record<string, unknown>;
  const isPerson = within === 'members' || isPersonType(record);
  for (const key in record) {
    if (!Object.prototype.hasOwnProperty.call(record, key)) continue;
    const kind = KEY_KINDS.get(key);
    const child = record[key];
    path.push(key);
    let stop: boolean;
    // Learn 1.0 sent the group's members as JSON text.
    if (kind === 'members') stop = walk(typeof child === 'string' ? parseMembers(child) : child, path, visit, undefined, 'members', depth + 1);
    else if (kind === 'other-identifiers' && isPerson) stop = walk(child, path, visit, undefined, 'identifiers', depth + 1);
    else stop = walk(child, path, visit, kind === undefined ? undefined : kindCategory(kind, child, isPerson, within), 'event', depth + 1);
    if (stop) return true;
    path.pop();
  }
  return false;
}

/** What the text under a key of this kind identifies, if anything, where it is. */
function kindCategory(kind: KeyKind, child: unknown, isPerson: boolean, within: Within): IdentifyingCategory | undefined {
  switch (kind) {
    case 'user-id':
    case 'name':
      return kind;
    case 'person-id':
      return isPerson ? 'user-id' : undefined;
    case 'person-name':
      return isPerson ? 'name' : undefined;
    case 'person-iri':
      return typeof child === 'string' ? 'user-id' : undefined;
    case 'identifier':
      return within === 'identifiers' ? 'user-id' : undefined;
    case 'member-uuid':
      return within === 'members' ? 'user-id' : undefined;
    default:
      return undefined;
  }
}

function parseMembers(text: string): unknown {
  const start = text.trimStart().charCodeAt(0);
  if (start !== 0x5b && start !== 0x7b) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
