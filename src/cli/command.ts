/**
 * What every `caliper-gateway` command does alike, in one place: `--help`, bad arguments,
 * a bad configuration, a database of another release or no database at all. A command body
 * throws `UsageError` (or lets `parseArgs` or `parseConfig` throw) and `cliCommand` turns that
 * into a message and exit code 2, and a DatabaseSchemaError or DatabaseOpenError into its
 * message and exit code 1, so the bodies only say what is particular to them.
 */
import {
  ConfigError,
  describeRepeatedRosterStrategies,
  describeUnknownSetting,
  parseConfig,
  repeatedRosterStrategies,
  unknownSettings,
  type Config,
  type ParseConfigOptions,
} from '../config.ts';
import type { Env } from '../cli.ts';
import { DatabaseOpenError } from '../store/database.ts';
import { DatabaseSchemaError } from '../store/migrate.ts';

/**
 * Where a command writes. The commands take it as a parameter so tests run them in-process
 * and read what they printed; `caliper-gateway` passes the real stdout and stderr.
 */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const PROCESS_IO: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** The arguments do not make sense: the message is printed with the command's usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type CommandBody<Rest extends unknown[]> = (args: string[], env: Env, io: CliIo, ...rest: Rest) => Promise<number>;

export function cliCommand<Rest extends unknown[] = []>(name: string, usage: string, body: CommandBody<Rest>) {
  return async (args: string[], env: Env, io: CliIo = PROCESS_IO, ...rest: Rest): Promise<number> => {
    if (args.includes('--help') || args.includes('-h')) {
      io.out(usage);
      return 0;
    }
    try {
      return await body(args, env, io, ...rest);
    } catch (err) {
      if (err instanceof ConfigError) {
        io.err(`caliper-gateway: ${err.message}\n`);
        return 2;
      }
      if (err instanceof UsageError || isParseArgsError(err)) {
        io.err(`caliper-gateway ${name}: ${usageMessage(err)}\n\n${usage}`);
        return 2;
      }
      // A database of another release's schema, or a DB_PATH that is no database at all:
      // the message says which file and what is wrong with it.
      if (err instanceof DatabaseSchemaError || err instanceof DatabaseOpenError) {
        io.err(`caliper-gateway ${name}: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
  };
}

/**
 * How a command that writes beside a running gateway says it gave up on the write lock
 * (lock-wait.ts), before saying what it left done: one wording for every command.
 */
export function lockGaveUp(name: string): string {
  return `caliper-gateway ${name}: the database stayed busy with other writes (a gateway committing a large envelope or a checkpoint, or another command); gave up`;
}

/**
 * parseConfig for a command other than `serve` (which logs the same warnings): first says on
 * stderr, once, which variables look like misspelt settings, and which ROSTER_MATCH strategy is
 * named twice. Ignored without a word, a DB_PATHH or MAPPING_DIR left `status` reading another
 * database, or `translate` other rules. stderr, as stdout may be --json for a script.
 */
export function commandConfig(name: string, env: Env, io: CliIo, options?: ParseConfigOptions): Config {
  warnSettings(name, env, io);
  return parseConfig(env, options);
}

/**
 * The warnings about settings taken otherwise than written (misspelt, or a strategy repeated) on
 * stderr: before every command's output, and from `serve` when the configuration is refused (no
 * logger then), so the misspelling shows beside the refusal.
 */
export function warnSettings(name: string, env: Env, io: CliIo): void {
  for (const setting of unknownSettings(env)) io.err(`caliper-gateway ${name}: warning: ${describeUnknownSetting(setting)}\n`);
  const repeated = repeatedRosterStrategies(env);
  if (repeated.length > 0) io.err(`caliper-gateway ${name}: warning: ${describeRepeatedRosterStrategies(repeated)}\n`);
}

/**
 * parseArgs' own wording is long ("Unknown option '--jsn'. To specify a positional argument
 * starting with a '-', place it …"); the first sentence, in our words, is what people need.
 */
function usageMessage(err: Error): string {
  if (err instanceof UsageError) return err.message;
  const quoted = /'([^']+)'/.exec(err.message)?.[1];
  const code = (err as { code?: string }).code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && quoted) return `unknown option ${quoted}`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && quoted) return `unexpected argument "${quoted}"`;
  return err.message.split(/(?<=\.) /)[0] ?? err.message;
}

/** node:util parseArgs reports unknown options and bad values as TypeErrors with these codes. */
function isParseArgsError(err: unknown): err is Error {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof TypeError && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}
