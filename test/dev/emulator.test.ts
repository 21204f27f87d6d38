import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startStandaloneEmulator, type RunningEmulator } from '../../src/dev/emulator.ts';
import { parseConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startGateway } from '../../src/server.ts';
import { envelope, sessionEvent } from '../helpers/caliper-events.ts';
import { makeTempDir, type TempDir } from '../helpers/identity-harness.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { ROOT } from '../helpers/gateway-process.ts';

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

    const settings = /^ {2}(TIMEBACK_BASE_URL=.*) npm start$/m.exec(output)?.[1];
    expect(settings, output).toBeDefined();
    const env = Object.fromEntries(settings!.split(' ').map((pair) => pair.split('=') as [string, string]));
    expect(env.TIMEBACK_BASE_URL).toBe(running.url);

    const config = parseConfig({
      ...env,
      PORT: '0',
      HOST: '127.0.0.1',
      DB_PATH: join(temp.dir, 'gateway.db'),
      MAPPINGS_DIR: join(ROOT, 'mappings'),
      FIXTURES_DIR: join(ROOT, 'fixtures'),
      INGEST_API_KEYS: 'emulator-test-key',
    });
    const gateway = await startGateway(config, { log: createLogger('silent') });
    try {
      const response = await fetch(`${gateway.url}/caliper`, {
        method: 'POST',
        headers: { authorization: 'emulator-test-key', 'content-type': 'application/json' },
        body: JSON.stringify(envelope([sessionEvent({}, 'rsingh04')])),
      });
      expect(response.status).toBe(200);
      await waitFor('the event listed', () => output.includes(`SessionEvent LoggedIn  actor urn:uuid:${platformId}`));
    } finally {
      await gateway.close();
    }
  });

  it('refuses a users file that is not there, a bad port and a port in use, saying how to call it', async () => {
    await expect(startStandaloneEmulator(['--users', join(temp.dir, 'userz.json')], () => {})).rejects.toThrow(/userz\.json: no such file/);
    await expect(startStandaloneEmulator(['--port', 'eighty'], () => {})).rejects.toThrow(/--port must be a port number .*usage: npm run emulator/);
    await expect(startStandaloneEmulator(['--prot', '1'], () => {})).rejects.toThrow(/usage: npm run emulator/);
    running = await startStandaloneEmulator([], () => {});
    const port = new URL(running.url).port;
    await expect(startStandaloneEmulator(['--port', port], () => {})).rejects.toThrow(/EADDRINUSE/);
  });
});
