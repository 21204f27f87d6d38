/**
 * Compiled rules and the order they are tried in (mappings/README.md "Which rule wins"):
 * files by name, rules in file order, fallback files last; the first rule that matches takes
 * the event. Rules are indexed by input type so matching an event is one map lookup plus the
 * few rules for that type.
 */
import { actionTerm, caliperTerm } from './caliper-vocabulary.ts';
import { compileTerm, compileValue, type CompileOptions, type RequiredValue, type ValueFn } from './compile-value.ts';
import { compilePath, hasValue, type CompiledPath, type Reader } from './paths.ts';
import type { PiiCategory, Rule, RuleOutput, WhereValue } from './rule-schema.ts';

/** The output properties a rule may build, in the order they appear in the event we send. */
const RULE_OUTPUT_PROPERTIES = [
  'actor', 'object', 'generated', 'target', 'referrer', 'group', 'membership', 'federatedSession', 'extensions',
] as const;
export type RuleOutputProperty = (typeof RULE_OUTPUT_PROPERTIES)[number];

export interface CompiledRule {
  id: string;
  /** The file the rule came from, as shown in messages. */
  file: string;
  /** Position in its file's `rules` list, and the line where it starts (0 when unknown). */
  index: number;
  line: number;
  fallback: boolean;
  /** Input types, normalised (`http://purl.imsglobal.org/caliper/X` → `X`). */
  types: readonly string[];
  /** Input actions, normalised; null matches any action. */
  actions: ReadonlySet<string> | null;
  /** Whether `has`, `lacks`, `where` or `whereNone` make the rule conditional (it then shadows nothing). */
  conditional: boolean;
  matches: (event: unknown) => boolean;
  student: readonly CompiledPath[];
  skip?: string;
  allowPii: ReadonlySet<PiiCategory>;
  output?: CompiledOutput;
}

export interface CompiledOutput {
  type: RuleOutput['type'];
  /** The action and profile for one event: written in the rule, or read from the event. */
  action: ValueFn;
  profile: ValueFn;
  /** Only the properties the rule sets, in output order. */
  properties: ReadonlyArray<readonly [RuleOutputProperty, ValueFn]>;
  setsActor: boolean;
  /** The text the rule writes itself (CompileOptions.constants): never a person's by value. */
  constants: ReadonlySet<string>;
  /** The values marked `required`, in output order: an event any of them is empty for is rejected. */
  required: readonly RequiredValue[];
}

export interface RuleSet {
  rules: readonly CompiledRule[];
  /** The rule files, in the order they are tried. */
  files: readonly string[];
  /** The first rule that takes this event, if any. */
  find(type: string, action: string, event: unknown): CompiledRule | undefined;
}

/** The input type as rules name it: the IMS vocabulary IRI and the short name are the same type. */
function normalizeType(type: string): string {
  return caliperTerm(type.trim());
}


export interface RuleOrigin {
  file: string;
  index: number;
  line: number;
  fallback: boolean;
}

export function compileRule(rule: Rule, origin: RuleOrigin): CompiledRule {
  const list = (value: string | string[] | undefined) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
  const has: Reader[] = (rule.match.has ?? []).map((path) => compilePath(path, { allowVariables: false }).read);
  const lacks: Reader[] = (rule.match.lacks ?? []).map((path) => compilePath(path, { allowVariables: false }).read);
  const where = Object.entries(rule.match.where ?? {}).map(([path, allowed]) => ({
    read: compilePath(path, { allowVariables: false }).read,
    allowed: comparedValues(allowed),
  }));
  const whereNone = Object.entries(rule.match.whereNone ?? {}).map(([path, refused]) => ({
    read: compilePath(path, { allowVariables: false }).read,
    refused: comparedValues(refused),
  }));
  const conditional = has.length > 0 || lacks.length > 0 || where.length > 0 || whereNone.length > 0;
  const matches = !conditional
    ? () => true
    : (event: unknown) => {
        for (const read of has) if (!hasValue(read(event, NO_VARIABLES))) return false;
        for (const read of lacks) if (hasValue(read(event, NO_VARIABLES))) return false;
        for (const { read, allowed } of where) if (!comparedItems(read(event, NO_VARIABLES)).some((item) => allowed.has(item))) return false;
        for (const { read, refused } of whereNone) {
          const items = comparedItems(read(event, NO_VARIABLES));
          if (items.length === 0 || items.some((item) => refused.has(item))) return false;
        }
        return true;
      };
  const actions = rule.match.action === undefined ? null : new Set(list(rule.match.action).map(actionTerm));

  const compiled: CompiledRule = {
    id: rule.id,
    ...origin,
    types: [...new Set(list(rule.match.type).map(normalizeType))],
    actions,
    conditional,
    matches,
    student: (rule.student ?? []).map((path) => compilePath(path, { allowVariables: false })),
    allowPii: new Set(rule.allowPii ?? []),
  };
  if (rule.skip !== undefined) compiled.skip = rule.skip;
  if (rule.output !== undefined) compiled.output = compileOutput(rule.output, { writtenText: compiled.allowPii.has('written-text') });
  return compiled;
}

function compileOutput(output: RuleOutput, compileOptions: CompileOptions): CompiledOutput {
  const constants = new Set<string>();
  const required: RequiredValue[] = [];
  const options = { ...compileOptions, constants, required };
  const properties: Array<readonly [RuleOutputProperty, ValueFn]> = [];
  for (const name of RULE_OUTPUT_PROPERTIES) {
    const value = output[name];
    if (value !== undefined) properties.push([name, compileValue(value, options, name)]);
  }
  return {
    type: output.type,
    action: typeof output.action === 'string' ? constant(output.action) : compileTerm(output.action, actionTerm),
    // A profile is usually chosen by an entity's type: read a Caliper type IRI as its term, as `entity` does.
    profile: typeof output.profile === 'string' ? constant(output.profile) : compileTerm(output.profile, caliperTerm),
    properties,
    setsActor: output.actor !== undefined,
    constants,
    required,
  };
}

function constant(term: string): ValueFn {
  return () => term;
}

// `has`/`lacks`/`where`/`whereNone` paths never use variables (the schema refuses them), so they get none.
const NO_VARIABLES = Object.freeze({ student: '', platformId: '', edApp: '', sensor: '', sourceId: '' });

/** A `where`/`whereNone` entry's values as compared: `{ const: "$x" }` is the text `$x`. */
function comparedValues(values: WhereValue | WhereValue[]): ReadonlySet<unknown> {
  return new Set((Array.isArray(values) ? values : [values]).map((value) => (typeof value === 'object' ? value.const : value)));
}

/**
 * What `where` and `whereNone` compare with the rule's values: the value read, or each element
 * when it is a list. Learn's `membership.roles` is a list (`["Instructor"]`), and a rule asks
 * whether it holds a role, not whether it is exactly that list. Text is a list too when it holds
 * commas: LTI 1.1 sends the launcher's `roles` as one comma-separated text
 * (`urn:lti:role:ims/lis/Instructor,urn:lti:instrole:ims/lis/Faculty`). Text is trimmed, and
 * blank text is no item: a role written `" Learner"` is a Learner's, and `[""]` gives no role,
 * as `[]` does, instead of passing for a role that is not a learner's. Equality stays strict:
 * `3` is not `"3"`. `whereNone` matches a path with items none of which is refused.
 */
function comparedItems(value: unknown): unknown[] {
  const items: unknown[] = [];
  // Blank text, `" , "` included (hasValue), is no item, in a list as on its own.
  const add = (item: unknown) => {
    if (hasValue(item)) items.push(typeof item === 'string' ? item.trim() : item);
  };
  if (Array.isArray(value)) {
    for (const item of value) add(item);
  } else if (typeof value === 'string' && value.includes(',')) {
    // The whole text counts too, for a rule value that itself holds a comma.
    add(value);
    for (const part of value.split(',')) add(part);
  } else {
    add(value);
  }
  return items;
}

/**
 * Puts rules in the order they are tried and indexes them by type. Returns the problems
 * that make a rule set unusable: duplicate ids, and rules that can never match because
 * earlier unconditional rules take every event they would.
 */
export function buildRuleSet(rulesInFileOrder: readonly CompiledRule[]): { ruleSet: RuleSet; problems: string[] } {
  const ordered = [...rulesInFileOrder.filter((rule) => !rule.fallback), ...rulesInFileOrder.filter((rule) => rule.fallback)];
  const problems: string[] = [];

  const firstById = new Map<string, CompiledRule>();
  for (const rule of ordered) {
    const first = firstById.get(rule.id);
    if (first) {
      problems.push(`${where(rule)}: rule "${rule.id}": id: already the id of the rule at ${placeOf(first)}; rule ids must be unique`);
    }
    else firstById.set(rule.id, rule);
  }

  const byType = new Map<string, CompiledRule[]>();
  for (const rule of ordered) {
    const shadowedBy = shadowingRules(rule, byType);
    if (shadowedBy) {
      const names = shadowedBy.map((earlier) => `"${earlier.id}" (${where(earlier)})`).join(' and ');
      problems.push(`${where(rule)}: rule "${rule.id}" can never match: ${names} already take${shadowedBy.length === 1 ? 's' : ''} every event it would`);
    }
    for (const type of rule.types) {
      let list = byType.get(type);
      if (!list) byType.set(type, (list = []));
      list.push(rule);
    }
  }

  const files = [...new Set(ordered.map((rule) => rule.file))];
  const ruleSet: RuleSet = {
    rules: ordered,
    files,
    find(type, action, event) {
      const candidates = byType.get(normalizeType(type));
      if (!candidates) return undefined;
      const term = actionTerm(action);
      for (const rule of candidates) {
        if ((rule.actions === null || rule.actions.has(term)) && rule.matches(event)) return rule;
      }
      return undefined;
    },
  };
  return { ruleSet, problems };
}

function where(rule: CompiledRule): string {
  return rule.line > 0 ? `${rule.file}:${rule.line}` : rule.file;
}

/** Where another rule is when its id cannot tell it apart (two rules share it): its line, else its position. */
function placeOf(rule: CompiledRule): string {
  return rule.line > 0 ? where(rule) : `${rule.file}, rules[${rule.index}]`;
}

/** The earlier unconditional rules that together take every event `rule` could match, or undefined. */
function shadowingRules(rule: CompiledRule, earlierByType: ReadonlyMap<string, CompiledRule[]>): CompiledRule[] | undefined {
  const culprits = new Set<CompiledRule>();
  for (const type of rule.types) {
    const earlier = (earlierByType.get(type) ?? []).filter((candidate) => !candidate.conditional);
    const anyAction = earlier.find((candidate) => candidate.actions === null);
    if (anyAction) {
      culprits.add(anyAction);
      continue;
    }
    if (rule.actions === null) return undefined;
    for (const action of rule.actions) {
      const taker = earlier.find((candidate) => candidate.actions!.has(action));
      if (!taker) return undefined;
      culprits.add(taker);
    }
  }
  return [...culprits];
}
