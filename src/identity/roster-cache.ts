/**
 * The roster cache in SQLite: what TimeBack said about each Learn user, and when.
 * It lives in the gateway's database, so it survives restarts and the CLI sees exactly
 * what the running service sees. Reads on the hot path use prepared statements.
 */
import { count, desc, eq, inArray, type SQL } from 'drizzle-orm';
import type { Config } from '../config.ts';
import type { Store } from '../store/database.ts';
import { rosterCache, type RosterCacheRow, type RosterOutcome } from '../store/schema.ts';

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

export function viewOf(entry: RosterCacheEntry, ttls: RosterTtls, now: number): RosterCacheView {
  const expiry = expiresAt(entry, ttls);
  return {
    externalId: entry.externalId,
    outcome: entry.outcome,
    platformId: entry.platformId,
    strategy: entry.strategy,
    detail: entry.detail,
    learnedAt: new Date(entry.learnedAt).toISOString(),
    expiresAt: new Date(expiry).toISOString(),
    expired: now >= expiry,
  };
}

export interface RosterCache {
  get(externalId: string): RosterCacheEntry | undefined;
  put(entry: RosterCacheEntry): void;
  size(): number;
  list(options?: { outcome?: RosterOutcome; limit?: number; offset?: number }): {
    total: number;
    entries: RosterCacheEntry[];
  };
  /** Removes these entries; returns the ids that were cached. */
  evict(externalIds: readonly string[]): string[];
  /** Removes every entry (or every entry with this outcome); returns how many. */
  clear(outcome?: RosterOutcome): number;
}

export function createRosterCache(store: Store): RosterCache {
  const { sqlite, db } = store;
  const select = sqlite.prepare<[string], RosterCacheEntry>(
    `SELECT external_id AS externalId, platform_id AS platformId, outcome, strategy, detail, learned_at AS learnedAt
       FROM roster_cache WHERE external_id = ?`,
  );
  const upsert = sqlite.prepare<[RosterCacheEntry]>(
    `INSERT INTO roster_cache (external_id, platform_id, outcome, strategy, detail, learned_at)
     VALUES (@externalId, @platformId, @outcome, @strategy, @detail, @learnedAt)
     ON CONFLICT (external_id) DO UPDATE SET
       platform_id = excluded.platform_id, outcome = excluded.outcome, strategy = excluded.strategy,
       detail = excluded.detail, learned_at = excluded.learned_at`,
  );
  const countAll = sqlite.prepare<[], { n: number }>('SELECT count(*) AS n FROM roster_cache');

  return {
    get: (externalId) => select.get(externalId),
    put: (entry) => {
      upsert.run(entry);
    },
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

    evict(externalIds) {
      if (externalIds.length === 0) return [];
      return db
        .delete(rosterCache)
        .where(inArray(rosterCache.externalId, [...externalIds]))
        .returning({ externalId: rosterCache.externalId })
        .all()
        .map((row) => row.externalId);
    },

    clear(outcome) {
      const where = outcome ? eq(rosterCache.outcome, outcome) : undefined;
      return db.delete(rosterCache).where(where).run().changes;
    },
  };
}
