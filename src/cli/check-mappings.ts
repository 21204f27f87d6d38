/**
 * `caliper-gateway check-mappings [DIR] [--fixtures DIR] [--update]`: the check a rule
 * change must pass before it goes live (the running gateway applies the same one on reload).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { OVERRIDES_FILE_NAME } from '../config.ts';
import { loadUserOverrides, UserOverridesError } from '../identity/user-overrides.ts';
import { checkMappings } from '../mapping/check-mappings.ts';
import { countNewInvalidOutputs, updateFixtures, type FixtureResult, type FixtureUpdate } from '../mapping/fixtures.ts';
import type { CompiledRule, RuleSet } from '../mapping/rule-set.ts';
import { displayPath, isMisnamedOverridesFile, loadRules, RuleLoadError } from '../mapping/rule-loader.ts';
import { cliCommand, commandConfig, UsageError } from './command.ts';
import { errorMessage } from '../errors.ts';

const CHECK_MAPPINGS_USAGE = `Usage: caliper-gateway check-mappings [DIR] [--fixtures DIR] [--update]

Checks that every rule file in DIR (default: MAPPINGS_DIR) loads, with DIR/lists.yaml
(the named lists rules use), that every fixture in the fixtures folder (default:
FIXTURES_DIR) produces exactly its expected.json, and that
DIR/${OVERRIDES_FILE_NAME}, if there, is valid (the gateway does not start on a bad one).
Exit 0 when all pass, 1 otherwise, with the file, line and property of each problem.

  --fixtures DIR   the fixtures folder
  --update         first rewrite the expected.json of every fixture whose output changed
                   or that has none (what npm run fixtures:update runs), printing every
                   change; review them before committing
`;

export const checkMappingsCommand = cliCommand('check-mappings', CHECK_MAPPINGS_USAGE, async (args, env, io) => {
  const parsed = parseArgs({
    args,
    allowPositionals: true,
    options: { fixtures: { type: 'string' }, update: { type: 'boolean' } },
  });
  if (parsed.positionals.length > 1) throw new UsageError('name at most one mappings folder');
  // Rules and fixtures only: no TimeBack secret needed.
  const config = commandConfig('check-mappings', env, io, { readSecretFile: false });
  const mappingsDir = parsed.positionals[0] === undefined ? config.mappingsDir : path.resolve(parsed.positionals[0]);
  const fixturesDir = parsed.values.fixtures === undefined ? config.fixturesDir : path.resolve(parsed.values.fixtures);

  if (parsed.values.update) {
    try {
      io.out(describeUpdates(await updateFixtures(fixturesDir, await loadRules(mappingsDir))));
    } catch (err) {
      if (!(err instanceof RuleLoadError)) throw err;
      // Falls through to the check, which reports the same problems.
    }
  }

  const check = await checkMappings(mappingsDir, fixturesDir);
  // Not part of the rule check (a bad overrides edit must not hold up a rule change on reload),
  // but an admin runs check-mappings after editing anything in the folder, and `serve` refuses
  // to start on a bad overrides file.
  const overridesProblems = checkOverrides(mappingsDir, (message) => io.err(`caliper-gateway check-mappings: warning: ${message}\n`));
  const overridesMisnamed = misnamedOverrides(mappingsDir);
  if (!check.ok || overridesProblems.length > 0 || overridesMisnamed !== undefined) {
    const problems = [...(check.ok ? [] : check.problems), ...overridesProblems, ...(overridesMisnamed === undefined ? [] : [overridesMisnamed])];
    io.err(`${problems.join('\n')}\n`);
    const summaries: string[] = [];
    if (!check.ok) {
      if (check.rules === undefined) summaries.push(`the rules in ${displayPath(mappingsDir)} do not load`);
      else if (check.fixtures === undefined) summaries.push('no fixtures to check the rules against');
      else summaries.push(`${check.fixtures.filter((fixture) => !fixture.ok).length} of ${check.fixtures.length} fixtures fail`);
    }
    if (overridesProblems.length > 0) summaries.push(`${OVERRIDES_FILE_NAME} is invalid (the gateway will not start with it)`);
    if (overridesMisnamed !== undefined) summaries.push(`the user overrides file is misnamed (the gateway does not read it)`);
    io.err(`\ncheck-mappings: ${summaries.join('; ')}\n`);
    const changed = check.ok ? [] : (check.fixtures ?? []).filter((fixture) => !fixture.ok && fixture.actual !== undefined);
    const refused = changed.reduce((sum, fixture) => sum + countNewInvalidOutputs(fixture), 0);
    if (refused > 0) {
      // Never what an admin meant: --update would pin the rejections, and the gateway would then
      // take the rule and reject those events from Learn as well.
      io.err(
        `${refused} fixture event${refused === 1 ? ' is' : 's are'} now rejected as invalid-output: the rules build what Caliper 1.2 or TimeBack refuses ` +
          '(each line above names the rule and the property). Fix the rule; --update would only pin the rejections.\n',
      );
    } else if (changed.length > 0) {
      io.err('If the new outputs are what you meant, rewrite the expected outputs with --update (npm run fixtures:update) and review what it prints.\n');
    }
    return 1;
  }
  io.out(
    `check-mappings: ${check.rules.files.length} rule files, ${check.rules.rules.length} rules, ` +
      `${check.fixtures.length} fixtures pass (${displayPath(mappingsDir)}, ${displayPath(fixturesDir)})\n`,
  );
  const untested = untestedRules(check.rules, check.fixtures);
  if (untested.length > 0) {
    // Not a failure (a school may add a rule before Learn sends its event), but a typo in match
    // (a type or action no event has) passes every check and then takes nothing: a case shows it.
    io.out(
      `note: no fixture reaches ${untested.length === 1 ? 'this rule' : `these ${untested.length} rules`}, so nothing shows ${untested.length === 1 ? 'it matches' : 'they match'} what you meant; add a case under ${displayPath(fixturesDir)}/<event-type>/<case>/:\n` +
        untested.map((rule) => `  ${rule.id} (${rule.line > 0 ? `${rule.file}:${rule.line}` : rule.file})\n`).join(''),
    );
  }
  return 0;
});

/** The rules, fallback files' aside, that no fixture event is translated by (or skipped by). */
function untestedRules(rules: RuleSet, fixtures: readonly FixtureResult[]): CompiledRule[] {
  const reached = new Set(fixtures.flatMap((fixture) => (fixture.actual ?? []).flatMap((entry) => (entry.rule === undefined ? [] : [entry.rule]))));
  return rules.rules.filter((rule) => !rule.fallback && !reached.has(rule.id));
}

/**
 * What --update wrote, change by change: `git diff` shows a changed file but not a new one
 * (untracked), and a folder deployed without git shows nothing, so the review starts here.
 */
function describeUpdates(updates: readonly FixtureUpdate[]): string {
  if (updates.length === 0) return 'Every expected.json is up to date.\n';
  const files = updates.map((update) => {
    const what = { missing: ' (new)', 'not-json': ' (replaced: it was not JSON)', expected: '' }[update.before];
    const note = update.withoutUsers ? '\n  note: this case has no users.json, so every student in it is "not in TimeBack"' : '';
    return `${update.file}${what}:${note}\n${update.changes.map((line) => `  ${line}\n`).join('')}`;
  });
  const count = `${updates.length} expected.json file${updates.length === 1 ? '' : 's'}`;
  const refused = updates.reduce((sum, update) => sum + update.invalidOutputs, 0);
  const warning =
    refused === 0
      ? ''
      : `warning: ${refused} of the events written ${refused === 1 ? 'is' : 'are'} rejected as invalid-output: the rules build what Caliper 1.2 or TimeBack refuses, and the gateway will reject such events from Learn; fix the rule unless that is meant\n`;
  return `Rewrote ${count}; review every change below before you commit them:\n${files.join('')}\n${warning}`;
}

/**
 * The problems with the user overrides file, each naming the file and line; none when it is valid
 * or absent. What the gateway would warn of on loading it goes to `warn`: it passes the check.
 */
function checkOverrides(mappingsDir: string, warn: (message: string) => void): string[] {
  try {
    loadUserOverrides(displayPath(path.join(mappingsDir, OVERRIDES_FILE_NAME)), warn);
  } catch (err) {
    return err instanceof UserOverridesError ? err.problems : [errorMessage(err)];
  }
  return [];
}

/** A `user-overrides.yml` (or other spelling) the gateway would not read, so it pins nobody. */
function misnamedOverrides(mappingsDir: string): string | undefined {
  let names: string[];
  try {
    names = readdirSync(mappingsDir);
  } catch {
    return undefined; // the rule check reports an unreadable folder
  }
  const misnamed = names.find(isMisnamedOverridesFile);
  if (misnamed === undefined) return undefined;
  return `${displayPath(path.join(mappingsDir, misnamed))}: not read: the user overrides are read from ${OVERRIDES_FILE_NAME} only; rename it`;
}
