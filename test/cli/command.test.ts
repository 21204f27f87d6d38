import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cliCommand, UsageError, type CliIo } from '../../src/cli/command.ts';
import { parseConfig } from '../../src/config.ts';

const USAGE = 'Usage: caliper-gateway example [--flag]\n';

function capture() {
  const printed = { out: '', err: '' };
  const io: CliIo = { out: (text) => void (printed.out += text), err: (text) => void (printed.err += text) };
  return { io, printed };
}

const example = cliCommand('example', USAGE, async (args, env, io) => {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { flag: { type: 'boolean' } } });
  if (positionals[0] === 'explode') throw new Error('not a usage problem');
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  parseConfig(env);
  io.out(values.flag ? 'flag\n' : 'plain\n');
  return 0;
});

describe('cliCommand', () => {
  it('runs the body with the parsed arguments', async () => {
    const { io, printed } = capture();
    expect(await example(['--flag'], {}, io)).toBe(0);
    expect(printed).toEqual({ out: 'flag\n', err: '' });
  });

  it('prints the usage for --help and -h without running the body', async () => {
    for (const help of ['--help', '-h']) {
      const { io, printed } = capture();
      expect(await example(['explode', help], {}, io)).toBe(0);
      expect(printed).toEqual({ out: USAGE, err: '' });
    }
  });

  it('answers a usage error with the message, the usage and exit 2', async () => {
    const { io, printed } = capture();
    expect(await example(['stray'], {}, io)).toBe(2);
    expect(printed.err).toBe(`caliper-gateway example: unexpected argument "stray"\n\n${USAGE}`);
    expect(printed.out).toBe('');
  });

  it("treats parseArgs' unknown options as usage errors", async () => {
    const { io, printed } = capture();
    expect(await example(['--colour'], {}, io)).toBe(2);
    expect(printed.err).toMatch(/^caliper-gateway example: unknown option --colour\n/);
    expect(printed.err.endsWith(USAGE)).toBe(true);
  });

  it('reports a bad configuration once, naming every bad variable, with exit 2', async () => {
    const { io, printed } = capture();
    expect(await example([], { PORT: 'eighty', LOG_LEVEL: 'loud' }, io)).toBe(2);
    expect(printed.err).toMatch(/^caliper-gateway: Invalid configuration:/);
    // Once: one refusal, each variable in it on a line of its own.
    expect(printed.err.match(/Invalid configuration/g)).toHaveLength(1);
    expect(printed.err.match(/^ {2}- PORT: /gm)).toHaveLength(1);
    expect(printed.err.match(/^ {2}- LOG_LEVEL: /gm)).toHaveLength(1);
    expect(printed.out).toBe('');
  });

  it('lets any other error through to the caller', async () => {
    const { io } = capture();
    await expect(example(['explode'], {}, io)).rejects.toThrow('not a usage problem');
  });
});
