/**
 * Reads every rule file in a folder, checks it against the rule schema and compiles it.
 * Files are plain data: YAML with unique keys, no custom tags, no merge keys; nothing in them
 * is ever executed. A bad file is refused with its path, line, the rule's id and the failing key.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { closestKey, didYouMean } from '../closest-name.ts';
import { OVERRIDES_FILE_NAME } from '../config.ts';
import { formatPath, quote, quoteValue } from '../errors.ts';
import { LISTS_FILE_NAME, listReference, ListsFileSchema, listValue, type NamedLists } from './rule-lists.ts';
import { gatewaySetKeys, knownKeys, RuleFileSchema, type RuleFile, type WhereValue } from './rule-schema.ts';
import { EVENTS, type EventType } from './caliper-vocabulary.ts';
import { buildRuleSet, compileRule, type CompiledRule, type RuleSet } from './rule-set.ts';
import { describeYamlErrors } from './yaml-syntax.ts';

export const RULE_FILE_EXTENSION = '.yaml';

/** Rule files that cannot be used, each problem naming its file, line and key. */
export class RuleLoadError extends Error {
  constructor(readonly problems: string[]) {
    super(`mapping rules not loaded:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
    this.name = 'RuleLoadError';
  }
}

/** The rule files in `dir` in the order they are read: every `*.yaml` but the user overrides and the lists, by name. */
export async function listRuleFiles(dir: string): Promise<string[]> {
  return (await listFolder(dir)).ruleFiles;
}

/**
 * A name that looks like a rule file but would not be read: `forum-event.yml`, `Grade.YAML`.
 * Skipping it quietly would leave an admin sure their rule is live; the loader refuses it instead.
 */
export function misnamedRuleFile(name: string): boolean {
  // A misnamed user overrides file is not a rule file; check-mappings reports it on its own.
  return /\.ya?ml$/i.test(name) && !name.endsWith(RULE_FILE_EXTENSION) && !isMisnamedOverridesFile(name);
}

/** `user-overrides.yml` and the like: the overrides are read from user-overrides.yaml only. */
export function isMisnamedOverridesFile(name: string): boolean {
  return name !== OVERRIDES_FILE_NAME && name.toLowerCase().replace(/\.yml$/, '.yaml') === OVERRIDES_FILE_NAME;
}

async function listFolder(dir: string): Promise<{ ruleFiles: string[]; misnamed: string[]; listsFile?: string }> {
  const entries = await readdir(dir, { withFileTypes: true });
  const ruleFiles: string[] = [];
  const misnamed: string[] = [];
  let listsFile: string | undefined;
  for (const entry of entries) {
    if (entry.name === OVERRIDES_FILE_NAME || !(await isFileOrLinkToOne(dir, entry))) continue;
    if (entry.name === LISTS_FILE_NAME) listsFile = path.join(dir, entry.name);
    else if (entry.name.endsWith(RULE_FILE_EXTENSION)) ruleFiles.push(entry.name);
    else if (misnamedRuleFile(entry.name)) misnamed.push(entry.name);
  }
  const inFolder = (names: string[]) => names.sort().map((name) => path.join(dir, name));
  return { ruleFiles: inFolder(ruleFiles), misnamed: inFolder(misnamed), ...(listsFile === undefined ? {} : { listsFile }) };
}

/**
 * A symlink counts as the file it points to (a rule file linked from a shared checkout is
 * meant to be read); one that points nowhere, like an editor's lock file, does not.
 */
async function isFileOrLinkToOne(dir: string, entry: Dirent): Promise<boolean> {
  if (entry.isFile()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return (await stat(path.join(dir, entry.name))).isFile();
  } catch {
    return false;
  }
}

/** Loads and compiles every rule file in `dir`; throws RuleLoadError listing every problem found. */
export async function loadRules(dir: string): Promise<RuleSet> {
  let files: string[];
  let misnamed: string[];
  let listsFile: string | undefined;
  try {
    ({ ruleFiles: files, misnamed, listsFile } = await listFolder(dir));
  } catch (err) {
    throw new RuleLoadError([`${displayPath(dir)}: cannot read the mappings folder (${(err as Error).message})`]);
  }
  if (misnamed.length > 0) {
    throw new RuleLoadError(
      misnamed.map((file) => {
        const renamed = `${path.basename(file).replace(/\.ya?ml$/i, '')}${RULE_FILE_EXTENSION}`;
        return `${displayPath(file)}: not read: only files ending in ${RULE_FILE_EXTENSION} hold rules; rename it ${renamed} (or move it out of the mappings folder)`;
      }),
    );
  }
  // No rules would skip every event as no-rule: a wrong MAPPINGS_DIR, or a folder emptied by
  // mistake, must stop translation instead (events wait, pending), as a broken rule does.
  if (files.length === 0) {
    throw new RuleLoadError([`${displayPath(dir)}: no rule files (*${RULE_FILE_EXTENSION}) in the mappings folder; set MAPPINGS_DIR to the folder that holds them`]);
  }
  const toRead = listsFile === undefined ? files : [listsFile, ...files];
  const sources = await Promise.all(toRead.map(async (file) => ({ file, text: await readFile(file, 'utf8') })));
  return compileRuleFiles(sources);
}

/**
 * Compiles rule files already read; `file` is used in messages and as the rule's origin. A
 * source named lists.yaml is the named lists the rules refer to, not a rule file.
 */
export function compileRuleFiles(sources: ReadonlyArray<{ file: string; text: string }>): RuleSet {
  const problems: string[] = [];
  const compiled: CompiledRule[] = [];
  const listsSource = sources.find(({ file }) => path.basename(file) === LISTS_FILE_NAME);
  const lists = readLists(listsSource);
  if (!lists.ok) problems.push(...lists.problems);
  for (const { file, text } of sources) {
    if (file === listsSource?.file) continue;
    const shown = displayPath(file);
    const parsed = parseRuleFile(text, shown, lists.ok ? lists : undefined);
    if (!parsed.ok) {
      problems.push(...parsed.problems);
      continue;
    }
    parsed.file.rules.forEach((rule, index) =>
      compiled.push(compileRule(rule, { file: shown, index, line: parsed.lines[index] ?? 0, fallback: parsed.file.fallback })),
    );
  }
  if (problems.length > 0) throw new RuleLoadError(problems);
  const { ruleSet, problems: setProblems } = buildRuleSet(compiled);
  if (setProblems.length > 0) throw new RuleLoadError(setProblems);
  return ruleSet;
}

type ParsedRuleFile =
  /** `lines[i]` is the line where `rules[i]` starts. */
  | { ok: true; file: z.infer<typeof RuleFileSchema>; lines: number[] }
  | { ok: false; problems: string[] };

/** The named lists, and the file they came from as shown in messages (none when there is no lists.yaml). */
type ReadLists = { ok: true; lists: NamedLists; shown?: string } | { ok: false; problems: string[] };

function readLists(source: { file: string; text: string } | undefined): ReadLists {
  if (source === undefined) return { ok: true, lists: new Map() };
  const shown = displayPath(source.file);
  const parsed = parseYamlFile(source.text, shown, ListsFileSchema, { allowed: knownListsFileKeys }, formatPath, `${shown}: the file is empty (or only comments); ${LISTS_FILE_NAME} holds lists: followed by named lists. Delete it if no rule uses a list`);
  if (!parsed.ok) return parsed;
  const lists = new Map(Object.entries(parsed.data.lists).map(([name, items]) => [name, items.map(listValue)] as const));
  return { ok: true, lists, shown };
}

/** Parses one rule file's text; `shown` is the file name used in messages. */
function parseRuleFile(text: string, shown: string, lists: Extract<ReadLists, { ok: true }> | undefined): ParsedRuleFile {
  const parsed = parseYamlFile(text, shown, RuleFileSchema, { allowed: knownKeys, setByGateway: gatewaySetKeys }, rulePath, `${shown}: the file is empty (or only comments); a rule file holds rules: followed by its rules. To drop a file's rules, delete the file, or write rules: []`);
  if (!parsed.ok) return parsed;
  const { data, doc, at } = parsed;
  // Without usable lists (lists.yaml is refused, and says why) every reference would be reported too.
  if (lists !== undefined) {
    const problems = resolveListReferences(data, lists, (keys) => at(offsetOf(doc, keys)));
    if (problems.length > 0) return { ok: false, problems };
  }
  const lines = data.rules.map((_, index) => {
    const offset = offsetOf(doc, ['rules', index]);
    return offset === undefined ? 0 : parsed.lineCounter.linePos(offset).line;
  });
  return { ok: true, file: data, lines };
}

type ParsedYaml<T> =
  | { ok: true; data: T; doc: Document; lineCounter: LineCounter; at: (offset: number | undefined) => string }
  | { ok: false; problems: string[] };

/**
 * Parses a YAML file as plain data and checks it against `schema`; problems name the file, line
 * and key, the key as `describePath` writes it.
 */
function parseYamlFile<T>(
  text: string,
  shown: string,
  schema: z.ZodType<T>,
  known: KnownKeys,
  describePath: (keys: readonly PropertyKey[], data: unknown) => string,
  emptyProblem: string,
): ParsedYaml<T> {
  const lineCounter = new LineCounter();
  // Core schema: plain YAML 1.2 data. uniqueKeys: a repeated key is an error, not a silent override.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, merge: false, schema: 'core', prettyErrors: false });
  const at = (offset: number | undefined) => (offset === undefined ? shown : `${shown}:${lineCounter.linePos(offset).line}`);

  const yamlProblem = describeYamlErrors([...doc.errors, ...doc.warnings], text, lineCounter);
  if (yamlProblem !== undefined) return { ok: false, problems: [`${shown}:${yamlProblem}`] };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { ok: false, problems: [`${shown}: ${(err as Error).message}`] };
  }
  if (data === null || data === undefined) return { ok: false, problems: [emptyProblem] };

  const result = schema.safeParse(data);
  if (result.success) return { ok: true, data: result.data, doc, lineCounter, at };
  const problems = result.error.issues
    .flatMap((issue) => explainIssue(issue, data, known))
    .map((explained) => {
      const offset = offsetOf(doc, explained.path);
      return { ...explained, offset, line: offset === undefined ? 0 : lineCounter.linePos(offset).line };
    })
    // Line by line, as the admin reads and fixes the file: zod reports a mapping's unknown keys
    // after its other problems, wherever they are written. Problems on one line keep zod's order.
    .sort((a, b) => a.line - b.line)
    .map(({ path, message, offset }) => `${at(offset)}: ${path.length > 0 ? `${describePath(path, data)}: ` : ''}${message}`);
  return { ok: false, problems: [...new Set(problems)] };
}

/**
 * A place in a rule file as its author knows it: inside a rule, the rule's id and the path from
 * the rule (`rule "forum-post-created": match.where.action`), since `rules[7]` means counting
 * rules by hand; by position (`rules[7].id`) only for a rule without an id to name it by.
 */
function rulePath(keys: readonly PropertyKey[], data: unknown): string {
  const [top, index, ...inRule] = keys;
  const id = top === 'rules' && typeof index === 'number' ? valueAt(data, ['rules', index, 'id']) : undefined;
  if (typeof id !== 'string' || id.trim() === '') return formatPath(keys);
  const named = `rule ${quote(id, MAX_ID_CHARS)}`;
  return inRule.length === 0 ? named : `${named}: ${formatPath(inRule)}`;
}

/** An id longer than this is cut in messages: it is a mistake (a sentence pasted as the id), and the line finds it. */
const MAX_ID_CHARS = 60;

function knownListsFileKeys(path: readonly PropertyKey[]): readonly string[] | undefined {
  return path.length === 0 ? Object.keys(ListsFileSchema.shape) : undefined;
}

/**
 * Replaces each `$lists.<name>` in the rules' `where` and `whereNone` with the list's values,
 * in place, so the compiled rule holds plain values (and `{ const: … }`, which compileRule
 * unwraps). An unknown name is a problem naming the file, line, rule and key.
 */
function resolveListReferences(file: RuleFile, lists: Extract<ReadLists, { ok: true }>, at: (keys: PropertyKey[]) => string): string[] {
  const problems: string[] = [];
  file.rules.forEach((rule, index) => {
    for (const key of ['where', 'whereNone'] as const) {
      const conditions = rule.match[key];
      if (conditions === undefined) continue;
      for (const [inputPath, values] of Object.entries(conditions)) {
        const items = Array.isArray(values) ? values : [values];
        const resolved: WhereValue[] = [];
        items.forEach((item, itemIndex) => {
          const name = listReference(item);
          if (name === undefined) {
            resolved.push(item);
            return;
          }
          const list = lists.lists.get(name);
          if (list !== undefined) {
            resolved.push(...list);
            return;
          }
          const keys: PropertyKey[] = ['rules', index, 'match', key, inputPath, ...(Array.isArray(values) ? [itemIndex] : [])];
          const known = lists.lists.size === 0 ? '' : ` (lists there: ${[...lists.lists.keys()].join(', ')})`;
          const where = lists.shown === undefined ? `there is no ${LISTS_FILE_NAME} in the mappings folder` : `${lists.shown} defines no list "${name}"${known}`;
          problems.push(`${at(keys)}: ${rulePath(keys, file)}: names the list ${quoteValue(item)}, but ${where}`);
        });
        conditions[inputPath] = resolved;
      }
    }
  });
  return problems;
}

/**
 * For "unknown key" hints, at a path of a file: the keys allowed there (undefined where keys are
 * the author's), and those a file may not write because the gateway sets them, each with what it sets.
 */
interface KnownKeys {
  allowed: (path: readonly PropertyKey[]) => readonly string[] | undefined;
  setByGateway?: (path: readonly PropertyKey[]) => Readonly<Record<string, string>> | undefined;
}

interface ExplainedIssue {
  path: PropertyKey[];
  message: string;
}

/**
 * Zod reports a value that fits no branch of a union as "invalid input". Every union in the
 * rule schema has branches of different kinds (text, number, list, mapping), so the branch
 * that fits the value's kind is the one the author meant; report its problems instead. An
 * issue can stand for several problems (one per unknown key): all of them are returned, so
 * an admin fixes a file in one pass rather than one problem per run.
 */
function explainIssue(issue: z.core.$ZodIssue, data: unknown, known: KnownKeys, prefix: PropertyKey[] = []): ExplainedIssue[] {
  const fullPath = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const fitting = issue.errors.filter((branch) => !branch.some((inner) => inner.path.length === 0 && inner.code === 'invalid_type'));
    // Text fits an enum branch and a list branch alike at first sight; the branch that
    // objects only to something inside the value (not the value itself), or to keys it does
    // not know, is the closer fit: `{ frm: action }` is a computed action, not an action.
    const closest = fitting.length > 1 ? fitting.filter((branch) => branch.every((inner) => inner.path.length > 0 || inner.code === 'unrecognized_keys')) : fitting;
    const branch = closest.length === 1 ? closest[0] : fitting.length === 1 ? fitting[0] : undefined;
    if (branch !== undefined && branch.length > 0) {
      return withoutKeysStoodFor(branch, data, known, fullPath).flatMap((inner) => explainIssue(inner, data, known, fullPath));
    }
    const kinds = issue.errors.flatMap((branch) =>
      branch.filter((inner) => inner.path.length === 0 && inner.code === 'invalid_type').map((inner) => describeKind((inner as { expected: string }).expected)),
    );
    const value = valueAt(data, fullPath);
    const expected = [...new Set(kinds)].join(', or ');
    return [{ path: fullPath, message: value === undefined ? `required (${expected})` : `expected ${expected}, got ${describeValue(value)}` }];
  }
  if (issue.code === 'unrecognized_keys') {
    // Each key on its own line (its own path, so its own line number) with its own hint.
    const keys = known.allowed(fullPath);
    const owned = known.setByGateway?.(fullPath) ?? {};
    return issue.keys.map((key) => {
      const meant = keys === undefined ? undefined : closestKey(key, keys);
      // A near miss of a key the gateway sets (`eventTim`) is meant to set it: say both at once.
      const meantOwned = keys === undefined || meant !== undefined ? undefined : closestKey(key, Object.keys(owned));
      const hint =
        keys === undefined
          ? ''
          : meant !== undefined
            ? `; ${didYouMean(key, meant)} (known here: ${keys.join(', ')})`
            : meantOwned !== undefined
              ? `; ${didYouMean(key, meantOwned)} The gateway sets ${owned[meantOwned]} itself; a rule cannot change it (known here: ${keys.join(', ')})`
              : `; known here: ${keys.join(', ')}`;
      return { path: [...fullPath, key], message: `unknown key${hint}` };
    });
  }
  return [explainOne(issue, data, fullPath)];
}

/**
 * The issues of the union branch the author meant, unknown keys first: a misspelt key leaves
 * the key it stands for missing, so the unknown key, with its did-you-mean, is the problem to
 * fix and the missing key follows from it. A missing key is still reported when no unknown key
 * can stand for it (`{ map: …, defualt: … }` lacks its from as well as misspelling default);
 * an unknown key with no near miss (`{ source: action }`) may stand for any of them.
 */
function withoutKeysStoodFor(branch: readonly z.core.$ZodIssue[], data: unknown, known: KnownKeys, valuePath: PropertyKey[]): z.core.$ZodIssue[] {
  const unknown = branch.filter((inner) => inner.code === 'unrecognized_keys' && inner.path.length === 0);
  if (unknown.length === 0) return [...branch];
  const keys = known.allowed(valuePath) ?? [];
  const meant = unknown.flatMap((inner) => (inner as z.core.$ZodIssueUnrecognizedKeys).keys.map((key) => closestKey(key, keys)));
  const standsFor = (key: PropertyKey) => meant.includes(undefined) || meant.includes(String(key));
  const missing = (inner: z.core.$ZodIssue) => inner.path.length === 1 && valueAt(data, [...valuePath, ...inner.path]) === undefined;
  const rest = branch.filter((inner) => !unknown.includes(inner) && !(missing(inner) && standsFor(inner.path[0]!)));
  return [...unknown, ...rest];
}

/** An issue that is one problem: zod's own wording put the way the loader words its messages. */
function explainOne(issue: z.core.$ZodIssue, data: unknown, fullPath: PropertyKey[]): ExplainedIssue {
  // Zod's own messages start "Invalid input"; ours (set in the schema) already say what is wrong.
  const ownMessage = !issue.message.startsWith('Invalid input');
  if (issue.code === 'invalid_type' && !ownMessage && valueAt(data, fullPath) === undefined) {
    return { path: fullPath, message: `required (${describeKind(issue.expected)})` };
  }
  if (issue.code === 'invalid_type' && !ownMessage) {
    return { path: fullPath, message: `expected ${describeKind(issue.expected)}, got ${describeValue(valueAt(data, fullPath))}` };
  }
  return { path: fullPath, message: `${issue.message}${allowedBeside(issue, data, fullPath)}` };
}

/**
 * An output action or profile that is no Caliper 1.2 term at all (`action: Attended`) fails
 * before the type is looked at, so the message would not say what the type takes, as it does
 * for a 1.2 term the type does not allow. Said here, from the type written beside it.
 */
function allowedBeside(issue: z.core.$ZodIssue, data: unknown, fullPath: PropertyKey[]): string {
  const term = fullPath.at(-1);
  if (issue.code !== 'invalid_value' || fullPath.at(-2) !== 'output' || (term !== 'action' && term !== 'profile')) return '';
  const type = valueAt(data, [...fullPath.slice(0, -1), 'type']);
  if (typeof type !== 'string' || !Object.hasOwn(EVENTS, type)) return '';
  const definition = EVENTS[type as EventType];
  return term === 'action' ? ` (${type} allows: ${definition.actions.join(', ')})` : ` (${type} goes in: ${definition.profiles.join(' or ')})`;
}

function describeKind(expected: string): string {
  switch (expected) {
    case 'string':
      return 'text';
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'a mapping';
    case 'boolean':
      return 'true or false';
    default:
      return `a ${expected}`;
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `text ${quote(value, 40)}`;
  return String(value);
}

function valueAt(data: unknown, keys: readonly PropertyKey[]): unknown {
  let value = data;
  for (const key of keys) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** Where in the file a path points: the key's own position when it exists, else its nearest parent. */
function offsetOf(doc: Document, keys: readonly PropertyKey[]): number | undefined {
  let node: unknown = doc.contents;
  let offset = isNode(node) ? node.range?.[0] : undefined;
  for (const key of keys) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(key));
      if (!pair) break;
      const keyNode = pair.key as Node;
      offset = keyNode.range?.[0] ?? offset;
      node = pair.value;
      if (isNode(node) && !isScalar(node)) continue;
      if (isScalar(node)) offset = node.range?.[0] ?? offset;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      if (isNode(node)) offset = node.range?.[0] ?? offset;
      else break;
    } else {
      break;
    }
  }
  return offset;
}

/** A file as people know it: relative to the working folder when inside it. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
