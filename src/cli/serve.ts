/**
 * `caliper-gateway serve` (what `npm start` runs): starts the gateway (server.ts) and turns
 * SIGTERM and SIGINT into a graceful stop, bounded by SHUTDOWN_TIMEOUT; a second signal, a
 * second or more after the first, exits at once. Exit codes: 0 after a clean stop, 1 when it
 * cannot start or stop, 2 for bad arguments, configuration or user-overrides file.
 */
import { parseArgs } from 'node:util';
import {
  ConfigError,
  describeRepeatedRosterStrategies,
  describeUnknownSetting,
  parseConfig,
  repeatedRosterStrategies,
  unknownSettings,
  type Config,
} from '../config.ts';
import { createLogger } from '../log.ts';
import { databasePathProblem } from '../store/database-path.ts';
import { startGateway, type Gateway } from '../server.ts';
import { UserOverridesError } from '../identity/user-overrides.ts';
import { onStopSignals } from '../stop-signals.ts';
import { cliCommand, warnSettings } from './command.ts';

/** Time to leave after a clean shutdown if something still holds the event loop open. */
const EXIT_GRACE_MS = 1_000;

const USAGE = `Usage: caliper-gateway serve

Serves the gateway (what npm start runs): POST /caliper for Learn, the pipeline to TimeBack,
health, readiness, metrics and admin routes. Configured by environment variables only (see
the README's Configuration table); a bad value stops start-up with one message listing all.
`;

export const serveCommand = cliCommand('serve', USAGE, async (args, env, io) => {
  parseArgs({ args, options: {} });
  let config: Config;
  try {
    config = parseConfig(env);
    // The commands may name an in-memory database (they then find nothing), but a gateway on one
    // would answer Learn 200 for envelopes that are gone at its next restart.
    if (config.dbPath === ':memory:') {
      throw new ConfigError(['DB_PATH: :memory: keeps nothing across a restart; the gateway acknowledges an envelope only once it is on disk, so name a file']);
    }
    // Before anything opens it or makes its folder: a named pipe there held start-up forever.
    const problem = databasePathProblem(config.dbPath);
    if (problem !== undefined) throw new ConfigError([`DB_PATH: ${config.dbPath}: ${problem}`]);
  } catch (err) {
    // A misspelling often sits beside the bad value (DELIVERY_CONCURENCY=8 next to a bad PORT):
    // say it too. There is no logger yet (LOG_LEVEL may be what is wrong), so stderr, where the
    // refusal itself goes.
    if (err instanceof ConfigError) warnSettings('serve', env, io);
    throw err;
  }
  const log = createLogger(config.logLevel);
  for (const setting of unknownSettings(env)) {
    log.warn({ variable: setting.name, closest: setting.closest }, describeUnknownSetting(setting));
  }
  const repeated = repeatedRosterStrategies(env);
  if (repeated.length > 0) log.warn({ variable: 'ROSTER_MATCH', repeated }, describeRepeatedRosterStrategies(repeated));
  let gateway: Gateway;
  try {
    gateway = await startGateway(config, { log });
  } catch (err) {
    // A setting only the database can judge (an ADMIN_TOKEN that is the generated ingest key):
    // said like every other bad setting, exit 2.
    if (err instanceof ConfigError) throw err;
    if (err instanceof UserOverridesError) {
      io.err(`caliper-gateway: ${err.message}\n`);
      return 2;
    }
    const { code, syscall } = err as NodeJS.ErrnoException;
    const listening = syscall === 'listen';
    // The reason goes in the message: an admin reads the line, not the stack under it.
    const hint =
      listening && code === 'EADDRINUSE'
        ? `port ${config.port} is in use (set PORT)`
        : listening && code === 'EACCES'
          ? `not allowed to listen on port ${config.port}`
          : (err as Error).message;
    log.fatal({ err }, `caliper-gateway cannot start: ${hint}`);
    return 1;
  }

  return new Promise<number>((resolve) => {
    const finish = (code: number) => {
      resolve(code);
      // A supervisor waits for the process to end: if a stray handle keeps the event loop
      // alive after everything was closed, leave anyway.
      setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
    };
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'signal received');
      // close() bounds the wait for requests by SHUTDOWN_TIMEOUT; this bounds everything else.
      const overrun = setTimeout(() => {
        log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown overran SHUTDOWN_TIMEOUT; exiting now');
        process.exit(1);
      }, config.shutdownTimeoutMs + EXIT_GRACE_MS);
      overrun.unref();
      gateway.close().then(
        () => {
          clearTimeout(overrun);
          finish(0);
        },
        (err) => {
          clearTimeout(overrun);
          log.error({ err }, 'shutdown failed');
          finish(1);
        },
      );
    };
    // A repeat within a second (npm's copy of the Ctrl-C) is the same stop; a later one exits at once.
    onStopSignals(stop);
  });
});
