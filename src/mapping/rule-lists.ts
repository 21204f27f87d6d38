/**
 * Named lists of `where`/`whereNone` values, defined once in mappings/lists.yaml and named in
 * rules as `$lists.<name>` (mappings/README.md "Named lists"). YAML anchors cannot reach across
 * files, and the same fifteen Learner roles guard eight files: one list keeps them in step.
 */
import { z } from 'zod';
import { closestKey, didYouMean } from '../closest-name.ts';
import { quote } from '../errors.ts';
import { isBlankText, ONLY_COMMAS } from './paths.ts';

/** The one file in the mappings folder that holds named lists; it holds no rules. */
export const LISTS_FILE_NAME = 'lists.yaml';

/** How a rule names a list: `$lists.learner-roles`. */
export const LIST_REFERENCE_PREFIX = '$lists.';

const LIST_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** The list name a `where` value refers to, or undefined for a literal value. */
export function listReference(value: unknown): string | undefined {
  return typeof value === 'string' && value.startsWith(LIST_REFERENCE_PREFIX) ? value.slice(LIST_REFERENCE_PREFIX.length) : undefined;
}

/** Whether `value` is a well-formed reference, `$lists.` and a kebab-case name. */
export function isListReference(value: string): boolean {
  const name = listReference(value);
  return name !== undefined && LIST_NAME.test(name);
}

/**
 * Text `where` compares with, in a rule or a list, trimmed as the values read from events are:
 * `" Learner"` is Learner.
 */
export const WhereTextSchema = z
  .string()
  .trim()
  .min(1, 'the text is empty')
  // "" is reported by min alone.
  .refine((value) => value === '' || !isBlankText(value), { message: ONLY_COMMAS });

/**
 * `{ const: "$5 voucher" }`: a value taken as written, for text that starts with `$` (which
 * otherwise names a list). It holds one value; a list of them is a list of `{ const: … }`.
 * Rules' `where`/`whereNone` and lists.yaml take it alike.
 */
export const ConstValueSchema = z
  // Loose, and checked below: an unknown key is then reported with what the mapping is for.
  .looseObject({
    const: z.union([WhereTextSchema, z.number(), z.boolean()]).optional().meta({ description: 'The value, taken as written: text starting with $ is not a list name here.' }),
  })
  .superRefine((value, ctx) => {
    const form = 'a mapping here is { const: value } and holds nothing else: the value taken as written, for text starting with $';
    const others = Object.keys(value).filter((key) => key !== 'const');
    for (const key of others) {
      const hint = closestKey(key, ['const']) === undefined ? '' : `; ${didYouMean(key, 'const')}`;
      ctx.addIssue({ code: 'custom', path: [key], message: `unknown key${hint} (${form})` });
    }
    if (others.length === 0 && value.const === undefined) ctx.addIssue({ code: 'custom', message: `const is missing (${form})` });
  })
  // For editors: the loader's own check (above) says the same with a hint.
  .meta({ description: 'A value taken as written: { const: "$text" } for text starting with $.', required: ['const'], additionalProperties: false });

/** What a list's text starting with `$` is taken for, and how to write it as text; undefined for other text. */
function listTextProblem(value: string): string | undefined {
  if (!value.startsWith('$')) return undefined;
  const literal = `for the text itself, write { const: ${quote(value)} }`;
  if (value.startsWith(LIST_REFERENCE_PREFIX)) return `a list holds values, not references to other lists (list the values here); ${literal}`;
  return `text starting with $ names a list in rules, and a list holds no references; ${literal}`;
}

/**
 * A value a list holds: what `where` compares with, written as in a rule, `{ const: … }` and all.
 * A list holds no references to other lists.
 */
const ListItemSchema = z.union([
  WhereTextSchema.superRefine((value, ctx) => {
    const problem = listTextProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: value });
  }),
  z.number(),
  z.boolean(),
  ConstValueSchema,
]);

export const ListsFileSchema = z
  .strictObject({
    description: z.string().optional(),
    lists: z
      .record(z.string(), z.array(ListItemSchema).min(1, 'the list is empty'))
      // Checked here rather than by a key schema, so the problem is reported under the name itself.
      .superRefine((lists, ctx) => {
        for (const name of Object.keys(lists)) {
          if (!LIST_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'list names are kebab-case: lowercase letters, digits and single dashes' });
        }
      })
      .meta({ description: 'Named lists of values, each used in rules as $lists.<name> in where or whereNone.' }),
  })
  .meta({ title: 'caliper-gateway named lists', description: 'See mappings/README.md, "Named lists".' });

/** A list's value as rules compare with it: `{ const: … }` unwrapped. */
export type ListValue = string | number | boolean;
export type NamedLists = ReadonlyMap<string, readonly ListValue[]>;

/** The value a list item stands for: `{ const: "$5 voucher" }` is the text `$5 voucher`. */
export function listValue(item: z.infer<typeof ListItemSchema>): ListValue {
  return typeof item === 'object' ? item.const! : item;
}
