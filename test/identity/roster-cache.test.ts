/**
 * The roster cache's own contract on a real SQLite file: what a second answer for the same
 * user replaces, when an entry expires, how lists are ordered and paged, what evict and clear
 * report, that an eviction refuses the answers of lookups begun before it, and that the lookups
 * by id read the primary key rather than the table.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRosterCache, expiresAt, viewOf, type RosterCache, type RosterCacheEntry, type RosterTtls } from '../../src/identity/roster-cache.ts';
import { openStore } from '../../src/store/database.ts';
import { tempStore } from '../helpers/temp-store.ts';

const NOW = Date.parse('2026-03-02T10:00:00.000Z');
const HOUR = 3_600_000;
const TTLS: RosterTtls = { cacheTtlMs: 24 * HOUR, negativeTtlMs: HOUR };

let db: ReturnType<typeof tempStore>;
let cache: RosterCache;

beforeEach(() => {
  db = tempStore('roster-cache-');
  cache = createRosterCache(db.store);
});
afterEach(() => db.cleanup());

function entry(externalId: string, fields: Partial<RosterCacheEntry> = {}): RosterCacheEntry {
  return { externalId, platformId: randomUUID(), outcome: 'found', strategy: 'identifier', detail: null, learnedAt: NOW, ...fields };
}

const notFound = (externalId: string, learnedAt = NOW) =>
  entry(externalId, { platformId: null, outcome: 'not-found', strategy: null, detail: 'no TimeBack user has this email', learnedAt });

describe('get and put', () => {
  it('Should give undefined for a user never looked up, and the entry as put otherwise', () => {
    expect(cache.get('ada.l')).toBeUndefined();
    const ada = entry('ada.l');
    cache.put(ada);
    expect(cache.get('ada.l')).toEqual(ada);
    // Ids are exact: no trimming, no case folding.
    expect(cache.get('Ada.l')).toBeUndefined();
    expect(cache.get('ada.l ')).toBeUndefined();
  });

  it('Should replace every field of an earlier answer, nulls included', () => {
    cache.put(entry('ada.l', { learnedAt: NOW - HOUR }));
    const later = notFound('ada.l');
    cache.put(later);
    expect(cache.get('ada.l')).toEqual(later);
    expect(cache.size()).toBe(1);
  });
});

describe('expiry', () => {
  it('Should trust a found answer for the cache TTL and any other for the negative TTL', () => {
    expect(expiresAt(entry('a', { learnedAt: NOW }), TTLS)).toBe(NOW + 24 * HOUR);
    expect(expiresAt(notFound('b'), TTLS)).toBe(NOW + HOUR);
    expect(expiresAt({ outcome: 'ambiguous', learnedAt: NOW }, TTLS)).toBe(NOW + HOUR);
  });

  it('Should show an entry as expired from the moment it expires, with times as ISO text', () => {
    const stored = notFound('kid@school.test', NOW - HOUR);
    expect(viewOf(stored, TTLS, NOW - 1)).toMatchObject({ expired: false, learnedAt: '2026-03-02T09:00:00.000Z', expiresAt: '2026-03-02T10:00:00.000Z' });
    expect(viewOf(stored, TTLS, NOW).expired).toBe(true);
    expect(viewOf(stored, TTLS, NOW)).toEqual({
      externalId: 'kid@school.test',
      outcome: 'not-found',
      platformId: null,
      strategy: null,
      detail: 'no TimeBack user has this email',
      learnedAt: '2026-03-02T09:00:00.000Z',
      expiresAt: '2026-03-02T10:00:00.000Z',
      expired: true,
    });
  });
});

describe('list', () => {
  it('Should list newest first, ties by id, with the total of all matching entries whatever the page', () => {
    cache.put(entry('old', { learnedAt: NOW - 2 * HOUR }));
    cache.put(entry('b-same', { learnedAt: NOW }));
    cache.put(notFound('a-same', NOW));
    cache.put(notFound('c-older', NOW - HOUR));
    expect(cache.list().entries.map((row) => row.externalId)).toEqual(['a-same', 'b-same', 'c-older', 'old']);
    expect(cache.list({ limit: 2, offset: 1 })).toEqual({ total: 4, entries: [expect.objectContaining({ externalId: 'b-same' }), expect.objectContaining({ externalId: 'c-older' })] });
    expect(cache.list({ outcome: 'not-found', offset: 1 })).toEqual({ total: 2, entries: [expect.objectContaining({ externalId: 'c-older' })] });
    expect(cache.list({ outcome: 'ambiguous' })).toEqual({ total: 0, entries: [] });
  });

  it('Should give at most 100 entries when no limit is asked for', () => {
    for (let i = 0; i < 101; i++) cache.put(entry(`user-${String(i).padStart(3, '0')}`));
    const { total, entries } = cache.list();
    expect(total).toBe(101);
    expect(entries).toHaveLength(100);
    expect(entries.at(-1)!.externalId).toBe('user-099');
  });
});

describe('evict and clear', () => {
  it('Should evict the named entries and report only those that were cached', () => {
    cache.put(entry('ada.l'));
    cache.put(notFound('kid@school.test'));
    cache.put(notFound('twin'));
    expect(cache.evict(['kid@school.test', 'never-seen', 'ada.l']).sort()).toEqual(['ada.l', 'kid@school.test']);
    expect(cache.evict(['ada.l'])).toEqual([]);
    expect(cache.evict([])).toEqual([]);
    expect(cache.list().entries.map((row) => row.externalId)).toEqual(['twin']);
  });

  it('Should clear one outcome or every entry, and say how many went', () => {
    cache.put(entry('ada.l'));
    cache.put(notFound('kid@school.test'));
    cache.put(entry('twin', { platformId: null, outcome: 'ambiguous' }));
    expect(cache.clear('ambiguous')).toBe(1);
    expect(cache.clear('ambiguous')).toBe(0);
    expect(cache.size()).toBe(2);
    expect(cache.clear()).toBe(2);
    expect(cache.size()).toBe(0);
  });
});

describe('an eviction against a lookup in flight', () => {
  it('Should refuse an answer from a lookup begun before an evict or a clear, made on any connection', () => {
    const begun = cache.generation();
    // Nothing cached yet: the first lookup of a student can be in flight too.
    expect(cache.evict(['ada.l'])).toEqual([]);
    expect(cache.putUnlessEvicted(entry('ada.l'), begun)).toBe(false);
    expect(cache.get('ada.l')).toBeUndefined();

    const next = cache.generation();
    const other = openStore(db.file);
    try {
      expect(createRosterCache(other).clear('ambiguous')).toBe(0);
    } finally {
      other.close();
    }
    expect(cache.putUnlessEvicted(notFound('ada.l'), next)).toBe(false);
    expect(cache.get('ada.l')).toBeUndefined();
  });

  it('Should take an answer from a lookup begun after the last eviction, replacing the entry', () => {
    cache.put(notFound('ada.l', NOW - HOUR));
    cache.evict(['kid@school.test']);
    const found = entry('ada.l');
    expect(cache.putUnlessEvicted(found, cache.generation())).toBe(true);
    expect(cache.get('ada.l')).toEqual(found);
  });
});

describe('query plans', () => {
  /** Every statement the cache prepares while `run` runs, with the plan SQLite chose for it. */
  function plans(run: (cache: RosterCache) => void): Array<{ sql: string; plan: string }> {
    const { sqlite } = db.store;
    const prepare = sqlite.prepare.bind(sqlite);
    const seen: string[] = [];
    sqlite.prepare = ((sql: string) => {
      seen.push(sql);
      return prepare(sql);
    }) as typeof sqlite.prepare;
    try {
      run(createRosterCache(db.store));
    } finally {
      sqlite.prepare = prepare;
    }
    const binding = entry('x');
    return seen.map((sql) => {
      const explain = prepare(`EXPLAIN QUERY PLAN ${sql}`);
      const params = sql.includes('@externalId') ? [binding] : Array.from(sql.matchAll(/\?/g), () => 'x');
      const steps = explain.all(...params) as Array<{ detail: string }>;
      return { sql, plan: steps.map((step) => step.detail).join(' | ') };
    });
  }

  it('Should read one user by the primary key, on the hot path and when evicting', () => {
    const statements = plans((fresh) => {
      fresh.get('ada.l');
      fresh.evict(['ada.l', 'twin']);
    });
    const lookups = statements.filter(({ sql }) => /WHERE external_id = \?|"external_id" in/i.test(sql));
    expect(lookups).toHaveLength(2);
    for (const { plan } of lookups) {
      expect(plan).toMatch(/SEARCH roster_cache USING (COVERING )?INDEX sqlite_autoindex_roster_cache_1 \(external_id=\?\)/);
      expect(plan).not.toMatch(/SCAN roster_cache/);
    }
  });
});
