/**
 * Mapping regression fixtures (fixtures/README.md): `fixtures/<event-type>/<case>/` holds an
 * input envelope, a roster snapshot and the expected outcome of every input event. The same
 * runner serves `npm test`, `check-mappings`, `npm run fixtures:update` and the hot reload gate.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { staticIdentity } from '../identity/identity-resolver.ts';
import { jsonSyntaxProblem, withoutBom } from '../ingest/json-syntax.ts';
import { jsonDiff } from './json-diff.ts';
import { displayPath } from './rule-loader.ts';
import type { RuleSet } from './rule-set.ts';
import { translate, type Outcome } from './translate.ts';
import { readTranslateInput } from './translate-input.ts';

/** Stands in for TIMEBACK_APP_ID so expected outputs do not depend on the deployment. */
export const FIXTURE_APP_ID = 'a5e0c6f2-1b7d-4c39-8e4a-6f2d9b1c3e70';

export const FIXTURE_FILES = { input: 'input.json', users: 'users.json', expected: 'expected.json' } as const;

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
}

/** Every `<event-type>/<case>/` folder under `root` that holds an input.json, in name order. */
export async function discoverFixtures(root: string): Promise<FixtureCase[]> {
  const cases: FixtureCase[] = [];
  for (const type of await subfolders(root)) {
    for (const name of await subfolders(path.join(root, type))) {
      const dir = path.join(root, type, name);
      const files = await readdir(dir);
      if (files.includes(FIXTURE_FILES.input)) cases.push({ name: `${type}/${name}`, dir });
    }
  }
  return cases;
}

async function subfolders(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => entry.name).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The part of an outcome a fixture pins: the fate, the rule, and the event or the reason. */
export function fixtureEntry(outcome: Outcome): FixtureEntry {
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
  if (typeof users === 'string') return fail(`${shown(FIXTURE_FILES.users)}: ${users}`);

  const outcomes = await translate(input.items, { rules, identity: staticIdentity(users), appId: FIXTURE_APP_ID });
  const actual = outcomes.map(fixtureEntry);

  let expected: unknown;
  try {
    expected = JSON.parse(await readFile(path.join(fixture.dir, FIXTURE_FILES.expected), 'utf8'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing (npm run fixtures:update writes it)' : `not JSON: ${(err as Error).message}`;
    return { name: fixture.name, ok: false, problems: [`${shown(FIXTURE_FILES.expected)}: ${why}`], actual };
  }
  const differences = jsonDiff(expected, actual);
  return {
    name: fixture.name,
    ok: differences.length === 0,
    problems: differences.map((line) => `${shown(FIXTURE_FILES.expected)}: ${line}`),
    actual,
  };
}

/** `{ externalId: platformId }`; a missing file is an empty roster. Returns a message when unusable. */
export async function readUsers(file: string): Promise<Record<string, string> | string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    return (err as Error).message;
  }
  text = withoutBom(text);
  let users: unknown;
  try {
    users = JSON.parse(text);
  } catch (err) {
    return jsonSyntaxProblem(text, (err as Error).message);
  }
  if (users === null || typeof users !== 'object' || Array.isArray(users)) {
    return 'expected { "<bb:user.externalId>": "<TimeBack platform id>", … }';
  }
  for (const [externalId, platformId] of Object.entries(users)) {
    if (typeof platformId !== 'string') return `${JSON.stringify(externalId)}: the platform id must be text`;
  }
  return users as Record<string, string>;
}

export async function runFixtures(root: string, rules: RuleSet): Promise<FixtureResult[]> {
  const cases = await discoverFixtures(root);
  return Promise.all(cases.map((fixture) => runFixture(fixture, rules)));
}

/** Rewrites expected.json for every case whose output changed; returns the files written. */
export async function updateFixtures(root: string, rules: RuleSet): Promise<string[]> {
  const written: string[] = [];
  for (const fixture of await discoverFixtures(root)) {
    const result = await runFixture(fixture, rules);
    if (result.ok || result.actual === undefined) continue;
    const file = path.join(fixture.dir, FIXTURE_FILES.expected);
    await writeFile(file, `${JSON.stringify(result.actual, null, 2)}\n`);
    written.push(displayPath(file));
  }
  return written;
}
