/**
 * Mapping regression fixtures (fixtures/README.md): `fixtures/<event-type>/<case>/` holds an
 * input envelope, a roster snapshot and the expected outcome of every input event. The same
 * runner serves `npm test`, `check-mappings`, `npm run fixtures:update` and the hot reload gate.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readExternalIdKey, staticIdentity } from '../identity/identity-resolver.ts';
import { jsonSyntaxProblem, withoutBom } from '../ingest/json-syntax.ts';
import { isRecord } from '../is-record.ts';
import { isUuid } from './iri.ts';
import { describeEntry, fixtureDiff } from './fixture-diff.ts';
import { displayPath } from './rule-loader.ts';
import type { RuleSet } from './rule-set.ts';
import { translate, type TranslateOutcome } from './translate.ts';
import { readTranslateInput } from './translate-input.ts';

/** Stands in for TIMEBACK_APP_ID so expected outputs do not depend on the deployment. */
export const FIXTURE_APP_ID = 'a5e0c6f2-1b7d-4c39-8e4a-6f2d9b1c3e70';

const FIXTURE_FILES = { input: 'input.json', users: 'users.json', expected: 'expected.json' } as const;

export interface FixtureCase {
  /** `<event-type>/<case>`. */
  name: string;
  dir: string;
}

/** One entry of expected.json: what became of one input event. */
export type FixtureEntry =
  | { fate: 'deliver'; rule: string; event: Record<string, unknown> }
  | { fate: 'skipped' | 'rejected' | 'retry'; reason?: string; rule?: string; detail: string };

export interface FixtureResult {
  name: string;
  ok: boolean;
  /** Why it failed: unreadable files, or one line per difference. */
  problems: string[];
  /** What the rules produce now; undefined when the input or roster could not be read. */
  actual?: FixtureEntry[];
  /** expected.json as parsed; undefined when it is missing or not JSON. */
  expected?: unknown;
}

/** Every `<event-type>/<case>/` folder under `root` that holds an input.json, in name order. */
export async function discoverFixtures(root: string): Promise<FixtureCase[]> {
  return (await scanFixtures(root)).cases;
}

/** A fixture file or folder that is not where the runner looks, so nothing in it would be checked. */
export interface StrayFixture {
  /** Relative to the fixtures folder. */
  name: string;
  problem: string;
}

const FIXTURE_FILE_NAMES: readonly string[] = Object.values(FIXTURE_FILES);

/**
 * The cases, and what looks like a case but would be skipped: an input.json one folder too high
 * (`fixtures/my-case/input.json`), or a case folder without one (`Input.json`, `input.jsn`).
 * Skipping them quietly would let check-mappings pass a case nobody checks.
 */
async function scanFixtures(root: string): Promise<{ cases: FixtureCase[]; strays: StrayFixture[] }> {
  const cases: FixtureCase[] = [];
  const strays: StrayFixture[] = [];
  const shown = (...parts: string[]) => displayPath(path.join(root, ...parts));
  const misplaced = (parts: string[], into: string) =>
    strays.push({
      name: parts.join('/'),
      problem: `${shown(...parts)}: not checked: fixture files go in a case folder, ${into}; move it there`,
    });

  const top = await entriesOf(root);
  for (const file of top.files.filter((name) => FIXTURE_FILE_NAMES.includes(name))) misplaced([file], `${shown('<event-type>', '<case>')}/`);
  for (const type of top.folders) {
    const level = await entriesOf(path.join(root, type));
    for (const file of level.files.filter((name) => FIXTURE_FILE_NAMES.includes(name))) misplaced([type, file], `${shown(type, '<case>')}/`);
    for (const name of level.folders) {
      const dir = path.join(root, type, name);
      const inside = await entriesOf(dir);
      if (inside.files.includes(FIXTURE_FILES.input)) cases.push({ name: `${type}/${name}`, dir });
      else if (inside.files.length + inside.folders.length > 0) {
        strays.push({
          name: `${type}/${name}`,
          problem: `${shown(type, name)}: not checked: a case folder holds ${FIXTURE_FILES.input} (the Learn envelope), and this one has none`,
        });
      }
    }
  }
  return { cases, strays };
}

/** The files and folders in `dir`, in name order, without hidden ones; none when it is missing. */
async function entriesOf(dir: string): Promise<{ files: string[]; folders: string[] }> {
  try {
    const entries = (await readdir(dir, { withFileTypes: true })).filter((entry) => !entry.name.startsWith('.'));
    const names = (keep: (entry: (typeof entries)[number]) => boolean) => entries.filter(keep).map((entry) => entry.name).sort();
    return { files: names((entry) => !entry.isDirectory()), folders: names((entry) => entry.isDirectory()) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { files: [], folders: [] };
    throw err;
  }
}

/** The part of an outcome a fixture pins: the fate, the rule, and the event or the reason. */
function fixtureEntry(outcome: TranslateOutcome): FixtureEntry {
  if (outcome.fate === 'deliver') return { fate: 'deliver', rule: outcome.rule, event: outcome.event };
  // Keys in the order fixtures/README.md shows them: fate, reason, rule, detail.
  const entry: Record<string, string> = { fate: outcome.fate };
  if ('reason' in outcome) entry.reason = outcome.reason;
  if (outcome.rule !== undefined) entry.rule = outcome.rule;
  entry.detail = outcome.detail;
  return entry as FixtureEntry;
}

/** Translates one case's input with its roster and compares with expected.json. */
export async function runFixture(fixture: FixtureCase, rules: RuleSet): Promise<FixtureResult> {
  const shown = (file: string) => displayPath(path.join(fixture.dir, file));
  const fail = (problem: string): FixtureResult => ({ name: fixture.name, ok: false, problems: [problem] });

  const input = readTranslateInput(await readFile(path.join(fixture.dir, FIXTURE_FILES.input)));
  if (!input.ok) return fail(`${shown(FIXTURE_FILES.input)}: ${input.message}`);

  const users = await readUsers(path.join(fixture.dir, FIXTURE_FILES.users));
  if (!users.ok) return { name: fixture.name, ok: false, problems: users.problems.map((problem) => `${shown(FIXTURE_FILES.users)}: ${problem}`) };

  const outcomes = await translate(input.items, { rules, identity: staticIdentity(users.users), appId: FIXTURE_APP_ID });
  const actual = outcomes.map(fixtureEntry);

  let expected: unknown;
  try {
    expected = JSON.parse(await readFile(path.join(fixture.dir, FIXTURE_FILES.expected), 'utf8'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing (npm run fixtures:update writes it)' : `not JSON: ${(err as Error).message}`;
    return { name: fixture.name, ok: false, problems: [`${shown(FIXTURE_FILES.expected)}: ${why}`], actual };
  }
  const differences = fixtureDiff(expected, actual);
  return {
    name: fixture.name,
    ok: differences.length === 0,
    problems: differences.map((line) => `${shown(FIXTURE_FILES.expected)}: ${line}`),
    actual,
    expected,
  };
}

/** How many of a users file's problems are listed; a file made wrong by a script can have thousands. */
const MAX_USERS_PROBLEMS = 20;

/** A users file read: its table, or every problem with it (at most MAX_USERS_PROBLEMS, then how many more). */
export type UsersFile = { ok: true; users: Record<string, string> } | { ok: false; problems: string[] };

/**
 * `{ externalId: platformId }`; a missing file is an empty roster.
 * Keys are read as the gateway reads the Learn id they are matched with (trimmed, at most 1,024
 * characters): a padded key would otherwise never match, and two keys that are one id once
 * trimmed would leave it to chance which one counts. A value must be a UUID, as the gateway takes
 * a roster user whose sourcedId is none as no student (and user-overrides.yaml refuses one):
 * listed, it would only make an actor TimeBack refuses. A key is named by its place, and neither
 * it nor its value is quoted (an entry written the wrong way round holds the id as its value),
 * as user-overrides.yaml names its entries. Every entry's problems are listed, in the order of
 * the file, so one run names them all; a file that is no JSON object has that one problem.
 */
export async function readUsers(file: string): Promise<UsersFile> {
  const refused = (problem: string): UsersFile => ({ ok: false, problems: [problem] });
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, users: {} };
    return refused((err as Error).message);
  }
  text = withoutBom(text);
  let users: unknown;
  try {
    users = JSON.parse(text);
  } catch (err) {
    return refused(jsonSyntaxProblem(text, (err as Error).message));
  }
  if (!isRecord(users)) {
    return refused('expected { "<bb:user.externalId>": "<TimeBack platform id>", … }');
  }
  const table: Array<[string, string]> = [];
  const problems: string[] = [];
  const first = new Map<string, { place: string; written: string }>();
  // Values as written, not users[key]: of a key written twice JSON.parse keeps the last value,
  // and the repeat is refused only once the loop reaches it.
  for (const [index, { key, line, value }] of topLevelEntries(text).entries()) {
    const place = `key ${index + 1} (line ${line})`;
    const before = problems.length;
    const read = readExternalIdKey(key);
    if (!read.ok) {
      problems.push(`${place}: ${read.problem}`);
    } else {
      const earlier = first.get(read.externalId);
      if (earlier !== undefined) {
        const spaces = earlier.written !== key ? ' (spaces around an id do not count)' : '';
        problems.push(`${place}: the same Learn externalId as ${earlier.place}${spaces}: a student is listed once; keep one of the two`);
      } else {
        // Even with a bad value: a second key for the student is a problem of its own.
        first.set(read.externalId, { place, written: key });
      }
    }
    const platformId = typeof value === 'string' && isUuid(value) ? value : undefined;
    if (platformId === undefined) {
      const got = typeof value !== 'string' ? value.kind : value === '' ? 'empty text' : `text (${value.length} character${value.length === 1 ? '' : 's'}) that is not a UUID`;
      const swapped = read.ok && isUuid(read.externalId) ? ' (the key is a UUID: are the Learn externalId and the platform id swapped?)' : '';
      problems.push(`${place}: the platform id must be a UUID; got ${got}${swapped}`);
    }
    if (problems.length === before && read.ok && platformId !== undefined) table.push([read.externalId, platformId]);
  }
  if (problems.length > 0) {
    const more = problems.length - MAX_USERS_PROBLEMS;
    return { ok: false, problems: more > 0 ? [...problems.slice(0, MAX_USERS_PROBLEMS), `… and ${more} more problem${more === 1 ? '' : 's'}`] : problems };
  }
  // fromEntries, not assignment: a "__proto__" key stays a key.
  return { ok: true, users: Object.fromEntries(table) };
}

const KEY_VALUE_GAP = /[\s:]*/y;

/** What a JSON value that is not text is, said without quoting it, from its first character. */
const VALUE_KINDS: Record<string, string> = { '{': 'an object', '[': 'a list', t: 'true or false', f: 'true or false', n: 'null' };

/**
 * The entries of the object `text` holds (valid JSON, an object), in the order written, each
 * with its key's line, and its value if text (what it is, otherwise): Object.entries would put
 * number-like keys first and fold a repeated key into one.
 */
function topLevelEntries(text: string): Array<{ key: string; line: number; value: string | { kind: string } }> {
  const entries: Array<{ key: string; line: number; value: string | { kind: string } }> = [];
  let line = 1;
  let depth = 0;
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '\n') {
      line++;
    } else if (char === '"') {
      const end = stringEnd(text, i);
      if (depth === 1 && keyNext) {
        // Valid JSON: only white space and the colon lie between a key and its value. Sticky,
        // from the key's end: a slice of the rest a key would make a long roster slow to read.
        KEY_VALUE_GAP.lastIndex = end + 1;
        KEY_VALUE_GAP.exec(text);
        const at = KEY_VALUE_GAP.lastIndex;
        const value = text[at] === '"' ? (JSON.parse(text.slice(at, stringEnd(text, at) + 1)) as string) : { kind: VALUE_KINDS[text[at]!] ?? 'a number' };
        entries.push({ key: JSON.parse(text.slice(i, end + 1)) as string, line, value });
      }
      keyNext = false;
      i = end;
    } else if (char === '{' || char === '[') {
      depth++;
      keyNext = depth === 1;
    } else if (char === '}' || char === ']') {
      depth--;
    } else if (char === ',' && depth === 1) {
      keyNext = true;
    }
  }
  return entries;
}

/** Where the JSON string opening at `start` closes. Valid JSON: it does, with no raw line break in it. */
function stringEnd(text: string, start: number): number {
  let end = start + 1;
  while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
  return end;
}

/** Every case's result, then a failing result for each stray fixture file or folder. */
export async function runFixtures(root: string, rules: RuleSet): Promise<FixtureResult[]> {
  const { cases, strays } = await scanFixtures(root);
  const results = await Promise.all(cases.map((fixture) => runFixture(fixture, rules)));
  return [...results, ...strays.map(({ name, problem }) => ({ name, ok: false, problems: [problem] }))];
}

/** One expected.json that `--update` wrote, and what changed in it, for review. */
export interface FixtureUpdate {
  file: string;
  /** What was there before: nothing, something that was not JSON, or the old expectations. */
  before: 'missing' | 'not-json' | 'expected';
  /** One line per change (`[0].event.action: was "Posted", now "Viewed"`), or per event of a new file. */
  changes: string[];
  /** Said once with the file, when its case has no users.json: every student in it is "not in TimeBack". */
  withoutUsers: boolean;
  /** How many of the events written the rules reject as invalid-output (built what TimeBack refuses). */
  invalidOutputs: number;
}

/** How many of these fixture events the rules reject as invalid-output. */
export function countInvalidOutputs(entries: readonly FixtureEntry[]): number {
  return entries.filter((entry) => entry.fate === 'rejected' && entry.reason === 'invalid-output').length;
}

/**
 * How many of a failing case's events the rules now reject as invalid-output where expected.json
 * did not: a rejection the case already expects (a fixture pinning that the personal-data guard
 * refuses something) is not what changed, and must not turn a meant change into "fix the rule".
 */
export function countNewInvalidOutputs({ actual = [], expected }: Pick<FixtureResult, 'actual' | 'expected'>): number {
  const before = Array.isArray(expected) ? expected : [];
  return actual.filter((entry, i) => isInvalidOutput(entry) && !isInvalidOutput(before[i])).length;
}

function isInvalidOutput(entry: unknown): boolean {
  return isRecord(entry) && entry.fate === 'rejected' && entry.reason === 'invalid-output';
}

const UPDATE_WORDS = { before: 'was', after: 'now' };

/** Rewrites expected.json for every case whose output changed; returns what it wrote and why. */
export async function updateFixtures(root: string, rules: RuleSet): Promise<FixtureUpdate[]> {
  const written: FixtureUpdate[] = [];
  for (const fixture of await discoverFixtures(root)) {
    const result = await runFixture(fixture, rules);
    if (result.ok || result.actual === undefined) continue;
    const file = path.join(fixture.dir, FIXTURE_FILES.expected);
    const previous = await readExpected(file);
    await writeFile(file, `${JSON.stringify(result.actual, null, 2)}\n`);
    written.push({
      file: displayPath(file),
      before: previous.state,
      changes:
        previous.state === 'expected'
          ? fixtureDiff(previous.value, result.actual, UPDATE_WORDS)
          : result.actual.map((entry, i) => `[${i}]: ${describeEntry(entry)}`),
      withoutUsers: !(await exists(path.join(fixture.dir, FIXTURE_FILES.users))),
      invalidOutputs: countInvalidOutputs(result.actual),
    });
  }
  return written;
}

async function readExpected(file: string): Promise<{ state: 'missing' | 'not-json' } | { state: 'expected'; value: unknown }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
    throw err;
  }
  try {
    return { state: 'expected', value: JSON.parse(text) };
  } catch {
    return { state: 'not-json' };
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
