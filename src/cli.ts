/**
 * The `caliper-gateway` command line. This is the only module that receives
 * `process.env`; each command parses what it needs into a typed `Config`.
 */
import { checkMappingsCommand } from './cli/check-mappings.ts';
import { replayCommand } from './cli/replay.ts';
import { rosterCacheCommand } from './cli/roster-cache.ts';
import { serveCommand } from './cli/serve.ts';
import { statusCommand } from './cli/status.ts';
import { translateCommand } from './cli/translate.ts';

export type Env = Record<string, string | undefined>;

/** A command returns its exit code. */
export type Command = (args: string[], env: Env) => Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  serve: { run: serveCommand, summary: 'serve the gateway (what npm start runs)' },
  'roster-cache': { run: rosterCacheCommand, summary: 'list or evict cached roster answers (externalId → platform id)' },
  replay: { run: replayCommand, summary: 'put dead, skipped or rejected events back in the queue (--status, --reason, --since, --id)' },
  status: { run: statusCommand, summary: 'counts by fate and reason, queue depth, oldest waiting event (--json for scripts)' },
  translate: { run: translateCommand, summary: 'dry run: the Caliper 1.2 events a Learn envelope becomes (FILE [--users F] [--explain])' },
  'check-mappings': { run: checkMappingsCommand, summary: 'check that every mapping file loads and every fixture passes ([DIR] [--fixtures DIR] [--update])' },
};

export async function main(argv: string[], env: Env): Promise<number> {
  const [name, ...args] = argv;
  // Not `serve` by default: someone trying the bare command to see what it is would get a
  // gateway listening on every interface and a database made in whatever folder they are in.
  if (name === undefined) {
    process.stderr.write(`caliper-gateway: name a command (serve starts the gateway)\n\n${usage()}`);
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    // `help replay` is `replay --help`, as git and npm read it.
    const about = args[0] !== undefined && Object.hasOwn(COMMANDS, args[0]) ? COMMANDS[args[0]] : undefined;
    if (about) return about.run(['--help'], env);
    process.stdout.write(usage());
    return 0;
  }
  // Own keys only: `caliper-gateway constructor` found Object's constructor and crashed.
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(`caliper-gateway: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  return command.run(args, env);
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`);
  return `Usage: caliper-gateway <command> [options]\n\nCommands:\n${lines.join('\n')}\n\ncaliper-gateway <command> --help (or help <command>) gives a command's options.\n`;
}
