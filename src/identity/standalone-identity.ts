/**
 * The service's identity resolver for one-shot commands (`translate` without `--users`):
 * same overrides, same roster rules, and the service's cache when DB_PATH already exists,
 * so a dry run answers exactly as the running gateway would. A dry run must not leave a
 * database behind, so without one the cache lives in memory. The answers it learns are
 * cached on the command's own connection (no writer thread here: nothing else waits on this
 * process's event loop).
 */
import { existsSync } from 'node:fs';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { createMetrics } from '../metrics.ts';
import { openStore, openStoreForCommand, type Store } from '../store/database.ts';
import { DatabaseSchemaError } from '../store/migrate.ts';
import { createTokenProvider } from '../timeback/client-credentials-token.ts';
import { createIdentityResolver } from './cached-roster-resolver.ts';
import type { IdentityResolver } from './identity-resolver.ts';

export interface StandaloneIdentity {
  resolver: IdentityResolver;
  /** Closes the roster connections, the token client and the database. */
  close(): Promise<void>;
}

/** Throws UserOverridesError when user-overrides.yaml is bad (every problem, each with the file and line). */
export function openStandaloneIdentity({
  config,
  log,
  now = Date.now,
}: {
  config: Config;
  log: Logger;
  now?: () => number;
}): StandaloneIdentity {
  const store = openCache(config.dbPath, log);
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

/**
 * The service's database for its roster cache, never migrated (the gateway using it may be an
 * older release). A dry run is also how an admin tries a new release before upgrading, so a
 * database still in an older release's schema is left alone and the cache lives in memory.
 */
function openCache(dbPath: string, log: Logger): Store {
  if (!existsSync(dbPath)) return openStore(':memory:');
  try {
    return openStoreForCommand(dbPath);
  } catch (err) {
    if (!(err instanceof DatabaseSchemaError)) throw err;
    log.warn({ problem: err.message }, "the gateway's roster cache is not used: its database is in another release's schema");
    return openStore(':memory:');
  }
}
