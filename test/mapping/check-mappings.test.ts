/**
 * checkMappings, the gate every rule change passes (check-mappings, hot reload, startup), on
 * real folders: what it returns when the rules load and the fixtures pass, when the rules do
 * not load, when a fixture fails, and when there is no fixtures folder to check against.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkMappings } from '../../src/mapping/check-mappings.ts';
import { updateFixtures } from '../../src/mapping/fixtures.ts';
import { loadRules, RuleLoadError } from '../../src/mapping/rule-loader.ts';
import { makeTempDir, type TempDir } from '../helpers/identity-harness.ts';
import { rejectionOf } from '../helpers/thrown.ts';
import { envelope, forumPost, STUDENT } from './learn-events.ts';

const RULES_DIR = fileURLToPath(new URL('./rule-sets/blackboard', import.meta.url));

let temp: TempDir;
let mappingsDir: string;
let fixturesDir: string;

beforeEach(async () => {
  temp = makeTempDir('check-mappings');
  mappingsDir = join(temp.dir, 'mappings');
  fixturesDir = join(temp.dir, 'fixtures');
  cpSync(RULES_DIR, mappingsDir, { recursive: true });
  for (const name of ['post-again', 'post-created']) {
    const caseDir = join(fixturesDir, 'forum-event', name);
    mkdirSync(caseDir, { recursive: true });
    writeFileSync(join(caseDir, 'input.json'), JSON.stringify(envelope([forumPost()])));
    writeFileSync(join(caseDir, 'users.json'), JSON.stringify({ [STUDENT.externalId]: STUDENT.platformId }));
  }
  await updateFixtures(fixturesDir, await loadRules(mappingsDir));
});
afterEach(() => temp.remove());

const noFolder = (dir: string) =>
  `no fixtures folder at ${dir}: every rule change is checked against the fixtures there; set FIXTURES_DIR (check-mappings: --fixtures) to the folder that holds them`;

describe('checkMappings', () => {
  it('passes with the loaded rules and every fixture run', async () => {
    const check = await checkMappings(mappingsDir, fixturesDir);
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    expect(check.rules.files).toHaveLength(5);
    expect(check.fixtures.map((fixture) => [fixture.name, fixture.ok])).toEqual([
      ['forum-event/post-again', true],
      ['forum-event/post-created', true],
    ]);
  });

  it('passes an empty fixtures folder: having no cases is a choice', async () => {
    const empty = join(temp.dir, 'no-cases');
    mkdirSync(empty);
    expect(await checkMappings(mappingsDir, empty)).toMatchObject({ ok: true, fixtures: [] });
  });

  it('fails with the loader\'s problems, and nothing else, when the rules do not load', async () => {
    writeFileSync(join(mappingsDir, 'broken.yaml'), 'rules:\n  - id: broken\n    match: {}\n');
    const check = await checkMappings(mappingsDir, fixturesDir);
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.problems.length).toBeGreaterThan(0);
    expect(check.problems.every((problem) => problem.includes('broken.yaml'))).toBe(true);
    // The loader's problems, each once and nothing added.
    expect(check.problems).toEqual((await rejectionOf(RuleLoadError, loadRules(mappingsDir))).problems);
    expect(check.rules).toBeUndefined();
    expect(check.fixtures).toBeUndefined();
  });

  it('fails naming each failing fixture, its differences indented under it, and keeps the results of all', async () => {
    const expectedFile = join(fixturesDir, 'forum-event', 'post-created', 'expected.json');
    const expected = JSON.parse(readFileSync(expectedFile, 'utf8')) as Array<Record<string, unknown>>;
    writeFileSync(expectedFile, JSON.stringify([{ ...expected[0], action: 'Deleted' }]));
    const check = await checkMappings(mappingsDir, fixturesDir);
    expect(check.ok).toBe(false);
    if (check.ok) return;
    const failed = check.fixtures!.find((fixture) => !fixture.ok)!;
    expect(failed.name).toBe('forum-event/post-created');
    expect(failed.problems.length).toBeGreaterThan(0);
    expect(check.problems).toEqual(['fixture forum-event/post-created fails:', ...failed.problems.map((line) => `  ${line}`)]);
    expect(check.problems.join('\n')).toContain('action');
    expect(check.fixtures!.map((fixture) => fixture.ok)).toEqual([true, false]);
    expect(check.rules!.files).toHaveLength(5);
  });

  it.each([
    ['is not there', () => join(temp.dir, 'missing')],
    ['is a file', () => join(fixturesDir, 'forum-event', 'post-created', 'input.json')],
    ['is under a file', () => join(fixturesDir, 'forum-event', 'post-created', 'input.json', 'fixtures')],
  ])('fails, rather than checking nothing, when the fixtures folder %s', async (_what, folder) => {
    const dir = folder();
    const check = await checkMappings(mappingsDir, dir);
    expect(check).toMatchObject({ ok: false, problems: [noFolder(dir)] });
    if (check.ok) return;
    // The rules loaded: the caller can tell a missing folder from a bad rule.
    expect(check.rules?.files).toHaveLength(5);
    expect(check.fixtures).toBeUndefined();
  });
});
