/**
 * Every Prometheus metric the gateway exposes, in one registry per gateway instance
 * (tests build many apps in one process; a shared global registry would collide).
 * Gauges that describe the database (queue depth, oldest waiting age, cache size) are
 * filled in at scrape time by the hooks (`onScrape`) of the stage that owns the data.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const PREFIX = 'caliper_gateway_';

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: PREFIX });

  const counter = <L extends string = never>(name: string, help: string, labelNames: L[] = []) =>
    new Counter<L>({ name: PREFIX + name, help, labelNames, registers: [registry] });
  const gauge = <L extends string = never>(name: string, help: string, labelNames: L[] = []) =>
    new Gauge<L>({ name: PREFIX + name, help, labelNames, registers: [registry] });

  const scrapeHooks: Array<() => void | Promise<void>> = [];

  return {
    registry,

    /** Registers a function that refreshes gauges from their source just before a scrape. */
    onScrape(hook: () => void | Promise<void>) {
      scrapeHooks.push(hook);
    },

    /** The Prometheus text exposition, with every gauge refreshed first. */
    async render(): Promise<string> {
      for (const hook of scrapeHooks) await hook();
      return registry.metrics();
    },

    httpRequests: counter('http_requests_total', 'HTTP requests answered, by route and status.', ['route', 'status']),
    authRefusals: counter('auth_refusals_total', 'Requests answered 429 for too many wrong keys from their address, by realm (ingest, admin).', ['realm']),

    // ingest → store
    envelopesReceived: counter('envelopes_received_total', 'Caliper envelopes accepted (2xx).'),
    eventsReceived: counter('events_received_total', 'Events seen in accepted envelopes, duplicates included.'),
    eventsStored: counter('events_stored_total', 'Events durably stored and queued (new and well-formed; rejected and duplicates are counted apart).'),
    eventsDuplicate: counter('events_duplicate_total', 'Events already stored under the same sensor, id and eventTime.'),
    intakeBytesHeld: gauge('intake_bytes_in_flight', 'Request bytes POST /caliper holds now (read, parsed or being committed); MAX_BYTES_IN_FLIGHT bounds them.'),
    intakeWaiting: gauge('intake_requests_waiting', 'POST /caliper requests waiting, unread, for room under MAX_BYTES_IN_FLIGHT.'),
    intakeBusy: counter('intake_busy_total', 'POST /caliper requests answered 503 busy after waiting too long for room.'),

    // resolve identity → map
    eventsTranslated: counter('events_translated_total', 'Events translated into a Caliper 1.2 event.', ['rule']),
    eventsSkipped: counter('events_skipped_total', 'Events skipped, by reason.', ['reason']),
    eventsRejected: counter('events_rejected_total', 'Events rejected, by reason.', ['reason']),
    mappingReloads: counter('mapping_reloads_total', 'Mapping rule reloads, by result.', ['result']),
    mappingRulesActive: gauge('mapping_rules_active', 'Mapping rules in use (0 while none has passed: events wait).'),
    mappingChangeRefused: gauge('mapping_change_refused', '1 while a refused rule or fixture change leaves the older rules running: the files on disk are not what runs.'),

    rosterCacheHits: counter('roster_cache_hits_total', 'Identity answers served from the cache (an expired entry kept in use while the roster is down included).'),
    rosterCacheMisses: counter('roster_cache_misses_total', 'Identity answers the cache did not have (or had expired) and the roster gave.'),
    // Apart from misses: during a roster outage every waiting event asks again at each retry,
    // and counted as misses those retries made an outage look like a cold cache.
    rosterUnanswered: counter('roster_unanswered_total', 'Identity resolves neither the cache nor the roster could answer (roster down or paused, no token, no credentials); the event waits.'),
    rosterLookups: counter('roster_lookups_total', 'Roster API lookups, by strategy and outcome.', ['strategy', 'outcome']),
    rosterFailures: counter('roster_failures_total', 'Roster lookups that failed (unreachable, 5xx, 429); lookups waiting on one failed roster check count once.'),
    rosterCacheSize: gauge('roster_cache_entries', 'Entries in the roster cache.'),
    // Set by roster-gate.ts as its pause opens and closes, not per lookup.
    rosterPaused: gauge('roster_paused', '1 while roster lookups are paused (the roster failing or asking to wait): events of uncached students wait in translate, else 0.'),

    // deliver
    eventsDelivered: counter('events_delivered_total', 'Events TimeBack accepted.'),
    deliveryRetries: counter('delivery_retries_total', 'Delivery attempts that will be retried, by cause.', ['cause']),
    eventsDead: counter('events_dead_total', 'Events delivery gave up on, by reason.', ['reason']),
    deliveryLatency: new Histogram({
      name: `${PREFIX}delivery_duration_seconds`,
      help: 'Time for one POST to TimeBack, by outcome.',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    // Set by timeback-health.ts as the shared pause opens and closes, not per event.
    deliveryPaused: gauge('delivery_paused', '1 while the shared pause holds all delivery back (TimeBack failing or asking to wait, no token, credentials refused), else 0.'),
    tokenRefreshes: counter('token_refreshes_total', 'OAuth tokens obtained from TimeBack, by outcome.', ['outcome']),

    // the queue, measured from the database at scrape time
    queueDepth: gauge('queue_depth', 'Events waiting (fate pending), by next stage.', ['stage']),
    oldestWaitingAge: gauge('oldest_waiting_age_seconds', 'Age of the oldest pending event.'),
    eventsByFate: gauge('events', 'Events in the database, by fate.', ['fate']),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
