/**
 * Turns a rule's output values (mappings/README.md "Values") into closures, once, when the
 * rule file loads. Rendering an event then only calls functions: no path parsing, no
 * looking up transform names, no re-reading the rule.
 */
import { isRecord } from '../is-record.ts';
import { copyEntityWithWrittenText } from './entity-copy.ts';
import { compilePath, isPrototypeKey, type Variables } from './paths.ts';
import type { ComputedTerm, RuleObjectValue, RuleValue } from './rule-schema.ts';
import { TRANSFORMS, type Transform, type TransformName } from './transforms.ts';

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
}

const hasOwn = Object.prototype.hasOwnProperty;

export function compileValue(value: RuleValue, options: CompileOptions = {}): ValueFn {
  if (typeof value === 'string') {
    if (value.startsWith('$')) return compilePath(value, { allowVariables: true }).read;
    const literal = value === '' ? undefined : value;
    if (literal !== undefined) options.constants?.add(literal);
    return () => literal;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return () => value;
  if (Array.isArray(value)) return compileList(value, options);
  if ('const' in value) return compileConst(value.const, options);
  if ('from' in value) return compileFrom(value, options);
  return compileObject(value as Record<string, RuleValue>, options);
}

function compileList(items: RuleValue[], options: CompileOptions): ValueFn {
  const fns = items.map((item) => compileValue(item, options));
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

function compileObject(shape: Record<string, RuleValue>, options: CompileOptions): ValueFn {
  const entries = Object.entries(shape).filter(([key]) => !isPrototypeKey(key)).map(([key, value]) => [key, compileValue(value, options)] as const);
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

  const candidate = (raw: unknown): unknown => {
    let value = raw;
    for (const transform of transforms) {
      if (value === undefined || value === null) return undefined;
      value = transform(value);
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
      const value = candidate(read(event, vars));
      return value === undefined ? fallback : value;
    };
  }
  return (event, vars) => {
    for (const read of readers) {
      const value = candidate(read(event, vars));
      if (value !== undefined) return value;
    }
    return fallback;
  };
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
