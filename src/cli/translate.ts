/**
 * `caliper-gateway translate FILE [--users USERS.json] [--explain]`: the offline dry run.
 * Translates a Caliper 1.1 envelope (or one event) with the rules in MAPPINGS_DIR exactly as
 * the gateway would, prints the Caliper 1.2 events it would POST as a JSON array on stdout
 * (always pure JSON), and every event it would not send, with the reason, on stderr.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { shown } from '../errors.ts';
import { jsonText } from '../json-text.ts';
import { staticIdentity, withOverrides, type IdentityResolver } from '../identity/identity-resolver.ts';
import { openStandaloneIdentity } from '../identity/standalone-identity.ts';
import { loadUserOverrides, UserOverridesError } from '../identity/user-overrides.ts';
import { createLogger } from '../log.ts';
import { FIXTURE_APP_ID, readUsers } from '../mapping/fixtures.ts';
import { loadRules, RuleLoadError } from '../mapping/rule-loader.ts';
import type { RuleSet } from '../mapping/rule-set.ts';
import { translate, type TranslateOutcome } from '../mapping/translate.ts';
import { readTranslateInput, resendsOf } from '../mapping/translate-input.ts';
import { cliCommand, commandConfig, lockGaveUp, UsageError, type CliIo } from './command.ts';

export const TRANSLATE_USAGE = `Usage: caliper-gateway translate FILE [--users USERS.json] [--explain]

Translates FILE, a Caliper 1.1 envelope as Learn sends it (or a single event), with the
mapping rules in MAPPINGS_DIR, and prints the Caliper 1.2 events the gateway would send to
TimeBack as a JSON array on stdout. Events it would skip or reject are listed on stderr with
the reason, and so is a resend (the id and eventTime of an earlier event), which is left out
as the gateway stores and sends it once. No event is stored or sent. A line on stderr can name a
student by batch_uid (one it could not find or look up), as the file itself does.

  --users USERS.json   { "<bb:user.externalId>": "<TimeBack platform id>" } stands in for the
                       whole roster (its keys read trimmed, as the gateway reads Learn ids;
                       its platform ids must be UUIDs);
                       without it, students are looked up in the configured roster
                       (TIMEBACK_* settings) as the gateway would, and the answers are
                       kept in the roster cache of the database at DB_PATH, if there is one,
                       as the gateway keeps them (not while other writes hold its lock: a
                       line on stderr says how many were not kept). Either way, a student pinned in
                       MAPPINGS_DIR/user-overrides.yaml is the pinned id.
  --explain            also say, on stderr, which rule produced each event, and for which
                       student (their batch_uid)

A single event has no envelope sensor, so its output id differs from the gateway's.
Exit 0 for valid input (even when events are skipped), 2 for invalid input, 1 otherwise.
`;

export const translateCommand = cliCommand('translate', TRANSLATE_USAGE, async (args, env, io) => {
  const fail = (code: number, message: string) => {
    io.err(`caliper-gateway translate: ${message}\n`);
    return code;
  };

  const parsed = parseArgs({
    args,
    allowPositionals: true,
    options: { users: { type: 'string' }, explain: { type: 'boolean' } },
  });
  if (parsed.positionals.length !== 1) {
    throw new UsageError(parsed.positionals.length === 0 ? 'name the FILE to translate' : 'translate one FILE at a time');
  }
  const file = parsed.positionals[0]!;
  // Only without --users does it ask TimeBack's roster, and need the secret.
  const config = commandConfig('translate', env, io, { readSecretFile: parsed.values.users === undefined });

  let content: Buffer;
  try {
    content = await readFile(file);
  } catch (err) {
    return fail(2, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const input = readTranslateInput(content);
  if (!input.ok) return fail(2, `${file}: ${input.message}`);

  let rules: RuleSet;
  try {
    rules = await loadRules(config.mappingsDir);
  } catch (err) {
    if (!(err instanceof RuleLoadError)) throw err;
    io.err(`caliper-gateway translate: the mapping rules in ${config.mappingsDir} do not load:\n${err.problems.map((line) => `  ${line}\n`).join('')}`);
    return 1;
  }

  let identity: IdentityResolver;
  let closeIdentity = async () => {};
  let cacheSkipped = () => 0;
  let cacheProblem = (): string | undefined => undefined;
  if (parsed.values.users !== undefined) {
    // A fixture without users.json has an empty roster, but a --users file that is not there
    // is a typo: read as empty, it would skip every student and still exit 0.
    if (!existsSync(parsed.values.users)) return fail(2, `cannot read ${parsed.values.users}: no such file`);
    const read = await readUsers(parsed.values.users);
    if (!read.ok) {
      // Every problem on a line of its own, named by the file, as a single one always was.
      for (const problem of read.problems) io.err(`caliper-gateway translate: ${parsed.values.users}: ${problem}\n`);
      return 2;
    }
    const users = read.users;
    try {
      // Without --users the resolver logs this warning (to stderr); here there is no logger.
      const warn = (message: string) => io.err(`caliper-gateway translate: warning: ${message}\n`);
      identity = withOverrides(loadUserOverrides(config.overridesFile, warn), staticIdentity(users));
    } catch (err) {
      if (err instanceof UserOverridesError) return fail(1, err.message);
      throw err;
    }
  } else {
    // Logs go to stderr: stdout carries only the JSON array.
    const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, { write: (line: string) => io.err(line) });
    try {
      const standalone = openStandaloneIdentity({ config, log });
      identity = standalone.resolver;
      closeIdentity = standalone.close;
      cacheSkipped = standalone.cacheSkipped;
      cacheProblem = standalone.cacheProblem;
    } catch (err) {
      // --users stands in for the roster, not for the overrides, which it still reads.
      if (err instanceof UserOverridesError) return fail(1, err.message);
      return fail(1, `${(err as Error).message} (or pass --users USERS.json)`);
    }
  }

  const appId = config.timeback.appId ?? FIXTURE_APP_ID;
  if (!config.timeback.appId) io.err(`note: TIMEBACK_APP_ID is not set; edApp uses the fixtures' app id ${FIXTURE_APP_ID}\n`);

  // A resend is stored once by intake, so it is translated and printed once too.
  const resends = resendsOf(input.items);
  let outcomes: Array<TranslateOutcome | undefined>;
  try {
    const translated = await translate(
      input.items.filter((_, i) => resends[i] === undefined),
      { rules, identity, appId },
    );
    let next = 0;
    outcomes = resends.map((earlier) => (earlier === undefined ? translated[next++] : undefined));
  } finally {
    await closeIdentity();
  }

  const { events, unresolved } = reportOutcomes(outcomes, resends, { envelope: input.envelope, explain: parsed.values.explain === true }, io);
  io.out(`${jsonText(events, 2)}\n`);
  const skipped = cacheSkipped();
  if (skipped > 0) {
    // Not an error: the preview is complete; only the gateway's cache misses what it learned.
    const problem = cacheProblem();
    const gaveUp = problem === undefined ? lockGaveUp('translate') : `caliper-gateway translate: the database refused the write (${problem}); gave up`;
    io.err(
      `${gaveUp}: ${skipped === 1 ? '1 roster answer was' : `${skipped} roster answers were`} not kept in the gateway's roster cache ` +
        '(the translation is complete; the gateway asks the roster for these students itself)\n',
    );
  }
  if (unresolved > 0 && parsed.values.users === undefined) {
    io.err('hint: --users USERS.json answers from a file of { "<batch_uid>": "<platform id>" } instead of the roster\n');
  }
  return unresolved > 0 ? 1 : 0;
});

/**
 * Says on stderr what became of every event that is not sent (a resend is named as one), and
 * with --explain of those that are; returns the events to print and how many the roster could not answer for.
 */
function reportOutcomes(
  outcomes: ReadonlyArray<TranslateOutcome | undefined>,
  resends: ReadonlyArray<number | undefined>,
  options: { envelope: boolean; explain: boolean },
  io: CliIo,
): { events: unknown[]; unresolved: number } {
  const events: unknown[] = [];
  let unresolved = 0;
  outcomes.forEach((outcome, i) => {
    const where = options.envelope ? `data[${i}]` : 'event';
    if (outcome === undefined) {
      io.err(`${where}: a resend of data[${resends[i]}] (same id and eventTime): the gateway stores and sends it once\n`);
      return;
    }
    switch (outcome.fate) {
      case 'deliver':
        events.push(outcome.event);
        if (options.explain) {
          io.err(`${where}: rule ${outcome.rule} → ${outcome.event.type} ${outcome.event.action as string} ${outcome.outputId} (student ${shown(outcome.studentId)})\n`);
        }
        break;
      case 'skipped':
      case 'rejected':
        io.err(`${where}: ${outcome.fate} (${outcome.reason}${outcome.rule ? `, rule ${outcome.rule}` : ''}): ${outcome.detail}\n`);
        break;
      case 'retry':
        unresolved++;
        io.err(`${where}: not translated (rule ${outcome.rule}): the roster could not say who ${shown(outcome.studentId)} is: ${outcome.detail}\n`);
        break;
    }
  });
  return { events, unresolved };
}
