/**
 * Named lists of `where`/`whereNone` values, defined once in mappings/lists.yaml and named in
 * rules as `$lists.<name>` (mappings/README.md "Named lists"). YAML anchors cannot reach across
 * files, and the same fifteen Learner roles guard eight files: one list keeps them in step.
 */
import { z } from 'zod';
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

/** A value a list holds: what `where` compares with. A list holds no references to other lists. */
const ListItemSchema = z.union([
  z
    .string()
    .trim()
    .min(1, 'the text is empty')
    .refine((value) => value === '' || !isBlankText(value), { message: ONLY_COMMAS })
    .refine((value) => !value.startsWith('$'), {
      message: 'a list holds values, not references to other lists (list the values here)',
    }),
  z.number(),
  z.boolean(),
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

export type ListValue = z.infer<typeof ListItemSchema>;
export type NamedLists = ReadonlyMap<string, readonly ListValue[]>;
