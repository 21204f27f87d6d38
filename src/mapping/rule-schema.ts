/**
 * The shape of a mapping rule file (mappings/README.md is its prose). The loader checks every
 * file against `RuleFileSchema`, and `npm run mappings:schema` turns the same schema into
 * mappings/rule.schema.json for editors.
 *
 * Every union here has branches of different JSON kinds (text vs list, literal vs mapping),
 * so a failing value always has one branch that fits its kind; the loader reports that
 * branch's problem instead of zod's generic "invalid input".
 */
import { z } from 'zod';
import { closestKey, didYouMean, differsInCaseOnly } from '../closest-name.ts';
import { quote, quoteValue } from '../errors.ts';
import { ACTIONS, EVENTS, EVENT_TYPES, PROFILES, actionTerm, isAnyOf, sessionEventRanges, type EventType } from './caliper-vocabulary.ts';
import { compilePath, PathSyntaxError, VARIABLES } from './paths.ts';
import { ConstValueSchema, isListReference, LIST_REFERENCE_PREFIX, LISTS_FILE_NAME, WhereTextSchema } from './rule-lists.ts';
import { TRANSFORM_NAMES } from './transforms.ts';

/**
 * What `allowPii` may list. The guard (pii-guard.ts) looks for all but `written-text`, which the
 * `entity` transform leaves out instead (entity-copy.ts), so no value of it is ever found.
 */
export const PII_CATEGORIES = ['email', 'name', 'user-id', 'ip-address', 'user-agent', 'lti-parameters', 'written-text'] as const;
export type PiiCategory = (typeof PII_CATEGORIES)[number];

/** A path string compiled the way the loader will compile it; a syntax error becomes an issue. */
const pathString = (allowVariables: boolean, expected: string) =>
  z.string({ error: expected }).superRefine((value, ctx) => {
    try {
      compilePath(value, { allowVariables });
    } catch (err) {
      if (!(err instanceof PathSyntaxError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message, input: value });
    }
  });

/** A path into the input event (no variables): `actor.extensions["bb:user.externalId"]`. */
const InputPathSchema = pathString(false, 'expected a path like actor.extensions["bb:user.externalId"]').meta({
  description: 'A path into the input event: dots between keys, ["quoted.keys"], [0] list indexes.',
});

/** A path into the input event, or one of the gateway's `$variables`. */
const SourcePathSchema = pathString(true, 'expected a path or a $variable').meta({
  description: `A path into the input event, or one of ${VARIABLES.join(', ')}.`,
});

const oneOrMore = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1, 'the list is empty')]);

const TransformNameSchema = z.enum(TRANSFORM_NAMES, {
  error: (issue) => `unknown transform ${quoteValue(issue.input)} (known: ${TRANSFORM_NAMES.join(', ')})`,
});

/** What a rule may write where the output needs a value; see mappings/README.md "Values". */
export type RuleValue = string | number | boolean | RuleValue[] | RuleObjectValue;
export interface RuleObjectValue {
  from?: string | string[];
  transform?: string | string[];
  pick?: string[];
  map?: Record<string, unknown>;
  default?: unknown;
  required?: boolean;
  const?: unknown;
  [key: string]: unknown;
}

const FROM_KEYS = ['from', 'transform', 'pick', 'map', 'default', 'required'] as const;

const TextValueSchema = z.string().superRefine((value, ctx) => {
  if (value.startsWith('$') && !(VARIABLES as readonly string[]).includes(value)) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown variable ${quote(value)}: variables are ${VARIABLES.join(', ')} (write text starting with $ as { const: "…" })`,
      input: value,
    });
  }
});

const ValueSchema: z.ZodType<RuleValue> = z
  .lazy(() => z.union([TextValueSchema, z.number(), z.boolean(), z.array(ValueSchema), ObjectValueSchema]))
  .meta({
    id: 'value',
    description: 'A literal, a list of values, { from: PATH }, { const: … }, or an object whose keys are values.',
  });

/** Any JSON value, written as is. */
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
const JsonSchema: z.ZodType<Json> = z
  .lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(JsonSchema), z.record(z.string(), JsonSchema)]))
  .meta({ id: 'json' });

const ObjectValueSchema: z.ZodType<RuleObjectValue> = z
  .object({
    from: oneOrMore(SourcePathSchema)
      .optional()
      .meta({ description: 'Read from the input: a path, or a list of paths tried in order until one yields a value.' }),
    transform: oneOrMore(TransformNameSchema)
      .optional()
      .meta({ description: 'Transforms applied in order to each candidate read by `from`.' }),
    pick: z
      .array(z.string())
      .min(1, 'the list is empty')
      .optional()
      .meta({ description: 'Keys to keep when the value is an object (the allow-list for extensions).' }),
    map: z
      .record(z.string(), JsonSchema)
      .optional()
      .meta({ description: 'A lookup table applied last; a value not in the table comes out empty.' }),
    default: JsonSchema.optional().meta({ description: 'Used when no path in `from` yields a value.' }),
    required: z
      .boolean({ error: 'expected true or false' })
      .optional()
      .meta({
        description:
          'true: an event for which this value comes out empty is rejected (invalid-event), naming the path and what it holds, instead of being sent without it.',
      }),
    const: JsonSchema.optional().meta({ description: 'A literal object or list, taken as written.' }),
  })
  .catchall(ValueSchema)
  .superRefine((value, ctx) => {
    const keys = Object.keys(value);
    if ('const' in value) {
      for (const key of keys) {
        if (key !== 'const') ctx.addIssue({ code: 'custom', path: [key], message: 'a { const: … } value stands alone; move this key inside the const' });
      }
    } else if ('from' in value) {
      for (const key of keys) {
        if (!(FROM_KEYS as readonly string[]).includes(key)) {
          const meant = closestKey(key, FROM_KEYS);
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message:
              meant === undefined
                ? `not allowed next to "from" (a from value takes only ${FROM_KEYS.join(', ')}); to build an object, put the from value under a key`
                : `not allowed next to "from"; ${didYouMean(key, meant)} (a from value takes only ${FROM_KEYS.join(', ')})`,
          });
        }
      }
      if (value.required === true) {
        // A default never leaves the value empty, and a $variable is the gateway's own, never
        // missing from Learn's event: either would make `required` check nothing.
        if ('default' in value) {
          ctx.addIssue({ code: 'custom', path: ['required'], message: 'a value with a default never comes out empty; keep required or default, not both' });
        }
        const paths = Array.isArray(value.from) ? value.from : [value.from];
        if (paths.some((path) => typeof path === 'string' && path.startsWith('$'))) {
          ctx.addIssue({ code: 'custom', path: ['required'], message: 'required checks what the input holds; read only paths into the input, not $variables, the gateway\'s own' });
        }
      }
    } else {
      // `{ form: object.id }` would send an object with a "form" key instead of reading the input.
      const misspelt = keys.find((key) => closestKey(key, ['from', 'const']) !== undefined);
      const meantKey = misspelt === undefined ? undefined : closestKey(misspelt, ['from', 'const']);
      const hint =
        misspelt === undefined || meantKey === undefined
          ? ''
          : ` (is ${quote(misspelt)} meant to be "${meantKey}"?${differsInCaseOnly(misspelt, meantKey) ? ' keys are case-sensitive' : ''})`;
      for (const key of FROM_KEYS) {
        if (key in value) ctx.addIssue({ code: 'custom', path: [key], message: `"${key}" only goes with "from"${hint}` });
      }
      if (misspelt !== undefined && meantKey !== undefined && !FROM_KEYS.some((key) => key in value)) {
        ctx.addIssue({
          code: 'custom',
          path: [misspelt],
          message: `${looksLike(misspelt, meantKey)}: as written, it is a key of an object sent to TimeBack`,
        });
      }
      // Read as the from value it is meant to be, its other misspelt keys are named now too, not
      // on the run after "from" is fixed: `{ form: object.id, trnsform: iri }`.
      if (misspelt !== undefined && meantKey === 'from') {
        for (const key of keys) {
          const meant = key === misspelt || (FROM_KEYS as readonly string[]).includes(key) ? undefined : closestKey(key, FROM_KEYS);
          if (meant === undefined || meant === 'from') continue;
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `${looksLike(key, meant, ' (which goes with "from")')}: as written, it is a key of an object sent to TimeBack`,
          });
        }
      }
    }
  });

/** `"frm" looks like a misspelt "from"`; for a key in another case alone, why it is not that key. */
function looksLike(key: string, meant: string, aside = ''): string {
  return differsInCaseOnly(key, meant) ? `${quote(key)} looks like "${meant}"${aside}, but keys are case-sensitive` : `${quote(key)} looks like a misspelt "${meant}"${aside}`;
}

/** Output keys the gateway sets itself, each with what it sets; a rule that writes one is refused. */
const GATEWAY_OWNED = {
  '@context': '@context',
  id: 'the event id (a UUID v5 of sensor, source event id and rule id)',
  eventTime: 'eventTime (the input eventTime in UTC)',
  edApp: 'edApp ($edApp)',
  session: 'session (urn:tag:auto-attach)',
} as const;
const GATEWAY_OWNED_KEYS: readonly string[] = Object.keys(GATEWAY_OWNED);

const gatewayOwned = (what: string) =>
  z
    .never({ error: `the gateway sets ${what} itself; a rule cannot change it` })
    .optional()
    .meta({ description: `Set by the gateway (${what}).` });

/** A term that is not Caliper 1.2's, or none at all (a misspelt key leaves the real one missing). */
function notA(what: string, input: unknown): string {
  return input === undefined ? `required: a Caliper 1.2 ${what}` : `${quoteValue(input)} is not a Caliper 1.2 ${what}`;
}

const ActionSchema = z
  .enum(ACTIONS, { error: (issue) => notA('action', issue.input) })
  .meta({ id: 'action', description: 'A Caliper 1.2 action.' });
const ProfileSchema = z
  .enum(PROFILES, { error: (issue) => notA('profile', issue.input) })
  .meta({ id: 'profile', description: 'A Caliper 1.2 profile.' });

/**
 * An action or profile read from the input instead of written out: `{ from: action }` keeps
 * the input's action; `{ from: object.type, map: {…}, default: … }` picks a profile by the
 * object's type. The table's values and the default are terms checked when the file loads.
 */
const computedTerm = <T extends z.ZodType<string>>(term: T, what: string) =>
  z
    .strictObject({
      from: oneOrMore(SourcePathSchema).meta({ description: 'The path(s) to read, tried in order until one yields a value.' }),
      map: z
        .record(z.string(), term)
        .optional()
        .meta({ description: `A lookup table from the value read to the ${what}; a value not in it comes out empty.` }),
      default: term.optional().meta({ description: `The ${what} when no path yields one.` }),
    })
    .meta({ description: `A computed ${what}: { from: PATH, map: { value: ${what} }, default: ${what} }.` });

const ComputedActionSchema = computedTerm(ActionSchema, 'action');
const ComputedProfileSchema = computedTerm(ProfileSchema, 'profile');
export type ComputedTerm = z.infer<typeof ComputedActionSchema> | z.infer<typeof ComputedProfileSchema>;

const OutputSchema = z
  .strictObject({
    type: z.enum(EVENT_TYPES, {
      error: (issue) => notA('event type', issue.input),
    }),
    action: z.union([ActionSchema, ComputedActionSchema]).meta({
      description: 'A Caliper 1.2 action, or { from: action } to keep the input\'s (read as its term), optionally through a map.',
    }),
    profile: z.union([ProfileSchema, ComputedProfileSchema]).meta({
      description: 'A Caliper 1.2 profile, or { from: PATH, map: {…}, default: … } to choose it from the input.',
    }),
    actor: ValueSchema.optional().meta({
      description: 'Defaults to $student. The only other actor TimeBack knows is this app, $edApp, where the event type lets software act (GradeEvent, SessionEvent TimedOut, ViewEvent, Event). Any other actor is refused when the file loads.',
    }),
    object: ValueSchema.optional(),
    target: ValueSchema.optional(),
    generated: ValueSchema.optional(),
    referrer: ValueSchema.optional(),
    group: ValueSchema.optional(),
    membership: ValueSchema.optional(),
    federatedSession: ValueSchema.optional(),
    extensions: ValueSchema.optional(),
    '@context': gatewayOwned(GATEWAY_OWNED['@context']),
    id: gatewayOwned(GATEWAY_OWNED.id),
    eventTime: gatewayOwned(GATEWAY_OWNED.eventTime),
    edApp: gatewayOwned(GATEWAY_OWNED.edApp),
    session: gatewayOwned(GATEWAY_OWNED.session),
  })
  .superRefine((output, ctx) => {
    const definition = EVENTS[output.type as EventType];
    if (typeof output.action === 'string' && !(definition.actions as readonly string[]).includes(output.action)) {
      ctx.addIssue({
        code: 'custom',
        path: ['action'],
        message: `${output.type} does not allow ${output.action} (allowed: ${definition.actions.join(', ')})`,
      });
    }
    if (typeof output.profile === 'string' && !(definition.profiles as readonly string[]).includes(output.profile)) {
      ctx.addIssue({
        code: 'custom',
        path: ['profile'],
        message: `${output.profile} does not carry ${output.type} (use ${definition.profiles.join(' or ')})`,
      });
    }
    if (output.object === undefined) {
      ctx.addIssue({ code: 'custom', path: ['object'], message: 'every Caliper event needs an object' });
    }
  });

/** Where a `where` value that is a reference can go wrong, with the fix; undefined when it is fine. */
function referenceProblem(value: string): string | undefined {
  if (!value.startsWith('$') || isListReference(value)) return undefined;
  const literal = `for the text itself, write { const: ${quote(value)} }`;
  if (value.startsWith(LIST_REFERENCE_PREFIX)) {
    return `${quote(value)} is no list name: list names are kebab-case (lowercase letters, digits and single dashes), as in ${LISTS_FILE_NAME}; ${literal}`;
  }
  return `unknown reference ${quote(value)}: text starting with $ names a list, ${LIST_REFERENCE_PREFIX}<name>, defined in ${LISTS_FILE_NAME}; ${literal}`;
}

/**
 * A value `where` compares with: text, a number or true/false; `$lists.<name>`, standing for
 * every value of a list in lists.yaml; or `{ const: … }`, a value taken as written (never null,
 * nor any other mapping). Any other text starting with `$` is refused: a misspelt reference must
 * not quietly become a value no event holds.
 */
const WhereValueSchema = z.union([
  WhereTextSchema.superRefine((value, ctx) => {
    const problem = referenceProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: value });
  }).meta({ description: `A value, or ${LIST_REFERENCE_PREFIX}<name> for every value of a list in ${LISTS_FILE_NAME}.` }),
  z.number(),
  z.boolean(),
  ConstValueSchema,
]);

export type WhereValue = z.infer<typeof WhereValueSchema>;

/**
 * `{ PATH: value or list of values }`. The keys are input paths, checked here rather than by a
 * key schema so that a bad path is reported under its own key like any other path problem.
 */
const PathValuesSchema = z
  .record(z.string(), oneOrMore(WhereValueSchema))
  .superRefine((where, ctx) => {
    const paths = Object.keys(where);
    if (paths.length === 0) ctx.addIssue({ code: 'custom', message: 'name at least one path' });
    for (const path of paths) {
      try {
        compilePath(path, { allowVariables: false });
      } catch (err) {
        if (!(err instanceof PathSyntaxError)) throw err;
        ctx.addIssue({ code: 'custom', path: [path], message: err.message });
      }
    }
  });

const WhereSchema = PathValuesSchema.meta({
  description:
    'Paths into the input event and the values they may hold: a path matches when its value (or, for a list or comma-separated text, any item) equals one of them. $lists.<name> stands for every value of a list in lists.yaml; { const: "$text" } is text starting with $, as written.',
});

const WhereNoneSchema = PathValuesSchema.meta({
  description:
    'Paths into the input event and values they must not hold: a path matches when it holds a value and neither it nor any item of a list or comma-separated text equals one of them. $lists.<name> stands for every value of a list in lists.yaml; { const: "$text" } is text starting with $, as written.',
});

const MatchSchema = z.strictObject({
  type: oneOrMore(z.string().trim().min(1, 'the type is empty')).meta({
    description: 'The input type: an IMS short name (GradeEvent) or a full IRI (http://caliper.blackboard.com/caliper/v1/ForumEvent).',
  }),
  action: oneOrMore(z.string().trim().min(1, 'the action is empty'))
    .optional()
    .meta({ description: 'The input action(s); omitted means any.' }),
  has: z.array(InputPathSchema).min(1, 'the list is empty').optional().meta({ description: 'Paths that must hold a value.' }),
  lacks: z.array(InputPathSchema).min(1, 'the list is empty').optional().meta({ description: 'Paths that must not hold a value.' }),
  where: WhereSchema.optional(),
  whereNone: WhereNoneSchema.optional(),
});

const RuleSchema = z
  .strictObject({
    id: z
      .string({ error: 'every rule needs an id' })
      .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'rule ids are kebab-case: lowercase letters, digits and single dashes')
      .meta({ description: 'Unique across all files. It seeds the output event id: renaming a rule changes the ids it produces.' }),
    description: z.string().optional(),
    match: MatchSchema,
    student: z
      .array(InputPathSchema)
      .min(1, 'name at least one path')
      .optional()
      .meta({ description: "Ordered paths to the student's Learn id (bb:user.externalId); the first non-empty text wins." }),
    output: OutputSchema.optional(),
    skip: z
      .string()
      .trim()
      .min(1, 'say why these events are skipped')
      .optional()
      .meta({ description: 'Why matched events are not sent; recorded as skipped (rule-skips) with this sentence.' }),
    allowPii: z
      .array(
        z.enum(PII_CATEGORIES, {
          error: (issue) => `unknown personal-data category ${quoteValue(issue.input)} (known: ${PII_CATEGORIES.join(', ')})`,
        }),
      )
      .optional()
      .meta({ description: 'Personal-data categories this rule may send.' }),
  })
  .superRefine((rule, ctx) => {
    if (rule.output === undefined && rule.skip === undefined) {
      ctx.addIssue({ code: 'custom', path: ['output'], message: 'a rule needs an output, or a skip saying why it sends nothing' });
    }
    if (rule.output !== undefined && rule.skip !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['skip'], message: 'a rule has an output or a skip, not both' });
    }
    if (rule.output !== undefined && rule.student === undefined) {
      ctx.addIssue({ code: 'custom', path: ['student'], message: "a rule with an output needs student: the paths to the student's Learn id" });
    }
    if (rule.output !== undefined) checkComputedTerms(rule.output, rule.match.action, ctx);
    if (rule.output !== undefined) checkActor(rule.output, rule.match.action, ctx);
  });

type Party = '$student' | '$edApp';

/**
 * Who a rule's actor is: `$student` (also when actor is left out) or `$edApp`, written as the
 * variable, `{ from: $… }`, or an entity whose `id` is one; undefined for anything else (text,
 * a path into the input, another variable, a transform), which TimeBack would take for
 * someone it does not know, so every event the rule sends would be rejected.
 */
function actorParty(actor: RuleValue | undefined): Party | undefined {
  if (actor === undefined) return '$student';
  const party = (value: unknown) => (value === '$student' || value === '$edApp' ? value : undefined);
  if (typeof actor === 'string') return party(actor);
  if (actor === null || typeof actor !== 'object' || Array.isArray(actor)) return undefined;
  if ('from' in actor) {
    if (actor.transform !== undefined || actor.map !== undefined || actor.pick !== undefined) return undefined;
    // The first path wins: both variables always hold a value.
    return party(Array.isArray(actor.from) ? actor.from[0] : actor.from);
  }
  if ('const' in actor || actor.id === undefined) return undefined;
  return actorParty(actor.id as RuleValue);
}

/**
 * The actor must be one TimeBack knows, of a kind the event allows: the student where a person
 * acts, this app where software may act (GradeEvent, SessionEvent TimedOut, ViewEvent, Event).
 * The validator checks each event too; this refuses when the file loads what would reject every
 * event, so check-mappings and a hot reload catch it. A SessionEvent's actor depends on its
 * action: a computed action is checked for every action the file shows it can produce.
 */
function checkActor(output: RuleOutputShape, matchActions: string | string[] | undefined, ctx: z.RefinementCtx): void {
  const type = output.type as EventType;
  const definition = EVENTS[type];
  if (definition === undefined) return;
  const party = actorParty(output.actor);
  if (party === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['output', 'actor'],
      message: `TimeBack knows only two actors: the student ($student, the default when actor is left out) and, where the event type lets software act, this app ($edApp); write one of them, as text or { from: $… }`,
    });
    return;
  }
  const allowedActions = definition.actions as readonly string[];
  const actions =
    type !== 'SessionEvent'
      ? [undefined]
      : typeof output.action === 'string'
        ? [output.action]
        : [...new Set(possibleActions(output.action, matchActions).map(({ term }) => term))].filter((term) => allowedActions.includes(term));
  const kind = party === '$student' ? 'Person' : 'SoftwareApplication';
  const refused = actions.filter((action) => !isAnyOf(kind, action === undefined ? definition.actor : sessionEventRanges(action).actor));
  if (refused.length === 0) return;
  const what = refused[0] === undefined ? type : `${type} ${refused.join(' or ')}`;
  ctx.addIssue({
    code: 'custom',
    path: ['output', 'actor'],
    message:
      party === '$edApp'
        ? `$edApp cannot be the actor of a ${what}: its actor is a person, and the only person TimeBack knows is the student ($student, the default: leave actor out)`
        : `the actor is $student${output.actor === undefined ? ' (the default when actor is left out)' : ''}, but a ${what} is done by software: set actor: $edApp`,
  });
}

/**
 * A computed action or profile is checked as far as the file alone allows: every value its
 * map and default can produce, and, for `{ from: action }` without a map, every action the
 * rule matches, must be one the output type allows. What cannot be known before an event
 * arrives (a path other than `action`, without a map) is left to the validator, which rejects
 * the event, and to the fixtures, which then fail.
 */
function checkComputedTerms(output: RuleOutputShape, matchActions: string | string[] | undefined, ctx: z.RefinementCtx): void {
  const definition = EVENTS[output.type as EventType];
  if (definition === undefined) return;
  if (typeof output.action !== 'string') {
    const allowed = definition.actions as readonly string[];
    const bad = possibleActions(output.action, matchActions).filter(({ term }) => !allowed.includes(term));
    if (bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['output', 'action'],
        message: `${output.type} does not allow ${bad.map(({ term, source }) => `${term} (${source})`).join(', ')} (allowed: ${allowed.join(', ')})`,
      });
    }
  }
  if (typeof output.profile !== 'string') {
    const allowed = definition.profiles as readonly string[];
    const bad = possibleTerms(output.profile).filter(({ term }) => !allowed.includes(term));
    if (bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['output', 'profile'],
        message: `${bad.map(({ term, source }) => `${term} (${source})`).join(', ')} ${bad.length === 1 ? 'does' : 'do'} not carry ${output.type} (use ${allowed.join(' or ')})`,
      });
    }
  }
}

interface PossibleTerm {
  term: string;
  /** Why the rule can send it, for the message. */
  source: string;
}

/** The terms a computed value's map and default can produce, each with where it comes from. */
function possibleTerms(value: ComputedTerm): PossibleTerm[] {
  const terms: PossibleTerm[] = [];
  for (const [key, term] of Object.entries(value.map ?? {})) terms.push({ term, source: `its map, for ${key}` });
  if (value.default !== undefined) terms.push({ term: value.default, source: 'its default' });
  return terms;
}

/** Without a map, `{ from: action }` sends the matched actions as their terms. */
function possibleActions(value: ComputedTerm, matchActions: string | string[] | undefined): PossibleTerm[] {
  const terms = possibleTerms(value);
  const paths = Array.isArray(value.from) ? value.from : [value.from];
  if (value.map === undefined && matchActions !== undefined && paths.every((path) => path.trim() === 'action')) {
    for (const action of Array.isArray(matchActions) ? matchActions : [matchActions]) {
      const term = actionTerm(action);
      terms.push({ term, source: term === action ? 'an input action it matches' : `the input action ${action} it matches` });
    }
  }
  return terms;
}

export const RuleFileSchema = z
  .strictObject({
    description: z.string().optional(),
    fallback: z
      .boolean()
      .default(false)
      .meta({ description: 'Rules in fallback files are tried only after every other file.' }),
    rules: z.array(RuleSchema, {
      error: (issue) =>
        issue.input === undefined
          ? 'required: the list of rules, each starting with "- "'
          : issue.input === null
            ? 'empty: list the rules under it, each starting with "- ", or write rules: [] for none'
            : `expected a list of rules, each starting with "- ", got ${typeof issue.input === 'object' && !Array.isArray(issue.input) ? 'a mapping (is the "- " before the first rule missing?)' : quoteValue(issue.input)}`,
    }),
  })
  .meta({ title: 'caliper-gateway mapping rules', description: 'See mappings/README.md.' });

/**
 * The keys allowed in the mapping at `path` of a rule file, for "unknown key" messages; undefined
 * where the keys are the author's own (output values, `where`, `map`).
 */
export function knownKeys(path: readonly PropertyKey[]): readonly string[] | undefined {
  switch (pathPattern(path)) {
    case '':
      return Object.keys(RuleFileSchema.shape);
    case 'rules.#':
      return Object.keys(RuleSchema.shape);
    case 'rules.#.match':
      return Object.keys(MatchSchema.shape);
    case 'rules.#.output':
      return Object.keys(OutputSchema.shape).filter((key) => !GATEWAY_OWNED_KEYS.includes(key));
    case 'rules.#.output.action':
    case 'rules.#.output.profile':
      return Object.keys(ComputedActionSchema.shape);
    default:
      return undefined;
  }
}

/**
 * The keys of the mapping at `path` that the gateway sets itself, each with what it sets: a near
 * miss of one (`eventTim`) is named with it, since the author most likely meant to set it.
 */
export function gatewaySetKeys(path: readonly PropertyKey[]): Readonly<Record<string, string>> | undefined {
  return pathPattern(path) === 'rules.#.output' ? GATEWAY_OWNED : undefined;
}

/** A path with its list indexes as `#`: `rules.#.output` for every rule's output. */
function pathPattern(path: readonly PropertyKey[]): string {
  return path.map((key) => (typeof key === 'number' ? '#' : String(key))).join('.');
}

type RuleOutputShape = z.infer<typeof OutputSchema>;

export type RuleFile = z.infer<typeof RuleFileSchema>;
export type Rule = RuleFile['rules'][number];
export type RuleOutput = NonNullable<Rule['output']>;
