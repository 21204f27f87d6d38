/**
 * The statements that cache a roster lookup's answer, unless an eviction came since the
 * lookup began (roster-cache.ts). Apart from the cache so the writer thread
 * (store/writer-thread.ts), which commits the answers of the service's lookups, loads this
 * SQL and no ORM.
 */
import type Database from 'better-sqlite3';
import type { RosterCacheRow } from '../store/schema.ts';

/** A lookup's answer and the eviction count read before the lookup asked the roster. */
export interface RosterAnswer {
  entry: RosterCacheRow;
  generation: number;
}

/** The `meta` row that counts evictions; absent until the first one (generation 0). */
export const GENERATION_KEY = 'roster-cache-generation';

/** Reads how many evictions this database has seen. */
export function prepareGenerationRead(sqlite: Database.Database): () => number {
  const select = sqlite.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
  return () => Number(select.get(GENERATION_KEY)?.value ?? 0);
}

/** Writes the entry in place of any other for the same student; makes no transaction of its own. */
export function prepareRosterUpsert(sqlite: Database.Database): (entry: RosterCacheRow) => void {
  const upsert = sqlite.prepare<[RosterCacheRow]>(
    `INSERT INTO roster_cache (external_id, platform_id, outcome, strategy, detail, learned_at)
     VALUES (@externalId, @platformId, @outcome, @strategy, @detail, @learnedAt)
     ON CONFLICT (external_id) DO UPDATE SET
       platform_id = excluded.platform_id, outcome = excluded.outcome, strategy = excluded.strategy,
       detail = excluded.detail, learned_at = excluded.learned_at`,
  );
  return (entry) => {
    upsert.run(entry);
  };
}

/**
 * Writes the answer unless the eviction count moved since it was read; says whether it did.
 * Makes no transaction of its own: it must run in one that took the write lock before this
 * check (BEGIN IMMEDIATE, as the writer thread's group commits and the cache's
 * `putUnlessEvicted` do), so no eviction can come between the check and the write.
 */
export function prepareRosterAnswerWrite(sqlite: Database.Database): (answer: RosterAnswer) => boolean {
  const generation = prepareGenerationRead(sqlite);
  const upsert = prepareRosterUpsert(sqlite);
  return ({ entry, generation: seen }) => {
    if (generation() !== seen) return false;
    upsert(entry);
    return true;
  };
}
