/**
 * Starting and measuring the processes a benchmark compares: the real gateway (as users
 * start it) and the baselines, each in its own process so each gets the machine as it would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Child {
  process: ChildProcess;
  url: string;
  /** Peak resident memory so far (VmHWM), in MiB. */
  peakRssMb(): number;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function track(child: ChildProcess, url: string): Child {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    process: child,
    url,
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

/** Starts the gateway with `node src/bin.mjs serve` and waits until it listens. */
export async function startGateway(env: Record<string, string>, options: { logFile?: (line: string) => void } = {}): Promise<Child> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, 'src/bin.mjs'), 'serve'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForLine(child, (line) => line.includes('caliper-gateway listening'), options.logFile);
  return track(child, `http://127.0.0.1:${port}`);
}

/** Starts a baseline server script from bench/baselines and waits until it listens. */
export async function startBaseline(script: string, env: Record<string, string> = {}): Promise<Child> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/baselines', script)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForLine(child, (line) => line.includes('listening'));
  return track(child, `http://127.0.0.1:${port}`);
}

function waitForLine(child: ChildProcess, match: (line: string) => boolean, sink?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let done = false;
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        sink?.(line);
        if (!done && match(line)) {
          done = true;
          resolve();
        }
        newline = buffered.indexOf('\n');
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => sink?.(chunk.toString('utf8')));
    child.once('exit', (code) => {
      if (!done) reject(new Error(`process exited with ${code} before it was ready`));
    });
  });
}
