/**
 * Shared set-up for the identity and token tests: a temp folder, a Config pointed at an
 * emulator, a logger whose lines we can read, and a clock we move by hand.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type Config } from '../../src/config.ts';
import { createLogger, type Logger } from '../../src/log.ts';

export interface TempDir {
  dir: string;
  remove(): void;
}

export function makeTempDir(prefix: string): TempDir {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TestConfigOptions {
  dir: string;
  timebackUrl: string;
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  match?: string;
  /**
   * Per-request deadline in milliseconds. Generous by default so a loaded CI machine never
   * turns a slow answer into a failure; tests of hanging servers pass a short one.
   */
  timeoutMs?: number;
}

/**
 * The per-request deadline for tests of a server that never answers. The same client must then
 * get its next answer within it: 250 ms was too short for that on a loaded 2-core machine.
 */
export const HANG_DEADLINE_MS = 1_000;

export function testConfig({ dir, timebackUrl, clientId, clientSecret, match, timeoutMs = 2_000 }: TestConfigOptions): Config {
  const config = parseConfig({
    DB_PATH: join(dir, 'gateway.db'),
    MAPPINGS_DIR: dir,
    TIMEBACK_BASE_URL: timebackUrl,
    TIMEBACK_CLIENT_ID: clientId,
    TIMEBACK_CLIENT_SECRET: clientSecret,
    ROSTER_MATCH: match,
    LOG_LEVEL: 'silent',
  });
  config.roster.timeoutMs = timeoutMs;
  config.timeback.tokenTimeoutMs = timeoutMs;
  return config;
}

export interface CapturedLog {
  log: Logger;
  /** Every line written so far, as raw JSON text. */
  text(): string;
  lines(): Array<Record<string, unknown>>;
}

/** A real pino logger (same redaction as production) writing to memory at the most verbose level. */
export function captureLog(): CapturedLog {
  const chunks: string[] = [];
  const log = createLogger('trace', { write: (chunk: string) => void chunks.push(chunk) });
  return {
    log,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

export interface ManualClock {
  now: () => number;
  advance(ms: number): void;
  set(ms: number): void;
}

export function manualClock(start = Date.now()): ManualClock {
  let current = start;
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
    set: (ms) => {
      current = ms;
    },
  };
}
