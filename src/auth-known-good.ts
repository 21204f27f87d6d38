/**
 * Keeps the wrong-key limiters' addresses known good (auth-failures.ts) in the database's
 * `meta` table, one row per realm, so that a restart does not make Learn's address a stranger
 * that whoever shares it can lock out. The rows are read once at start, and written on a
 * timer only when a limiter's set changed, and once more on a clean stop: never per request.
 *
 * These writes are on the service's connection, beside the writer thread that commits
 * envelopes, and a write waits for the other's lock. So they are small (a few dozen bytes an
 * address, at most MAX_KNOWN_GOOD addresses), and a save waits only briefly for the lock
 * (lock-wait.ts): a timed one that cannot have it says so and tries again at the next tick,
 * the addresses kept in memory meanwhile; the one at stop tries for a bounded time. Losing a
 * save costs little: Learn's next right key adds it again.
 */
import type { AuthFailures, AuthRealm } from './auth-failures.ts';
import type { Logger } from './log.ts';
import type { Store } from './store/database.ts';
import { EVENT_LOOP_LOCK_WAIT_MS, isBusy, retryWhileBusy, withLockWait } from './store/lock-wait.ts';

/** How often a changed set is saved: a restart loses at most this much of what was learned. */
const KNOWN_GOOD_SAVE_MS = 60_000;

const metaKey = (realm: AuthRealm) => `auth-known-good-${realm}`;

/**
 * The addresses a realm's limiter knew good when last saved, as [address, time of its last
 * right key]. A row that cannot be read is logged and taken as none: the limit then works as
 * after a first start, which is no reason to refuse to start.
 */
export function loadKnownGood(store: Store, realm: AuthRealm, log: Logger): Array<[string, number]> {
  try {
    const row = store.sqlite.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(metaKey(realm));
    if (!row) return [];
    const saved: unknown = JSON.parse(row.value);
    if (!Array.isArray(saved)) throw new Error('not a list');
    return saved.filter(
      (entry): entry is [string, number] =>
        Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'string' && Number.isFinite(entry[1]),
    );
  } catch (err) {
    log.warn({ err, realm }, 'could not read the addresses that sent a right key before the restart; every address starts a stranger');
    return [];
  }
}

export interface KnownGoodSaver {
  /**
   * Saves every limiter whose set changed since its last save, waiting at most `lockWaitMs`
   * (EVENT_LOOP_LOCK_WAIT_MS unless told) for the write lock; false when one could not be saved.
   */
  save(options?: { lockWaitMs?: number }): boolean;
  /**
   * Stops the timer and saves what changed, giving up on the lock at `deadline` or after
   * STOP_SAVE_WAIT_MS, whichever comes first; false when one could not be saved.
   */
  stop(deadline?: number): Promise<boolean>;
}

/**
 * How long the save at stop keeps trying for the write lock, EVENT_LOOP_LOCK_WAIT_MS at a time
 * with the event loop free between tries: the delivery workers are still stopping beside it.
 * Bounded because a lost save costs little, at most the addresses learned since the last timed
 * save, as a kill -9 would (the README says so); Learn's next right key adds its address again.
 */
const STOP_SAVE_WAIT_MS = 1_000;

/** Saves the limiters' addresses known good every `intervalMs` when they changed, and at stop. */
export function startKnownGoodSaver(options: {
  store: Store;
  limiters: readonly AuthFailures[];
  log: Logger;
  now: () => number;
  intervalMs?: number;
}): KnownGoodSaver {
  const { store, limiters, log, now } = options;
  const { sqlite } = store;
  const upsert = sqlite.prepare<[string, string, number]>(
    `INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  );
  // What was loaded is what is stored: version 0 needs no save.
  const saved = new Map<AuthRealm, number>(limiters.map((limiter) => [limiter.realm, limiter.knownGoodVersion]));

  const changed = () => limiters.filter((limiter) => saved.get(limiter.realm) !== limiter.knownGoodVersion);

  /** One statement, so a try that found the lock taken wrote nothing and may be run again. */
  function write(limiter: AuthFailures): void {
    const version = limiter.knownGoodVersion;
    upsert.run(metaKey(limiter.realm), JSON.stringify(limiter.knownGoodEntries()), now());
    saved.set(limiter.realm, version);
  }

  function save({ lockWaitMs = EVENT_LOOP_LOCK_WAIT_MS }: { lockWaitMs?: number } = {}): boolean {
    let all = true;
    for (const limiter of changed()) {
      try {
        withLockWait(sqlite, lockWaitMs, () => write(limiter));
      } catch (err) {
        log.warn(
          { err, realm: limiter.realm },
          isBusy(err)
            ? 'could not save the addresses that sent a right key: the database is busy; trying again later'
            : 'could not save the addresses that sent a right key; trying again later',
        );
        all = false;
      }
    }
    return all;
  }

  const timer = setInterval(() => save(), options.intervalMs ?? KNOWN_GOOD_SAVE_MS);
  timer.unref();

  return {
    save,
    async stop(deadline = Infinity) {
      clearInterval(timer);
      // Wall-clock time, not the injectable `now`: this bounds real waiting.
      const giveUpAt = Math.min(deadline, Date.now() + STOP_SAVE_WAIT_MS);
      let all = true;
      for (const limiter of changed()) {
        try {
          await retryWhileBusy(sqlite, () => write(limiter), { giveUpAfterMs: Math.max(0, giveUpAt - Date.now()) });
        } catch (err) {
          log.warn(
            { err, realm: limiter.realm },
            isBusy(err)
              ? 'could not save the addresses that sent a right key before stopping: the database is busy; those since the last save are forgotten'
              : 'could not save the addresses that sent a right key before stopping; those since the last save are forgotten',
          );
          all = false;
        }
      }
      return all;
    },
  };
}
