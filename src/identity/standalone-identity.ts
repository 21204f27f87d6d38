/**
 * The service's identity resolver for one-shot commands (`translate` without `--users`):
 * same overrides, same roster rules, and the service's cache when DB_PATH already exists,
 * so a dry run answers exactly as the running gateway would. A dry run must not leave a
 * database behind, so without one the cache lives in memory.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { createMetrics } from '../metrics.ts';
import { openStore } from '../store/database.ts';
import { createTokenProvider } from '../timeback/client-credentials-token.ts';
import { createIdentityResolver } from './cached-roster-resolver.ts';
import type { IdentityResolver } from './identity-resolver.ts';

export interface StandaloneIdentity {
  resolver: IdentityResolver;
  /** Closes the roster connections, the token client and the database. */
  close(): Promise<void>;
}

/** Throws UserOverridesError when user-overrides.yaml is bad (the message names the file and the line or key). */
export function openStandaloneIdentity({
  config,
  log,
  now = Date.now,
}: {
  config: Config;
  log: Logger;
  now?: () => number;
}): StandaloneIdentity {
  const store = openStore(existsSync(config.dbPath) ? config.dbPath : ':memory:');
  const metrics = createMetrics();
  const tokens = createTokenProvider({ config, log, metrics, now });
  let resolver;
  try {
    resolver = createIdentityResolver({ config, store, log, metrics, tokens, now, watchOverrides: false });
  } catch (err) {
    void tokens.close();
    store.close();
    throw err;
  }
  return {
    resolver,
    async close() {
      await resolver.close();
      await tokens.close();
      store.close();
    },
  };
}
