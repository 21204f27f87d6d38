/**
 * The production IdentityResolver: Learn externalId → TimeBack platform id.
 *
 *   overrides file → fresh cache entry → one roster lookup per student at a time → cache
 *
 * Concurrent resolves of one student share a single lookup, so a 5,000-event envelope
 * from one class costs one lookup per student, not per event. Outages are `unavailable`
 * (the event waits and is retried), never `not-found` (which would skip it).
 *
 * An eviction (roster-cache.ts) wins over a lookup in flight: the lookup's answer still goes
 * to the events that asked before the eviction, but it is not cached, and a resolve after the
 * eviction does not share it; it makes a lookup of its own.
 */
import { missingCredentials, type Config, type RosterStrategy } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Store } from '../store/database.ts';
import type { StoreWriter } from '../store/writer.ts';
import type { TokenProvider } from '../timeback/token-provider.ts';
import { checkExternalId, type IdentityAnswer, type IdentityResolver } from './identity-resolver.ts';
import type { RosterAnswer } from './roster-answer-write.ts';
import { createRosterCache, expiresAt, type RosterCache, type RosterCacheEntry } from './roster-cache.ts';
import { createRosterClient, type RosterClient } from './roster-client.ts';
import type { RosterStatus } from './roster-gate.ts';
import { createSharedLookups } from './shared-lookups.ts';
import { createUserOverrides, type UserOverrides } from './user-overrides.ts';
import { errorMessage } from '../errors.ts';

export interface IdentityResolverDeps {
  config: Config;
  store: Store;
  log: Logger;
  metrics: Metrics;
  tokens: TokenProvider;
  /** Milliseconds since the epoch; injected so tests control cache expiry. */
  now?: () => number;
  /** Reread the overrides file when it changes (default true; one-shot commands turn it off). */
  watchOverrides?: boolean;
  /**
   * Commits the answers lookups learn: the service's writer thread, so the event loop never
   * waits for the write lock (default: the cache on `store`'s connection, as the CLI does).
   */
  writer?: Pick<StoreWriter, 'recordRosterAnswer'>;
}

export interface CachedRosterResolver extends IdentityResolver {
  readonly cache: RosterCache;
  readonly overrides: UserOverrides;
  waitingFor(): string | undefined;
  /** Reasons lookups cannot work that an operator must fix (for /readyz); empty when fine. */
  problems(): string[];
  /** Whether roster lookups go out or wait for the roster (for /readyz). */
  rosterStatus(): RosterStatus;
  /** Stops watching the overrides file and closes the roster connections. */
  close(): Promise<void>;
}

export function createIdentityResolver({
  config,
  store,
  log,
  metrics,
  tokens,
  now = Date.now,
  watchOverrides = true,
  writer,
}: IdentityResolverDeps): CachedRosterResolver {
  const overrides = createUserOverrides({ file: config.overridesFile, log, watch: watchOverrides });
  const cache = createRosterCache(store, now);
  const roster: RosterClient = createRosterClient({ config, tokens, log, metrics, now });
  const lookups = createSharedLookups<Sourced>();
  const strategies = config.roster.match;
  const notFoundDetail = `no TimeBack user has this ${listWithOr(strategies)}`;
  const waitingForCredentials = `roster lookups wait for ${missingCredentials(config.timeback).join(', ') || 'TimeBack credentials'}`;

  metrics.onScrape(() => {
    metrics.rosterCacheSize.set(cache.size());
  });

  const recordAnswer = writer
    ? (answer: RosterAnswer) => writer.recordRosterAnswer(answer)
    : async ({ entry, generation }: RosterAnswer) => cache.putUnlessEvicted(entry, generation);

  /**
   * Caches a lookup's answer. The lookup waits for the commit (it has waited for the roster
   * already), so a resolve after it finds the answer cached instead of asking again; a failed
   * write is only logged.
   */
  async function remember(entry: Omit<RosterCacheEntry, 'learnedAt'>, generation: number): Promise<void> {
    try {
      if (!(await recordAnswer({ entry: { ...entry, learnedAt: now() }, generation }))) {
        log.debug('the roster cache was evicted while this lookup was in flight; its answer is not cached');
      }
    } catch (err) {
      // The answer is still right; only the next resolve pays for another lookup.
      log.error({ err }, 'could not write the roster cache');
    }
  }

  /** During an outage a student we knew keeps flowing under the id we last learned. */
  function staleOr(stale: RosterCacheEntry | undefined, answer: IdentityAnswer): Sourced {
    if (stale?.outcome === 'found' && stale.platformId) {
      log.debug({ reason: answer.status === 'unavailable' ? answer.detail : undefined }, 'roster unavailable; using an expired cache entry');
      return { answer: { status: 'found', platformId: stale.platformId }, source: 'cache' };
    }
    return { answer, source: 'none' };
  }

  /** Counts one resolve by where its answer came from (see the metrics' help). */
  function counted({ answer, source }: Sourced): IdentityAnswer {
    if (source === 'cache') metrics.rosterCacheHits.inc();
    else if (source === 'roster') metrics.rosterCacheMisses.inc();
    else metrics.rosterUnanswered.inc();
    return answer;
  }

  async function lookUp(externalId: string, stale: RosterCacheEntry | undefined, generation: number): Promise<Sourced> {
    if (!tokens.configured) return staleOr(stale, { status: 'unavailable', detail: waitingForCredentials, held: true, untilConfigured: true });
    const notes: string[] = [];
    for (const strategy of strategies) {
      const result = await roster.lookup(strategy, externalId);
      switch (result.outcome) {
        case 'found':
          await remember({ externalId, platformId: result.platformId, outcome: 'found', strategy, detail: null }, generation);
          return fromRoster({ status: 'found', platformId: result.platformId });
        case 'ambiguous': {
          const detail = `${result.count} TimeBack users have this ${strategy}; pin the right one in user-overrides.yaml`;
          // No ids in the log: `roster-cache list --outcome ambiguous` shows who, to an admin.
          log.warn({ strategy, matches: result.count }, 'several TimeBack users match one Learn user; not crediting any');
          await remember({ externalId, platformId: null, outcome: 'ambiguous', strategy, detail }, generation);
          return fromRoster({ status: 'not-found', detail: `ambiguous: ${detail}` });
        }
        case 'unavailable': {
          const answer: IdentityAnswer = { status: 'unavailable', detail: result.detail, retryAfterMs: result.retryAfterMs };
          if (result.held) answer.held = true;
          return staleOr(stale, answer);
        }
        case 'not-found':
          if (result.detail) notes.push(`${strategy}: ${result.detail}`);
          continue;
      }
    }
    const detail = notes.length > 0 ? `${notFoundDetail} (${notes.join('; ')})` : notFoundDetail;
    await remember({ externalId, platformId: null, outcome: 'not-found', strategy: null, detail }, generation);
    return fromRoster({ status: 'not-found', detail });
  }

  async function lookUpSafely(externalId: string, stale: RosterCacheEntry | undefined, generation: number): Promise<Sourced> {
    try {
      return await lookUp(externalId, stale, generation);
    } catch (err) {
      // A bug here must leave the event waiting, not skipped or crashed.
      log.error({ err }, 'roster lookup failed unexpectedly');
      return { answer: { status: 'unavailable', detail: `roster lookup failed: ${errorMessage(err)}` }, source: 'none' };
    }
  }

  return {
    cache,
    overrides,

    waitingFor: () => (tokens.configured ? undefined : waitingForCredentials),

    rosterStatus: () => roster.status(),

    problems() {
      const problem = roster.problem();
      return problem === undefined ? [] : [`TimeBack's roster will not answer: ${problem}; events wait until it does`];
    },

    async resolve(rawExternalId) {
      const checked = checkExternalId(rawExternalId);
      if (!checked.ok) return checked.answer;
      const { externalId } = checked;

      const pinned = overrides.get(externalId);
      if (pinned) return { status: 'found', platformId: pinned };

      const cached = cache.get(externalId);
      if (cached && now() < expiresAt(cached, config.roster)) {
        metrics.rosterCacheHits.inc();
        return cached.outcome === 'found' && cached.platformId
          ? { status: 'found', platformId: cached.platformId }
          : { status: 'not-found', detail: cached.outcome === 'ambiguous' ? `ambiguous: ${cached.detail}` : (cached.detail ?? notFoundDetail) };
      }

      // Everything above ran without awaiting, so every concurrent caller for this student
      // reaches this line before the first lookup answers, and joins it, unless an eviction
      // (from this process or another) came since that lookup began: its answer may be what
      // the admin just fixed.
      const generation = cache.generation();
      // Each resolve is counted, not each lookup (roster_lookups_total counts those).
      return counted(await lookups.join(externalId, generation, () => lookUpSafely(externalId, cached, generation)));
    },

    async close() {
      overrides.close();
      await roster.close();
    },
  };
}

/** A lookup's answer and where it came from: the roster, an expired cache entry, or nowhere (the event waits). */
interface Sourced {
  answer: IdentityAnswer;
  source: 'roster' | 'cache' | 'none';
}

const fromRoster = (answer: IdentityAnswer): Sourced => ({ answer, source: 'roster' });

function listWithOr(items: readonly RosterStrategy[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}
