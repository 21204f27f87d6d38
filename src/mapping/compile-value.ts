/**
 * Turns a rule's output values (mappings/README.md "Values") into closures, once, when the
 * rule file loads. Rendering an event then only calls functions: no path parsing, no
 * looking up transform names, no re-reading the rule.
 */
import { isRecord } from '../is-record.ts';
import { copyEntityWithWrittenText } from './entity-copy.ts';
import { compilePath, hasValue, isPrototypeKey, type Variables } from './paths.ts';
import type { ComputedTerm, RuleObjectValue, RuleValue } from './rule-schema.ts';
import { TRANSFORM_EXPECTS, TRANSFORMS, type Transform, type TransformName } from './transforms.ts';

/** The transform whose ids are hashes of their input, which the personal-data check must see through. */
const HASHES_URLS = TRANSFORMS['url-iri'];

/** Renders one value for one event; undefined means "empty: leave it out". */
export type ValueFn = (event: unknown, vars: Variables) => unknown;

/** What the rule allows that changes how its values are built. */
export interface CompileOptions {
  /** The rule lists `written-text` in `allowPii`: the `entity` transform keeps what people wrote. */
  writtenText?: boolean;
  /**
   * Collects the text the rule itself writes (literals, `const`, `map` values, `default`): the
   * personal-data check does not compare it with the people the input names (pii-guard.ts).
   */
  constants?: Set<string>;
  /** Collects the rule's `required` values (RequiredValue), checked before the student is looked up. */
  required?: RequiredValue[];
}

/**
 * A `from` value marked `required`: an event for which it comes out empty is malformed for
 * this rule (a score that is not a number), not something to send without it.
 */
export interface RequiredValue {
  /** Where the value goes in the output (`generated.scoreGiven`). */
  at: string;
  /**
   * What is wrong with the event for this value (`generated.scoreGiven: text that is not a number`),
   * or undefined when it comes out with a value. Required values read only the input. `within`
   * (`data[3]`) is put before every path named, the event's place in its envelope.
   */
  problem: (event: unknown, within?: string) => string | undefined;
}

const hasOwn = Object.prototype.hasOwnProperty;

/** `at` is where the value goes in the output, for the messages of `required` values. */
export function compileValue(value: RuleValue, options: CompileOptions = {}, at = ''): ValueFn {
  if (typeof value === 'string') {
    if (value.startsWith('$')) return compilePath(value, { allowVariables: true }).read;
    const literal = value === '' ? undefined : value;
    if (literal !== undefined) options.constants?.add(literal);
    return () => literal;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return () => value;
  if (Array.isArray(value)) return compileList(value, options, at);
  if ('const' in value) return compileConst(value.const, options);
  if ('from' in value) {
    const fn = compileFrom(value, options);
    if (value.required === true) options.required?.push(requiredValue(value, at));
    return fn;
  }
  return compileObject(value as Record<string, RuleValue>, options, at);
}

function compileList(items: RuleValue[], options: CompileOptions, at: string): ValueFn {
  const fns = items.map((item, index) => compileValue(item, options, `${at}[${index}]`));
  return (event, vars) => {
    const out: unknown[] = [];
    for (const fn of fns) {
      const item = fn(event, vars);
      if (item !== undefined) out.push(item);
    }
    return out.length > 0 ? out : undefined;
  };
}

function compileConst(literal: unknown, options: CompileOptions): ValueFn {
  // Written once, shared by every event: frozen so no later step can change it for the next.
  const pruned = deepFreeze(prune(literal));
  addTexts(pruned, options.constants);
  return () => pruned;
}

function compileObject(shape: Record<string, RuleValue>, options: CompileOptions, at: string): ValueFn {
  const entries = Object.entries(shape)
    .filter(([key]) => !isPrototypeKey(key))
    .map(([key, value]) => [key, compileValue(value, options, at === '' ? key : `${at}.${key}`)] as const);
  const idFn = entries.find(([key]) => key === 'id')?.[1];
  return (event, vars) => {
    // An entity without an id is no entity: leave the whole object out.
    if (idFn !== undefined && idFn(event, vars) === undefined) return undefined;
    const out: Record<string, unknown> = {};
    let any = false;
    for (const [key, fn] of entries) {
      const item = fn(event, vars);
      if (item !== undefined) {
        out[key] = item;
        any = true;
      }
    }
    return any ? out : undefined;
  };
}

/**
 * A computed action or profile (`{ from, map?, default? }`). `normalize` turns each text read
 * into the form the map is keyed by (an action IRI into its term) before the map applies.
 */
export function compileTerm(spec: ComputedTerm, normalize?: (text: string) => string): ValueFn {
  return compileFrom(spec, {}, normalize && ((value) => (typeof value === 'string' ? normalize(value) : undefined)));
}

function compileFrom(spec: RuleObjectValue, options: CompileOptions, leading?: Transform): ValueFn {
  const readers = (Array.isArray(spec.from) ? spec.from : [spec.from!]).map(
    (path) => compilePath(path, { allowVariables: true }).read,
  );
  const transforms: Transform[] = (spec.transform === undefined ? [] : Array.isArray(spec.transform) ? spec.transform : [spec.transform]).map(
    (name) => (name === 'entity' && options.writtenText === true ? copyEntityWithWrittenText : TRANSFORMS[name as TransformName]),
  );
  if (leading) transforms.unshift(leading);
  const pick = spec.pick;
  const table = spec.map === undefined ? undefined : new Map(Object.entries(spec.map).map(([key, value]) => [key, deepFreeze(prune(value))]));
  const fallback = deepFreeze(prune(spec.default));
  addTexts(fallback, options.constants);
  if (table !== undefined) for (const value of table.values()) addTexts(value, options.constants);

  const candidate = (raw: unknown, vars: Variables): unknown => {
    let value = raw;
    for (const transform of transforms) {
      if (value === undefined || value === null) return undefined;
      const before = value;
      value = transform(value);
      if (transform === HASHES_URLS && typeof before === 'string' && typeof value === 'string' && value !== before) vars.hashed?.set(value, before);
    }
    if (pick !== undefined && isRecord(value)) value = pickKeys(value, pick);
    if (table !== undefined) {
      value = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? table.get(String(value)) : undefined;
      return value;
    }
    return prune(value);
  };

  if (readers.length === 1) {
    const read = readers[0]!;
    return (event, vars) => {
      const value = candidate(read(event, vars), vars);
      return value === undefined ? fallback : value;
    };
  }
  return (event, vars) => {
    for (const read of readers) {
      const value = candidate(read(event, vars), vars);
      if (value !== undefined) return value;
    }
    return fallback;
  };
}

// Required values read only the input (the schema refuses $variables next to `required`).
const NO_VARIABLES: Variables = Object.freeze({ student: '', platformId: '', edApp: '', sensor: '', sourceId: '' });

function requiredValue(spec: RuleObjectValue, at: string): RequiredValue {
  const fn = compileFrom(spec, {});
  const paths = (Array.isArray(spec.from) ? spec.from : [spec.from!]).map((source) => ({ source, read: compilePath(source, { allowVariables: false }).read }));
  const transforms = spec.transform === undefined ? [] : Array.isArray(spec.transform) ? spec.transform : [spec.transform];
  const last = transforms.at(-1) as TransformName | undefined;
  const expected =
    spec.map !== undefined ? 'a value its map knows' : spec.pick !== undefined ? 'an object with one of its keys' : last === undefined ? 'a value' : TRANSFORM_EXPECTS[last];
  return {
    at,
    problem: (event, within) => {
      if (fn(event, NO_VARIABLES) !== undefined) return undefined;
      const named = (source: string) => (within === undefined ? source : source.startsWith('[') ? `${within}${source}` : `${within}.${source}`);
      // The first path that holds something is the one the event got wrong: name it and its
      // kind, never its value (it may be anything, a student's id included).
      for (const { source, read } of paths) {
        const value = read(event, NO_VARIABLES);
        if (hasValue(value)) return `${named(source)}: ${whatIsWrong(value, expected)}`;
      }
      // Every path is one of the same event's: `data[0].a or data[0].b`, not `data[0].a or b`.
      return `${paths.map(({ source }) => named(source)).join(' or ')}: missing`;
    },
  };
}

/** Why a value the input holds is not what the rule takes, in kind only. */
function whatIsWrong(value: unknown, expected: string): string {
  if (typeof value === 'string') return `text that is not ${expected}`;
  if (typeof value === 'boolean') return `true or false, not ${expected}`;
  // JSON's 1e400 is read as Infinity, which no JSON sent on can hold.
  if (typeof value === 'number') return Number.isFinite(value) ? `a number, not ${expected}` : 'a number too large to send (past about 1.8e308)';
  return `${Array.isArray(value) ? 'a list' : 'an object'}, not ${expected}`;
}

function pickKeys(source: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (hasOwn.call(source, key) && !isPrototypeKey(key)) out[key] = source[key];
  return out;
}

/**
 * The value with nulls, empty strings, empty lists and empty objects left out, all the way
 * down; undefined when nothing is left. Scalars come back as they are, without copying.
 */
export function prune(value: unknown): unknown {
  if (value === null || value === undefined || value === '') return undefined;
  if (typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = prune(value[i]);
      if (item !== undefined) (out ??= []).push(item);
    }
    return out;
  }
  let out: Record<string, unknown> | undefined;
  for (const key in value) {
    if (!hasOwn.call(value, key) || isPrototypeKey(key)) continue;
    const item = prune((value as Record<string, unknown>)[key]);
    if (item !== undefined) (out ??= {})[key] = item;
  }
  return out;
}

/** Every text in `value`, all the way down, into `texts`. */
function addTexts(value: unknown, texts: Set<string> | undefined): void {
  if (texts === undefined) return;
  if (typeof value === 'string') texts.add(value);
  else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) addTexts(item, texts);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
