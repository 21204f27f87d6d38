/**
 * The parts of a whole-gateway test (startGateway, POST to delivery): a temp folder with a
 * copy of the test rules and an empty fixtures folder, and the settings that point a gateway
 * at it and at an emulated TimeBack. Tests add what they are about.
 */
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TimebackEmulator } from '../../src/dev/timeback-emulator.ts';
import { APP_ID } from '../mapping/learn-events.ts';
import { makeTempDir, type TempDir } from './identity-harness.ts';

const RULES_DIR = fileURLToPath(new URL('../mapping/rule-sets/blackboard', import.meta.url));

export function pipelineFolder(prefix: string): TempDir {
  const temp = makeTempDir(prefix);
  cpSync(RULES_DIR, join(temp.dir, 'mappings'), { recursive: true });
  // The rules' own fixtures are not the point here: an empty folder, which the mapping check accepts.
  mkdirSync(join(temp.dir, 'fixtures'));
  return temp;
}

export function pipelineEnv(dir: string, emulator: TimebackEmulator): Record<string, string> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    DB_PATH: join(dir, 'gateway.db'),
    MAPPINGS_DIR: join(dir, 'mappings'),
    FIXTURES_DIR: join(dir, 'fixtures'),
    TIMEBACK_BASE_URL: emulator.url,
    TIMEBACK_CLIENT_ID: emulator.clientId,
    TIMEBACK_CLIENT_SECRET: emulator.clientSecret,
    TIMEBACK_APP_ID: APP_ID,
    LOG_LEVEL: 'silent',
  };
}
