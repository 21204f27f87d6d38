/**
 * The roster cache in SQLite: what TimeBack said about each Learn user, and when.
 * It lives in the gateway's database, so it survives restarts and the CLI sees exactly
 * what the running service sees. Reads on the hot path use prepared statements.
 *
 * An eviction must win over a lookup that was already in flight when it was made (the admin
 * has just fixed the student in TimeBack; the lookup carries the roster's old answer). So
 * every eviction, in whatever process, counts itself in the database (`generation`), and a
 * lookup's answer is written only if no eviction came since the lookup began.
 *
 * In the service, lookups' answers are committed by the writer thread
 * (`StoreWriter.recordRosterAnswer`), so the event loop never waits for the write lock for
 * them. Evictions (the roster-cache command, /admin/roster-cache, a replay's forgetting) stay
 * on the connection of whoever makes them: they are rare, and the admin waits for them anyway.
 * They commit with synchronous=FULL (store/durable-commit.ts), as the service's connection
 * otherwise runs NORMAL.
 */
import { count, desc, eq, inArray, type SQL } from 'drizzle-orm';
import type { Config } from '../config.ts';
import type { Store } from '../store/database.ts';
import { durably } from '../store/durable-commit.ts';
import { rosterCache, type RosterCacheRow, type RosterOutcome } from '../store/schema.ts';
import { GENERATION_KEY, prepareGenerationRead, prepareRosterAnswerWrite, prepareRosterUpsert } from './roster-answer-write.ts';

export type RosterCacheEntry = RosterCacheRow;

/** How an entry is shown to admins (CLI and HTTP). */
export interface RosterCacheView {
  externalId: string;
  outcome: RosterOutcome;
  platformId: string | null;
  strategy: string | null;
  detail: string | null;
  learnedAt: string;
  expiresAt: string;
  expired: boolean;
}

export type RosterTtls = Pick<Config['roster'], 'cacheTtlMs' | 'negativeTtlMs'>;

/** Found answers are trusted for ROSTER_CACHE_TTL; not-found and ambiguous ones for ROSTER_NEGATIVE_TTL. */
export function expiresAt(entry: Pick<RosterCacheEntry, 'outcome' | 'learnedAt'>, ttls: RosterTtls): number {
  return entry.learnedAt + (entry.outcome === 'found' ? ttls.cacheTtlMs : ttls.negativeTtlMs);
}

/**
 * The last instant a Date holds. ROSTER_CACHE_TTL and ROSTER_NEGATIVE_TTL take up to 2^53 - 1
 * seconds (an admin's "for good"), far past it: toISOString threw on such an expiry, and
 * `roster-cache list` died with a stack trace (GET /admin/roster-cache answered 500).
 */
const LAST_DATE_MS = 8.64e15;

export function viewOf(entry: RosterCacheEntry, ttls: RosterTtls, now: number): RosterCacheView {
  const expiry = expiresAt(entry, ttls);
  return {
    externalId: entry.externalId,
    outcome: entry.outcome,
    platformId: entry.platformId,
    strategy: entry.strategy,
    detail: entry.detail,
    learnedAt: new Date(entry.learnedAt).toISOString(),
    expiresAt: new Date(Math.min(expiry, LAST_DATE_MS)).toISOString(),
    expired: now >= expiry,
  };
}

export interface RosterCache {
  get(externalId: string): RosterCacheEntry | undefined;
  put(entry: RosterCacheEntry): void;
  /** How many evictions this database has seen; read it before a lookup asks the roster. */
  generation(): number;
  /**
   * Puts the entry unless an eviction came after `generation` was read (the answer may be
   * what the admin just fixed); says whether it did.
   */
  putUnlessEvicted(entry: RosterCacheEntry, generation: number): boolean;
  size(): number;
  list(options?: { outcome?: RosterOutcome; limit?: number; offset?: number }): {
    total: number;
    entries: RosterCacheEntry[];
  };
  /** Removes these entries, and any answer for them still in flight; returns the ids that were cached. */
  evict(externalIds: readonly string[]): string[];
  /** Removes every entry (or every entry with this outcome), and every answer in flight; returns how many. */
  clear(outcome?: RosterOutcome): number;
}

/**
 * Counts one eviction. Call it in the transaction that deletes the entries, so a lookup's
 * write (which checks the count in a transaction of its own) lands either before the
 * eviction, which then deletes it, or after, and is refused.
 */
export function countEviction(store: Store, now: number): void {
  store.sqlite
    .prepare<[string, number]>(
      `INSERT INTO meta (key, value, updated_at) VALUES (?, '1', ?)
       ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1, updated_at = excluded.updated_at`,
    )
    .run(GENERATION_KEY, now);
}

export function createRosterCache(store: Store, now: () => number = Date.now): RosterCache {
  const { sqlite, db } = store;
  const select = sqlite.prepare<[string], RosterCacheEntry>(
    `SELECT external_id AS externalId, platform_id AS platformId, outcome, strategy, detail, learned_at AS learnedAt
       FROM roster_cache WHERE external_id = ?`,
  );
  const upsert = prepareRosterUpsert(sqlite);
  const countAll = sqlite.prepare<[], { n: number }>('SELECT count(*) AS n FROM roster_cache');
  const generation = prepareGenerationRead(sqlite);
  const putIfCurrent = sqlite.transaction(prepareRosterAnswerWrite(sqlite));
  // An admin's eviction (the command, /admin/roster-cache) is fsynced before it is answered.
  const evictWith = <T>(remove: () => T) =>
    durably(sqlite, () =>
      sqlite.transaction(() => {
        countEviction(store, now());
        return remove();
      })(),
    );

  return {
    get: (externalId) => select.get(externalId),
    put: upsert,
    generation,
    // IMMEDIATE: the write lock is taken before the check. A deferred transaction would read
    // the count in a snapshot, and an eviction committed after that read would make the
    // write fail with SQLITE_BUSY_SNAPSHOT instead of being refused.
    putUnlessEvicted: (entry, seen) => putIfCurrent.immediate({ entry, generation: seen }),
    size: () => countAll.get()?.n ?? 0,

    list({ outcome, limit = 100, offset = 0 } = {}) {
      const where: SQL | undefined = outcome ? eq(rosterCache.outcome, outcome) : undefined;
      const total = db.select({ n: count() }).from(rosterCache).where(where).get()?.n ?? 0;
      const entries = db
        .select()
        .from(rosterCache)
        .where(where)
        .orderBy(desc(rosterCache.learnedAt), rosterCache.externalId)
        .limit(limit)
        .offset(offset)
        .all();
      return { total, entries };
    },

    // Both count an eviction even when nothing was cached: a lookup may be in flight for a
    // student who has no entry yet.
    evict(externalIds) {
      if (externalIds.length === 0) return [];
      return evictWith(() =>
        db
          .delete(rosterCache)
          .where(inArray(rosterCache.externalId, [...externalIds]))
          .returning({ externalId: rosterCache.externalId })
          .all()
          .map((row) => row.externalId),
      );
    },

    clear(outcome) {
      const where = outcome ? eq(rosterCache.outcome, outcome) : undefined;
      return evictWith(() => db.delete(rosterCache).where(where).run().changes);
    },
  };
}
