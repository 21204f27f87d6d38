import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startStandaloneEmulator, type RunningEmulator } from '../../src/dev/emulator.ts';
import { parseConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startGateway } from '../../src/server.ts';
import { envelope, sessionEvent } from '../helpers/caliper-events.ts';
import { makeTempDir, type TempDir } from '../helpers/identity-harness.ts';
import { eventStates } from '../helpers/translated-events.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { ROOT } from '../helpers/gateway-process.ts';

/** Ctrl-C in a terminal: SIGINT to the whole process group, if any of it is still there (then true). */
function interrupt(group: number): boolean {
  try {
    process.kill(-group, 'SIGINT');
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    return false;
  }
}

/** The `TIMEBACK_*` settings the emulator printed for `npm start`, as an environment. */
function printedSettings(output: string): Record<string, string> {
  const settings = /^ {2}(TIMEBACK_BASE_URL=.*) npm start$/m.exec(output)?.[1];
  expect(settings, output).toBeDefined();
  return Object.fromEntries(settings!.split(' ').map((pair) => pair.split('=') as [string, string]));
}

/** A gateway started with those settings, as the admin would restart theirs, sent one student's login. */
async function gatewaySendingLogin(settings: Record<string, string>, dir: string, student: string) {
  const config = parseConfig({
    ...settings,
    PORT: '0',
    HOST: '127.0.0.1',
    DB_PATH: join(dir, 'gateway.db'),
    MAPPINGS_DIR: join(ROOT, 'mappings'),
    FIXTURES_DIR: join(ROOT, 'fixtures'),
    INGEST_API_KEYS: 'emulator-test-key',
  });
  const gateway = await startGateway(config, { log: createLogger('silent') });
  try {
    const response = await fetch(`${gateway.url}/caliper`, {
      method: 'POST',
      headers: { authorization: 'emulator-test-key', 'content-type': 'application/json' },
      body: JSON.stringify(envelope([sessionEvent({}, student)])),
    });
    expect(response.status).toBe(200);
    return gateway;
  } catch (err) {
    await gateway.close();
    throw err;
  }
}

let temp: TempDir;
let running: RunningEmulator | undefined;
beforeEach(() => {
  temp = makeTempDir('emulator-cli');
});
afterEach(async () => {
  await running?.close();
  running = undefined;
  temp.remove();
});

describe('npm run emulator', () => {
  it('prints the settings a gateway needs, and a line for each event that gateway delivers to it', { timeout: 30_000 }, async () => {
    const platformId = '4e6a8c0d-2f1b-4d3c-9e5f-6a7b8c9d0e1f';
    const users = join(temp.dir, 'users.json');
    writeFileSync(users, JSON.stringify({ rsingh04: platformId }));
    let output = '';
    running = await startStandaloneEmulator(['--users', users], (text) => void (output += text));

    const env = printedSettings(output);
    expect(env.TIMEBACK_BASE_URL).toBe(running.url);

    const gateway = await gatewaySendingLogin(env, temp.dir, 'rsingh04');
    try {
      await waitFor('the event listed', () => output.includes(`SessionEvent LoggedIn  actor urn:uuid:${platformId}`));
    } finally {
      await gateway.close();
    }
  });

  it('--refuse-events answers every event POST with that status: a 422 makes the event dead (http-422) at the gateway', { timeout: 30_000 }, async () => {
    const platformId = '7c2e4a6b-8d0f-4b1a-9c3e-5f7a9b1c3d5e';
    const users = join(temp.dir, 'users.json');
    writeFileSync(users, JSON.stringify({ mokafor12: platformId }));
    let output = '';
    running = await startStandaloneEmulator(['--users', users, '--refuse-events', '422'], (text) => void (output += text));
    expect(output).toContain('Every event POST is answered HTTP 422 (--refuse-events)');

    const gateway = await gatewaySendingLogin(printedSettings(output), temp.dir, 'mokafor12');
    try {
      await waitFor('the event dead', () => eventStates(gateway.store.sqlite)[0]?.fate === 'dead');
      expect(eventStates(gateway.store.sqlite)[0]).toMatchObject({ reason: 'http-422', lastStatus: 422 });
      expect(output).not.toContain(platformId);
    } finally {
      await gateway.close();
    }
  });

  it('refuses a users file that is not there, a bad port and a port in use, saying how to call it', async () => {
    await expect(startStandaloneEmulator(['--users', join(temp.dir, 'userz.json')], () => {})).rejects.toThrow(/userz\.json: no such file/);
    await expect(startStandaloneEmulator(['--port', 'eighty'], () => {})).rejects.toThrow(/--port must be a port number .*usage: npm run emulator/);
    await expect(startStandaloneEmulator(['--prot', '1'], () => {})).rejects.toThrow(/usage: npm run emulator/);
    for (const status of ['200', '302', '600', '4e2', '422.0', 'x']) {
      await expect(startStandaloneEmulator(['--refuse-events', status], () => {})).rejects.toThrow(/--refuse-events must be an HTTP status from 400 to 599 .*usage: npm run emulator/);
    }
    running = await startStandaloneEmulator([], () => {});
    const port = new URL(running.url).port;
    await expect(startStandaloneEmulator(['--port', port], () => {})).rejects.toThrow(/EADDRINUSE/);
  });

  // Ctrl-C on `npm run emulator` reaches the emulator more than once within milliseconds: the
  // terminal signals the whole foreground group (npm, tsx and the emulator under it), and npm and
  // tsx each pass their copy on. As with `serve`, that is one stop, not "now": it exited 130.
  const STOPPING = 'Stopping the TimeBack emulator (SIGINT).';
  it('takes a Ctrl-C repeated at once as the same stop, and exits 0', { timeout: 30_000 }, async () => {
    // As package.json's script runs it: tsx's command, in a process group of its own for the "terminal".
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'src/dev/emulator.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let output = '';
    let errors = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (errors += text));
    // npm's copy comes once the first is taken. It is sent the moment the emulator says it is
    // stopping, from the handler that reads that line (no polling), so it arrives well inside the
    // second within which a repeat is a copy, however slowly the emulator then stops.
    let repeated: boolean | undefined;
    child.stdout.on('data', () => {
      if (repeated === undefined && output.includes(STOPPING)) repeated = interrupt(child.pid!);
    });
    try {
      await waitFor('the emulator listening', () => output.includes('Events TimeBack accepts:'), 20_000);
      expect(interrupt(child.pid!)).toBe(true);
      expect(await exited).toEqual({ code: 0, signal: null });
      // The copy was sent while the emulator was still there (it stays a second), not after it was gone.
      expect(repeated).toBe(true);
      expect(output.split(STOPPING).length - 1).toBe(1);
      expect(errors).toBe('');
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
  });
});

