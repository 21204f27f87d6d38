/**
 * The one check a rule change must pass, whoever asks (check-mappings, hot reload, startup):
 * every rule file in the folder loads, and every fixture produces exactly its expected output.
 */
import { stat } from 'node:fs/promises';
import { runFixtures, type FixtureResult } from './fixtures.ts';
import { displayPath, loadRules, RuleLoadError } from './rule-loader.ts';
import type { RuleSet } from './rule-set.ts';

export type MappingCheck =
  | { ok: true; rules: RuleSet; fixtures: FixtureResult[] }
  | { ok: false; problems: string[]; rules?: RuleSet; fixtures?: FixtureResult[] };

export async function checkMappings(mappingsDir: string, fixturesDir: string): Promise<MappingCheck> {
  let rules: RuleSet;
  try {
    rules = await loadRules(mappingsDir);
  } catch (err) {
    if (err instanceof RuleLoadError) return { ok: false, problems: err.problems };
    throw err;
  }
  // A folder that is not there would pass every rule change unchecked: a wrong FIXTURES_DIR
  // or a start from another working directory must not switch the gate off. An empty folder
  // is a choice, and passes.
  if (!(await isFolder(fixturesDir))) {
    return {
      ok: false,
      rules,
      problems: [
        `no fixtures folder at ${displayPath(fixturesDir)}: every rule change is checked against the fixtures there; set FIXTURES_DIR (check-mappings: --fixtures) to the folder that holds them`,
      ],
    };
  }
  const fixtures = await runFixtures(fixturesDir, rules);
  const failed = fixtures.filter((fixture) => !fixture.ok);
  if (failed.length === 0) return { ok: true, rules, fixtures };
  const problems = failed.flatMap((fixture) => [`fixture ${fixture.name} fails:`, ...fixture.problems.map((line) => `  ${line}`)]);
  return { ok: false, problems, rules, fixtures };
}

async function isFolder(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch (err) {
    // ENOTDIR: part of the path is a file, so there is no folder there either.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw err;
  }
}
