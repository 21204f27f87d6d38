/**
 * The service's identity resolver for one-shot commands (`translate` without `--users`):
 * same overrides, same roster rules, and the service's cache when DB_PATH already exists,
 * so a dry run answers exactly as the running gateway would. A dry run must not leave a
 * database behind, so without one the cache lives in memory. The answers it learns are
 * cached on the command's own connection (no writer thread here), when the write lock can be
 * had at once: a dry run is a preview, and the cache only saves the gateway a lookup. Beside a
 * gateway committing a large envelope, waiting for the lock (busy_timeout, 5 s an answer) held
 * the event loop, so the roster requests in flight timed out and students were reported
 * unreachable; a wait of EVENT_LOOP_LOCK_WAIT_MS, once, then no more writes, loses nothing the
 * gateway cannot look up again itself, and `cacheSkipped` says how many answers were not kept.
 * A write that fails otherwise (a read-only database file, a full disk) is given up on the same
 * way, with `cacheProblem` saying why, rather than logged with its stack once per answer.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { createMetrics } from '../metrics.ts';
import { openStore, openStoreForCommand, type Store } from '../store/database.ts';
import { EVENT_LOOP_LOCK_WAIT_MS, isBusy, withLockWait } from '../store/lock-wait.ts';
import { DatabaseSchemaError } from '../store/migrate.ts';
import { createTokenProvider } from '../timeback/client-credentials-token.ts';
import { createIdentityResolver } from './cached-roster-resolver.ts';
import type { IdentityResolver } from './identity-resolver.ts';
import type { RosterAnswer } from './roster-answer-write.ts';
import { createRosterCache } from './roster-cache.ts';
import { errorMessage } from '../errors.ts';

export interface StandaloneIdentity {
  resolver: IdentityResolver;
  /** How many of the roster's answers were not cached: other writes held the database's write lock, or the write failed. */
  cacheSkipped(): number;
  /** Why the first answer could not be cached when it was not the lock (SQLite's message); undefined otherwise. */
  cacheProblem(): string | undefined;
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
  const cache = createRosterCache(store, now);
  let skipped = 0;
  let problem: string | undefined;
  // After one answer could not have the lock, the rest are not tried: each would hold the
  // event loop (and the roster requests in flight) for another wait. Nor after one failed
  // otherwise: what refused it (a read-only file, a full disk) refuses the rest too.
  const writer = {
    async recordRosterAnswer({ entry, generation }: RosterAnswer): Promise<boolean> {
      // true: false would tell the resolver an eviction came first; cacheSkipped says this instead.
      if (skipped > 0) {
        skipped++;
        return true;
      }
      try {
        return withLockWait(store.sqlite, EVENT_LOOP_LOCK_WAIT_MS, () => cache.putUnlessEvicted(entry, generation));
      } catch (err) {
        if (!isBusy(err)) problem = errorMessage(err);
        skipped++;
        return true;
      }
    },
  };
  let resolver;
  try {
    resolver = createIdentityResolver({ config, store, log, metrics, tokens, now, watchOverrides: false, writer });
  } catch (err) {
    void tokens.close();
    store.close();
    throw err;
  }
  return {
    resolver,
    cacheSkipped: () => skipped,
    cacheProblem: () => problem,
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
