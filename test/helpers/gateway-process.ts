/**
 * The gateway as users run it: `node src/bin.mjs serve` in its own process, on 127.0.0.1
 * and a port the OS picks (PORT=0; the bound URL is read from the "listening" log line).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'src/bin.mjs');

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  /** Parsed JSON log lines from stdout so far. */
  logs: Array<Record<string, unknown>>;
  /** Lines on stdout that were not JSON objects (logs are JSON lines on stdout: there should be none). */
  notJson: string[];
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

/**
 * `cwd` is the folder relative settings (DB_PATH, MAPPINGS_DIR, FIXTURES_DIR) start from; the project's by default.
 * `npmStart` runs `npm start` in the project instead, as the README's first command does (`child` is then npm).
 */
export async function startGatewayProcess(
  env: Record<string, string>,
  { cwd = ROOT, npmStart = false }: { cwd?: string; npmStart?: boolean } = {},
): Promise<GatewayProcess> {
  const baseEnv = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info' };
  // npm itself must stay off the network and leave no log files behind.
  const npmEnv = { HOME: process.env.HOME ?? '', npm_config_update_notifier: 'false', npm_config_logs_max: '0', npm_config_loglevel: 'silent' };
  const child = npmStart
    ? spawn('npm', ['start'], { cwd: ROOT, env: { ...baseEnv, ...npmEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [BIN, 'serve'], { cwd, env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  const logs: Array<Record<string, unknown>> = [];
  const notJson: string[] = [];
  let errText = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (errText += text));

  const url = await new Promise<string>((resolve, reject) => {
    let pending = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      pending += text;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        let entry: unknown;
        try {
          entry = JSON.parse(line);
        } catch {
          // not a log line
        }
        if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
          notJson.push(line);
          continue;
        }
        logs.push(entry as Record<string, unknown>);
        if ((entry as Record<string, unknown>).msg === 'caliper-gateway listening') resolve((entry as Record<string, unknown>).url as string);
      }
    });
    // After 'close', not 'exit': by then the last log lines (the fatal one) have been read.
    child.once('close', (code, signal) => {
      const fatal = logs.filter((entry) => entry.level === 'fatal').map((entry) => `${String(entry.msg)}\n`);
      reject(new Error(`gateway exited (${code ?? signal}) before listening:\n${errText}${fatal.join('')}`));
    });
  });
  return { child, url, logs, notJson, stderr: () => errText, exited };
}

/** Kills whatever a test left running, so no process outlives the suite. */
export async function killGatewayProcesses(): Promise<void> {
  const left = [...running].filter((child) => child.exitCode === null && child.signalCode === null);
  await Promise.all(
    left.map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}
