/**
 * Paths into an input event, as rules write them: `object.assignable.maxScore`,
 * `actor.extensions["bb:user.externalId"]`, `membership.roles[0]`, or a gateway `$variable`.
 * A path is parsed once, when its rule file loads, into a list of steps; reading an event
 * only walks those steps.
 */
import { quote } from '../errors.ts';

/** What the gateway knows about one event besides its content. */
export interface Variables {
  /** `urn:uuid:<platform id>`. */
  student: string;
  platformId: string;
  /** `urn:uuid:<TIMEBACK_APP_ID>`. */
  edApp: string;
  sensor: string;
  sourceId: string;
  /**
   * Filled while an event is built: each id `url-iri` made by hashing a URL, with that URL, so the
   * personal-data check sees what the hash hides (anyone can hash a guessed URL again).
   */
  hashed?: Map<string, string>;
}

export const VARIABLES = ['$student', '$platformId', '$edApp', '$sensor', '$sourceId'] as const;

export type Reader = (event: unknown, vars: Variables) => unknown;

export interface CompiledPath {
  /** The path as written in the rule file. */
  source: string;
  read: Reader;
}

export class PathSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PathSyntaxError';
  }
}

type Step = string | number;

// A bare key: letters, digits, `_`, `-`, `@` (for `@context`), `$`. Dots, colons and spaces
// only ever appear inside quotes, so `bb:user.externalId` is always one key.
const NAME = /[A-Za-z0-9_@$-]/;

const QUOTE_HINT = 'keys containing dots, colons or spaces go in brackets and quotes, like extensions["bb:user.externalId"]';

/** Parses a path into steps; throws PathSyntaxError saying what is wrong and where. */
export function parsePath(source: string): Step[] {
  const steps: Step[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new PathSyntaxError(`bad path ${quote(source)}: ${why}`);
  };
  const readName = () => {
    const start = i;
    while (i < source.length && NAME.test(source[i]!)) i++;
    if (i === start) {
      const found = source[i];
      fail(found === undefined ? `a key is missing at the end` : `unexpected ${quote(found)} at position ${i + 1}`);
    }
    return source.slice(start, i);
  };
  const readBracket = () => {
    i++; // [
    const quote = source[i];
    let step: Step;
    if (quote === '"' || quote === "'") {
      i++;
      let key = '';
      for (;;) {
        const ch = source[i];
        if (ch === undefined) fail(`the quoted key has no closing ${quote}`);
        if (ch === quote) break;
        if (ch === '\\') {
          i++;
          const escaped = source[i];
          if (escaped === undefined) fail(`the quoted key has no closing ${quote}`);
          key += escaped;
        } else {
          key += ch;
        }
        i++;
      }
      i++; // closing quote
      if (key === '') fail('an empty key');
      step = key;
    } else {
      const start = i;
      while (i < source.length && /[0-9]/.test(source[i]!)) i++;
      if (i === start) fail(`brackets hold a list index like [0] or a quoted key like ["bb:user.id"]`);
      step = Number(source.slice(start, i));
    }
    if (source[i] !== ']') fail(`expected "]" at position ${i + 1}`);
    i++;
    return step;
  };

  if (source.trim() !== source) fail('leading or trailing spaces');
  if (source === '') fail('it is empty');
  if (source.startsWith('$')) fail(`variables are ${VARIABLES.join(', ')}`);

  steps.push(source[0] === '[' ? readBracket() : readName());
  while (i < source.length) {
    const ch = source[i];
    if (ch === '.') {
      i++;
      steps.push(readName());
    } else if (ch === '[') {
      steps.push(readBracket());
    } else if (ch === ':' || ch === ' ') {
      fail(QUOTE_HINT);
    } else {
      fail(`unexpected ${quote(ch!)} at position ${i + 1}`);
    }
  }
  return steps;
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * `__proto__`, which JSON.parse (and YAML) make an ordinary own key, but which, assigned to
 * an object, replaces its prototype: an event's `{"__proto__": {"type": …}}` copied that way
 * gave a value whose type and id the validator read but JSON.stringify never sent. Copies
 * leave the key out.
 */
export const isPrototypeKey = (key: string): boolean => key === '__proto__';

/**
 * Walks `steps` from `root`. Caliper lets any entity be written as just its IRI, so a string
 * met where an entity was expected answers `id` with itself: `object.isPartOf.id` reads the
 * same from `"isPartOf": "https://…"` and from `"isPartOf": { "id": "https://…" }`.
 */
function walk(root: unknown, steps: readonly Step[]): unknown {
  let value = root;
  for (let s = 0; s < steps.length; s++) {
    const step = steps[s]!;
    if (value === null || typeof value !== 'object') {
      if (typeof value === 'string' && step === 'id') continue;
      return undefined;
    }
    if (typeof step === 'number') {
      if (!Array.isArray(value)) return undefined;
      value = value[step];
    } else {
      if (Array.isArray(value) || !hasOwn.call(value, step)) return undefined;
      value = (value as Record<string, unknown>)[step];
    }
  }
  return value;
}

/** Compiles a path or `$variable` once; `allowVariables` is false where only input paths make sense. */
export function compilePath(source: string, options: { allowVariables: boolean }): CompiledPath {
  if (source.startsWith('$')) {
    if (!options.allowVariables) {
      throw new PathSyntaxError(`bad path ${quote(source)}: variables cannot be used here, only paths into the input event`);
    }
    const variable = VARIABLES.find((name) => name === source);
    if (!variable) {
      throw new PathSyntaxError(`unknown variable ${quote(source)}: variables are ${VARIABLES.join(', ')}`);
    }
    const key = variable.slice(1) as keyof Variables;
    return { source, read: (_event, vars) => vars[key] };
  }
  const steps = parsePath(source);
  const read: Reader =
    steps.length === 1 && typeof steps[0] === 'string'
      ? readOneKey(steps[0])
      : (event) => walk(event, steps);
  return { source, read };
}

function readOneKey(key: string): Reader {
  return (event) =>
    event !== null && typeof event === 'object' && !Array.isArray(event) && hasOwn.call(event, key)
      ? (event as Record<string, unknown>)[key]
      : undefined;
}

/**
 * True when a value counts as present: not missing, null, blank text, {}, or a list of nothing
 * but those. Text of nothing but commas and spaces is blank too: `where` reads comma-separated
 * text as a list, and `" , "` is a list of blank items, so `has` and `where` agree on it.
 */
export function hasValue(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  // `"  "` and `[""]` name nothing, as "" and [] do: a role list of one blank role gives no role.
  if (typeof value === 'string') return !isBlankText(value);
  if (typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.some(hasValue);
  for (const key in value) if (hasOwn.call(value, key)) return true;
  return false;
}

/** Text with nothing in it but spaces and commas: no value, and no items. */
export function isBlankText(text: string): boolean {
  return /^[\s,]*$/.test(text);
}

/** Why a rule value that is blank text with commas is refused: no value read from an event equals it. */
export const ONLY_COMMAS =
  'the text is only commas and spaces, which no value read from an event equals (text is split at commas, and blank items are no values)';
