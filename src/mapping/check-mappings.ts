/**
 * The one check a rule change must pass, whoever asks (check-mappings, hot reload, startup):
 * every rule file in the folder loads, and every fixture produces exactly its expected output.
 */
import { runFixtures, type FixtureResult } from './fixtures.ts';
import { loadRules, RuleLoadError } from './rule-loader.ts';
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
  const fixtures = await runFixtures(fixturesDir, rules);
  const failed = fixtures.filter((fixture) => !fixture.ok);
  if (failed.length === 0) return { ok: true, rules, fixtures };
  const problems = failed.flatMap((fixture) => [`fixture ${fixture.name} fails:`, ...fixture.problems.map((line) => `  ${line}`)]);
  return { ok: false, problems, rules, fixtures };
}
