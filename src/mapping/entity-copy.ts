/**
 * The `entity` transform: copies a Caliper 1.1 entity (or a list of them) from Learn's input
 * into a Caliper 1.2 entity that is safe to send. It keeps only 1.2 vocabulary, leaves people
 * and what they wrote out (unless the rule allows `written-text`), applies the 1.1 → 1.2 renames, rewrites date-times, leaves out
 * durations that are not ISO 8601, and reduces anything Caliper does not define (Blackboard's
 * own entity types) to its id.
 */
import { asTerm, termRangeOf, type TermRange } from './caliper-terms.ts';
import {
  BOOLEAN_PROPERTIES,
  DATE_TIME_PROPERTIES,
  DURATION_PROPERTIES,
  ENTITY_TYPE_PROPERTIES,
  ENTITY_TYPES,
  ENTITY_VALUED_PROPERTIES,
  ID_LESS_TYPES,
  NUMBER_PROPERTIES,
  PERSON_VALUED_PROPERTIES,
  TEXT_LIST_PROPERTIES,
  TEXT_PROPERTIES,
  caliperTerm,
} from './caliper-vocabulary.ts';
import { toCaliperDateTime, toCaliperDuration } from './date-time.ts';
import { toTimebackIri } from './iri.ts';
import { isPrototypeKey } from './paths.ts';

/**
 * Maxima Learn writes as 0 when it has none to give: a question of a 300-point test with
 * `maxScore: 0`, a Score with `maxScore: 0` beside its assignable's 160, `maxAttempts: 0` on a
 * test the student is attempting. Caliper has no "unlimited" or "not set" for them, and 0 would
 * tell TimeBack the item is worth nothing or allows no attempt, so a maximum that is not above
 * zero is left out.
 */
const POSITIVE_PROPERTIES = new Set(['maxAttempts', 'maxSubmits', 'maxScore']);

const NUMERIC_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** 1.2 vocabulary the gateway still never copies: it is personal data TimeBack does not need. */
const WITHHELD_PROPERTIES = new Set(['ipAddress', 'userAgent', 'messageParameters']);

/**
 * Text people wrote, by the entity type that holds it: a post (its subject too, and a thread's
 * title, which is its first post's subject), a comment, an annotation's tags, note, name and the
 * text it highlights, the terms of a search, a typed answer (open-ended, fill-in-the-blank, the
 * text selected in a select-text item), a grader's comment on a score or result. TimeBack
 * records activity and scores, not content; a post viewed or a passage highlighted may be
 * another student's writing, and a grader's comment is about the student. What is kept is what
 * TimeBack needs: ids, types, scores, counts, times, and answers chosen from a fixed set
 * (multiple choice, true/false), which are no one's writing. A rule that must send the text
 * lists `written-text` in `allowPii` (mappings/README.md "Personal data").
 */
const WRITTEN_TEXT: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['Message', new Set(['name', 'description', 'body'])],
  ['Thread', new Set(['name', 'description'])],
  ['Comment', new Set(['name', 'description', 'value'])],
  ['Annotation', new Set(['name', 'description'])],
  ['BookmarkAnnotation', new Set(['name', 'description', 'bookmarkNotes'])],
  ['HighlightAnnotation', new Set(['name', 'description', 'selectionText'])],
  ['SharedAnnotation', new Set(['name', 'description'])],
  ['TagAnnotation', new Set(['name', 'description', 'tags'])],
  ['Query', new Set(['name', 'description', 'searchTerms'])],
  ['OpenEndedResponse', new Set(['value'])],
  ['FillinBlankResponse', new Set(['values'])],
  ['SelectTextResponse', new Set(['values'])],
  ['Score', new Set(['comment'])],
  ['Result', new Set(['comment'])],
]);

/** Renames from Caliper 1.1 (deprecated there, gone in 1.2), by entity type ('*' for any). */
const RENAMES: ReadonlyArray<{ types: readonly string[] | '*'; from: string; to: string }> = [
  { types: ['Attempt'], from: 'actor', to: 'assignee' },
  { types: ['Session', 'LtiSession'], from: 'actor', to: 'user' },
  { types: ['Result'], from: 'totalScore', to: 'resultScore' },
  { types: '*', from: 'alignedLearningObjective', to: 'learningObjectives' },
];

// Hostile or looping input cannot make the copy recurse without end.
const MAX_DEPTH = 24;

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Copies an entity, a list of entities, or an entity IRI; undefined when nothing is left. An
 * entity keeps only the 1.2 properties of its own type: a 1.1 source's leftovers (`objectType`,
 * a `maxScore` on a Person) would make the validator reject the whole event.
 */
export function copyEntity(value: unknown): unknown {
  return copyValue(value, 0, true, false);
}

/** As copyEntity, keeping the text people wrote: for a rule that lists `written-text` in `allowPii`. */
export function copyEntityWithWrittenText(value: unknown): unknown {
  return copyValue(value, 0, true, true);
}

function copyValue(value: unknown, depth: number, topLevel: boolean, keepWritten: boolean): unknown {
  if (typeof value === 'string') return toTimebackIri(value);
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) {
      const copied = copyValue(item, depth + 1, false, keepWritten);
      if (copied !== undefined) out.push(copied);
    }
    return out.length > 0 ? out : undefined;
  }
  return copyObject(value as Record<string, unknown>, depth, topLevel, keepWritten);
}

function copyObject(source: Record<string, unknown>, depth: number, topLevel: boolean, keepWritten: boolean): unknown {
  const rawType = source.type ?? source['@type'];
  const type = typeof rawType === 'string' ? caliperTerm(rawType) : undefined;
  const rawId = source.id ?? source['@id'];
  const id = typeof rawId === 'string' ? toTimebackIri(rawId) : undefined;

  if (type === undefined || !ENTITY_TYPES.has(type) || depth > MAX_DEPTH) return id;
  if (type === 'Person') {
    // A person nested in an entity is left out: the student reaches TimeBack only as $student.
    // A person the rule asked for directly (an instructor who graded) keeps only id and type.
    return topLevel && id !== undefined ? { id, type } : undefined;
  }
  if (id === undefined && !ID_LESS_TYPES.has(type)) return undefined;

  const out: Record<string, unknown> = {};
  if (id !== undefined) out.id = id;
  out.type = type;
  const properties = ENTITY_TYPE_PROPERTIES.get(type)!;
  const written = keepWritten ? undefined : WRITTEN_TEXT.get(type);
  for (const key in source) {
    if (!hasOwn.call(source, key)) continue;
    const name = renamed(type, key, source);
    if (name === 'id' || name === 'type' || name === 'extensions') continue;
    if (!properties.has(name) || WITHHELD_PROPERTIES.has(name) || written?.has(name) === true) continue;
    let copied = copyProperty(name, source[key], depth, keepWritten);
    const range = termRangeOf(type, name);
    if (range !== undefined) copied = asTerms(copied, range);
    if (copied !== undefined) out[name] = copied;
  }
  return out;
}

function renamed(type: string, key: string, source: Record<string, unknown>): string {
  for (const rename of RENAMES) {
    if (rename.from === key && (rename.types === '*' || rename.types.includes(type)) && !hasOwn.call(source, rename.to)) {
      return rename.to;
    }
  }
  return key;
}

function copyProperty(name: string, value: unknown, depth: number, keepWritten: boolean): unknown {
  if (DATE_TIME_PROPERTIES.has(name)) return typeof value === 'string' ? toCaliperDateTime(value) : undefined;
  // A duration that is not ISO 8601 (seconds as a number, "30 min") is left out, like a date-time that cannot be read.
  if (DURATION_PROPERTIES.has(name)) return typeof value === 'string' ? toCaliperDuration(value) : undefined;
  if (ENTITY_VALUED_PROPERTIES.has(name)) {
    // An IRI in a person-valued property names a person just as an object would.
    if (PERSON_VALUED_PROPERTIES.has(name) && typeof value === 'string') return undefined;
    return copyValue(value, depth + 1, false, keepWritten);
  }
  if (NUMBER_PROPERTIES.has(name)) {
    const number = toNumber(value);
    return number === undefined || (POSITIVE_PROPERTIES.has(name) && number <= 0) ? undefined : number;
  }
  if (BOOLEAN_PROPERTIES.has(name)) return toBoolean(value);
  if (TEXT_PROPERTIES.has(name)) return toText(value);
  if (TEXT_LIST_PROPERTIES.has(name)) {
    if (!Array.isArray(value)) return undefined;
    const texts = value.filter((item): item is string => typeof item === 'string' && item !== '');
    return texts.length > 0 ? texts : undefined;
  }
  return copyPlain(value, depth + 1);
}

/**
 * A vocabulary-valued property (a membership's roles and status, …) as the terms Caliper 1.2
 * takes: IRIs written as their terms (Learn sends some LIS roles that way), and anything that is
 * no term left out, as the validator would refuse the whole event for it.
 */
function asTerms(value: unknown, range: TermRange): unknown {
  if (typeof value === 'string') return asTerm(value, range);
  if (!Array.isArray(value)) return undefined;
  const terms = value.flatMap((item) => {
    const term = typeof item === 'string' ? asTerm(item, range) : undefined;
    return term === undefined ? [] : [term];
  });
  return terms.length > 0 ? terms : undefined;
}

// A value of the wrong kind (Learn sends some numbers and flags as text) is read as the kind the
// property holds when it plainly is one, and left out otherwise, like a date-time that cannot be
// read: one odd optional value must not have the validator reject the whole event.

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || !NUMERIC_TEXT.test(value.trim())) return undefined;
  const number = Number(value.trim());
  return Number.isFinite(number) ? number : undefined;
}

function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  const text = typeof value === 'string' ? value.trim().toLowerCase() : '';
  return text === 'true' ? true : text === 'false' ? false : undefined;
}

function toText(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  // A course number or version Learn sends as a number is still that text.
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
}

/** Plain values (text, numbers, lists, opaque maps) copied with empties left out. */
function copyPlain(value: unknown, depth: number): unknown {
  if (value === null || value === undefined || value === '') return undefined;
  if (typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return undefined;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) {
      const copied = copyPlain(item, depth + 1);
      if (copied !== undefined) out.push(copied);
    }
    return out.length > 0 ? out : undefined;
  }
  const out: Record<string, unknown> = {};
  let any = false;
  for (const key in value) {
    if (!hasOwn.call(value, key) || isPrototypeKey(key)) continue;
    const copied = copyPlain((value as Record<string, unknown>)[key], depth + 1);
    if (copied !== undefined) {
      out[key] = copied;
      any = true;
    }
  }
  return any ? out : undefined;
}
