/**
 * The command dispatcher, run as the installed binary is: `node src/bin.mjs <command>`.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../src/bin.mjs', import.meta.url));

async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '' } });
    return { code: 0, stderr };
  } catch (err) {
    const failed = err as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

describe('caliper-gateway <command>', () => {
  it.each(['nonsense', 'constructor', 'toString', '__proto__'])('refuses an unknown command (%s) with the usage and exit 2', async (name) => {
    const { code, stderr } = await run([name]);
    expect(code).toBe(2);
    expect(stderr).toContain(`caliper-gateway: unknown command "${name}"`);
    expect(stderr).toContain('Usage: caliper-gateway <command>');
  });
});
