/**
 * The gateway as the drill runs it: `node src/bin.mjs serve` in its own process, killed and
 * restarted on the same database and the same port, the way a supervisor would bring it back
 * (Learn has one URL for it). The first start takes a free port (PORT=0, read from the
 * "listening" log line); every restart asks for that port again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'src/bin.mjs');

// However the drill ends, no gateway it started outlives it.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface SupervisedGateway {
  /** Where it listens; the same across restarts. */
  readonly url: string;
  /** The running process's id, undefined while it is down. */
  readonly pid: number | undefined;
  /** How many times it was started (1 + restarts). */
  readonly starts: number;
  /** SIGKILL, and wait until the process is gone. */
  kill(): Promise<void>;
  /** Start it again on the same database and port; resolves once it listens. */
  restart(): Promise<void>;
  /** SIGTERM (a clean shutdown) and wait; closes the log file. */
  stop(): Promise<void>;
}

/** Starts the gateway with `env` on top of a loopback, free-port base; its logs go to `logFile`. */
export async function superviseGateway(env: Record<string, string>, logFile: string): Promise<SupervisedGateway> {
  const log = createWriteStream(logFile, { flags: 'a' });
  let port = '0';
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let starts = 0;
  let url = '';

  const start = async () => {
    starts += 1;
    log.write(`--- start ${starts} (port ${port}) ---\n`);
    const spawned = spawn(process.execPath, [BIN, 'serve'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: port, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = spawned;
    running.add(spawned);
    exited = new Promise((resolve) =>
      spawned.once('exit', () => {
        running.delete(spawned);
        resolve();
      }),
    );
    url = await waitForListening(spawned, log);
    port = new URL(url).port;
  };

  await start();
  return {
    get url() {
      return url;
    },
    get pid() {
      return child?.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    get starts() {
      return starts;
    },
    async kill() {
      child?.kill('SIGKILL');
      await exited;
    },
    restart: start,
    async stop() {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      await new Promise<void>((resolve) => log.end(() => resolve()));
    },
  };
}

function waitForListening(child: ChildProcess, log: WriteStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let pending = '';
    let found = false;
    child.stderr!.on('data', (chunk: Buffer) => log.write(chunk));
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      log.write(text);
      if (found) return;
      pending += text;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (!line.includes('caliper-gateway listening')) continue;
        found = true;
        pending = '';
        resolve((JSON.parse(line) as { url: string }).url);
        return;
      }
    });
    child.once('exit', (code, signal) => {
      if (!found) reject(new Error(`the gateway exited (${code ?? signal}) before it listened; see its log`));
    });
  });
}
