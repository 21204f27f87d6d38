import { ConfigError, parseConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { startGateway } from '../server.ts';
import { UserOverridesError } from '../identity/user-overrides.ts';
import type { Env } from '../cli.ts';

export async function serveCommand(_args: string[], env: Env): Promise<number> {
  let config;
  try {
    config = parseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`caliper-gateway: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  let gateway;
  try {
    gateway = await startGateway(config, { log });
  } catch (err) {
    if (err instanceof UserOverridesError) {
      process.stderr.write(`caliper-gateway: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'signal received');
      // A second signal means "now": skip the graceful wait.
      process.once(signal, () => process.exit(130));
      gateway.close().then(
        () => resolve(0),
        (err) => {
          log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
