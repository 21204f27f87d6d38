/**
 * Keeps the wrong-key limiters' addresses known good (auth-failures.ts) in the database's
 * `meta` table, one row per realm, so that a restart does not make Learn's address a stranger
 * that whoever shares it can lock out. The rows are read once at start, and written on a
 * timer only when a limiter's set changed, and once more on a clean stop: never per request.
 *
 * These writes are on the service's connection, beside the writer thread that commits
 * envelopes, and a write waits for the other's lock. So they are small (a few dozen bytes an
 * address, at most MAX_KNOWN_GOOD addresses), and a timed save waits only briefly for the
 * lock: when it cannot have it, it says so and tries again at the next tick, the addresses
 * kept in memory meanwhile. Losing a save costs little: Learn's next right key adds it again.
 */
import type { AuthFailures, AuthRealm } from './auth-failures.ts';
import type { Logger } from './log.ts';
import type { Store } from './store/database.ts';

/** How often a changed set is saved: a restart loses at most this much of what was learned. */
export const KNOWN_GOOD_SAVE_MS = 60_000;
/** How long a timed save waits for the write lock; the event loop waits with it. */
const TIMED_SAVE_LOCK_WAIT_MS = 200;

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
  /** Saves every limiter whose set changed since its last save; false when one could not be saved. */
  save(options?: { lockWaitMs?: number }): boolean;
  /** Stops the timer and saves what changed (waiting for the lock as any write does). */
  stop(): void;
}

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

  function saveOne(limiter: AuthFailures, lockWaitMs: number | undefined): boolean {
    const version = limiter.knownGoodVersion;
    if (saved.get(limiter.realm) === version) return true;
    const previousWait = lockWaitMs === undefined ? undefined : (sqlite.pragma('busy_timeout', { simple: true }) as number);
    try {
      if (lockWaitMs !== undefined) sqlite.pragma(`busy_timeout = ${lockWaitMs}`);
      upsert.run(metaKey(limiter.realm), JSON.stringify(limiter.knownGoodEntries()), now());
      saved.set(limiter.realm, version);
      return true;
    } catch (err) {
      const busy = (err as { code?: unknown }).code === 'SQLITE_BUSY';
      log.warn(
        { err, realm: limiter.realm },
        busy
          ? 'could not save the addresses that sent a right key: the database is busy; trying again later'
          : 'could not save the addresses that sent a right key; trying again later',
      );
      return false;
    } finally {
      if (previousWait !== undefined) sqlite.pragma(`busy_timeout = ${previousWait}`);
    }
  }

  function save({ lockWaitMs }: { lockWaitMs?: number } = {}): boolean {
    let all = true;
    for (const limiter of limiters) all = saveOne(limiter, lockWaitMs) && all;
    return all;
  }

  const timer = setInterval(() => save({ lockWaitMs: TIMED_SAVE_LOCK_WAIT_MS }), options.intervalMs ?? KNOWN_GOOD_SAVE_MS);
  timer.unref();

  return {
    save,
    stop() {
      clearInterval(timer);
      save();
    },
  };
}
