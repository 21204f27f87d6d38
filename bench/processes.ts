/**
 * Starting and measuring the processes a benchmark compares: the real gateway (as users
 * start it) and the baselines, each in its own process so each gets the machine as it would.
 *
 * A child's output goes to a log file, never to a pipe: a pipe the bench forgets to drain
 * fills up and blocks the child's next log write, which would stall the very process being
 * measured. Each child listens on a port the OS picks (PORT=0) and says where in its log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Child {
  process: ChildProcess;
  url: string;
  logFile: string;
  /** Peak resident memory so far (VmHWM), in MiB. */
  peakRssMb(): number;
  /** SIGTERM (or `signal`), then the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const STARTUP_TIMEOUT_MS = 30_000;

/** Starts the gateway with `node src/bin.mjs serve` (as `npm start` does) and waits until it listens. */
export function startGateway(env: Record<string, string>, logFile: string): Promise<Child> {
  return startChild(
    [path.join(ROOT, 'src/bin.mjs'), 'serve'],
    // The default log level (info), as users run it: one line per request is part of the cost.
    { HOST: '127.0.0.1', PORT: '0', ...env },
    logFile,
    (line) => {
      if (!line.includes('"caliper-gateway listening"')) return undefined;
      return (JSON.parse(line) as { url: string }).url;
    },
  );
}

/** Starts a baseline server script from bench/baselines and waits until it listens. */
export function startBaseline(script: string, env: Record<string, string>, logFile: string): Promise<Child> {
  return startChild(['--import', 'tsx', path.join(ROOT, 'bench/baselines', script)], { PORT: '0', ...env }, logFile, (line) =>
    /^listening (http:\S+)$/.exec(line)?.[1],
  );
}

/** Runs a script from bench/baselines to completion (it prints its result into `logFile`); resolves with its exit code. */
export function runBaselineScript(script: string, env: Record<string, string>, logFile: string): Promise<number | null> {
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/baselines', script)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function startChild(
  args: string[],
  env: Record<string, string>,
  logFile: string,
  findUrl: (line: string) => string | undefined,
): Promise<Child> {
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let url: string | undefined;
  while (url === undefined) {
    if (exitedEarly) throw new Error(`${args.join(' ')} exited before listening; see ${logFile}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${args.join(' ')} did not listen within ${STARTUP_TIMEOUT_MS} ms; see ${logFile}`);
    }
    await sleep(25);
    for (const line of readFileSync(logFile, 'utf8').split('\n')) {
      url = findUrl(line);
      if (url !== undefined) break;
    }
  }
  const listening = url;
  return {
    process: child,
    url: listening,
    logFile,
    peakRssMb() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
      return kb / 1024;
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
