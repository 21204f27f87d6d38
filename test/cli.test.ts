/**
 * The `caliper-gateway` command as admins and their scripts meet it (the dispatcher is run as
 * the installed binary is: `node src/bin.mjs <command>`): a process, its exit code,
 * what it prints on stdout and on stderr. interface.md names the commands; these pin what
 * every one of them does alike (help, typos, a DB_PATH that is not a database).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkMappingsCommand } from '../src/cli/check-mappings.ts';
import type { CliIo } from '../src/cli/command.ts';
import { replayCommand } from '../src/cli/replay.ts';
import { rosterCacheCommand } from '../src/cli/roster-cache.ts';
import { serveCommand } from '../src/cli/serve.ts';
import { statusCommand } from '../src/cli/status.ts';
import { translateCommand } from '../src/cli/translate.ts';
import { BIN } from './helpers/gateway-process.ts';
import { makeTempDir, type TempDir } from './helpers/identity-harness.ts';

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Every command, as `caliper-gateway` runs it: the five interface.md promises and roster-cache.
 * Called in-process below, since a process each would take a minute on this machine.
 */
const COMMAND_BODIES: Record<string, (args: string[], env: Record<string, string>, io: CliIo) => Promise<number>> = {
  serve: serveCommand,
  translate: translateCommand,
  'check-mappings': checkMappingsCommand,
  replay: replayCommand,
  status: statusCommand,
  'roster-cache': rosterCacheCommand,
};

const COMMANDS = Object.keys(COMMAND_BODIES);

let temp: TempDir;
beforeEach(() => {
  temp = makeTempDir('cli');
});
afterEach(() => temp.remove());

/**
 * Runs `caliper-gateway ARGS` with nothing of this process's environment but PATH. A `serve`
 * that wrongly started would listen on loopback, on a port the OS picks, and be killed at 15 s.
 */
function cli(args: string[], env: Record<string, string> = {}) {
  return promisify(execFile)(process.execPath, [BIN, ...args], {
    cwd: temp.dir,
    timeout: 15_000,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', DB_PATH: join(temp.dir, 'gateway.db'), LOG_LEVEL: 'silent', ...env },
  }).then(
    ({ stdout, stderr }) => ({ code: 0 as number | null, stdout, stderr }),
    (err: { code: number | null; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
}

// Each case starts a few processes of its own, up to 10 s each on a loaded 2-core machine.
describe('caliper-gateway', { timeout: 60_000 }, () => {
  it('--help lists every command on stdout and exits 0', async () => {
    const results = await Promise.all(['--help', '-h', 'help'].map((help) => cli([help])));
    for (const { code, stdout, stderr } of results) {
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout).toMatch(/^Usage: caliper-gateway <command>/);
      for (const command of COMMANDS) expect(stdout).toMatch(new RegExp(`^ {2}${command} +\\S`, 'm'));
    }
  });

  it('without a command prints the usage on stderr and exits 2, serving nothing and making no database', async () => {
    const { code, stdout, stderr } = await cli([]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toMatch(/^caliper-gateway: name a command \(serve starts the gateway\)\n\nUsage: caliper-gateway <command>/);
    expect(existsSync(join(temp.dir, 'gateway.db'))).toBe(false);
  });

  it('help COMMAND prints that command\'s usage, as COMMAND --help does', async () => {
    const { code, stdout, stderr } = await cli(['help', 'replay']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^Usage: caliper-gateway replay \[--status/);
    // A name that is no command (here one of Object's own) gets the list of commands.
    const other = await cli(['help', 'constructor']);
    expect({ code: other.code, stderr: other.stderr }).toEqual({ code: 0, stderr: '' });
    expect(other.stdout).toMatch(/^Usage: caliper-gateway <command>/);
  });

  // A typo, and names of Object's own properties, which once found Object's constructor and crashed.
  it.each(['stauts', 'constructor', 'toString', '__proto__'])('refuses an unknown command (%s) with exit 2, naming it, and the usage on stderr', async (name) => {
    const { code, stdout, stderr } = await cli([name]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toMatch(new RegExp(`^caliper-gateway: unknown command "${name}"\\n`));
    expect(stderr).toContain('Usage: caliper-gateway <command>');
  });

  // SQLite's own words for a folder ("disk I/O error", "unable to open database file") send an
  // admin looking at the disk; the gateway's say what DB_PATH should name.
  it.each([
    ['a file that is not a database', (file: string) => writeFileSync(file, 'these are not the bytes of an SQLite database\n'.repeat(200)), '\\S.*'],
    ['a folder', (file: string) => mkdirSync(file), 'it is a folder; DB_PATH names the database file itself, such as .*gateway\\.db/gateway\\.db'],
  ])('says DB_PATH names %s, without a stack trace, and exits 1', async (_what, make, why) => {
    const dbPath = join(temp.dir, 'gateway.db');
    make(dbPath);
    const { code, stdout, stderr } = await cli(['status'], { DB_PATH: dbPath });
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toMatch(new RegExp(`^caliper-gateway status: cannot open the database at ${escaped(dbPath)} \\(DB_PATH\\): ${why}\\n$`));

    // The other commands that open it, in-process: the same words, the same exit code.
    for (const [name, command] of [['replay', replayCommand], ['roster-cache', rosterCacheCommand]] as const) {
      const { io, printed } = capture();
      expect({ name, code: await command([], { DB_PATH: dbPath }, io) }).toEqual({ name, code: 1 });
      expect(printed).toEqual({ out: '', err: expect.stringMatching(new RegExp(`^caliper-gateway ${name}: cannot open the database at ${escaped(dbPath)} \\(DB_PATH\\): ${why}`)) });
    }
  });
});

function capture() {
  const printed = { out: '', err: '' };
  const io: CliIo = { out: (text) => void (printed.out += text), err: (text) => void (printed.err += text) };
  return { io, printed };
}

describe.each(COMMANDS)('caliper-gateway %s', (name) => {
  const env = () => ({ HOST: '127.0.0.1', PORT: '0', DB_PATH: join(temp.dir, 'gateway.db'), LOG_LEVEL: 'silent' });

  it('prints its usage for --help on stdout and exits 0, doing nothing else', async () => {
    const { io, printed } = capture();
    expect(await COMMAND_BODIES[name]!(['--help'], env(), io)).toBe(0);
    expect(printed).toEqual({ out: expect.stringMatching(new RegExp(`^Usage: caliper-gateway ${name}\\b`)), err: '' });
    expect(existsSync(join(temp.dir, 'gateway.db'))).toBe(false);
  });

  it('refuses an unknown option with exit 2, naming it, before doing anything', async () => {
    const { io, printed } = capture();
    expect(await COMMAND_BODIES[name]!(['--colour'], env(), io)).toBe(2);
    expect(printed.out).toBe('');
    expect(printed.err).toMatch(new RegExp(`^caliper-gateway ${name}: unknown option --colour\\n\\nUsage: caliper-gateway ${name}\\b`));
    expect(existsSync(join(temp.dir, 'gateway.db'))).toBe(false);
  });
});
