/**
 * The queue as Prometheus sees it, read from the database at scrape time: depth by stage,
 * the oldest waiting event's age, and events by fate. Reading at scrape time (not counting
 * in memory) keeps the numbers right when the CLI replays from another process.
 */
import type { Metrics } from '../metrics.ts';
import type { Store } from '../store/database.ts';
import { countByFate, oldestPendingReceivedAt, pendingByStage } from '../store/event-queries.ts';
import type { Fate } from '../store/schema.ts';

export interface QueueGaugeOptions {
  now?: () => number;
  /**
   * Counts events by fate somewhere other than the event loop (the service passes its
   * checkpoint thread's). When it fails, or is not given, the count runs on `store`.
   */
  countByFate?: () => Promise<Record<Fate, number>>;
}

export function registerQueueGauges(metrics: Metrics, store: Store, options: QueueGaugeOptions = {}): void {
  const now = options.now ?? Date.now;
  const countAway = options.countByFate;
  metrics.onScrape(async () => {
    // The slow count first: while it runs elsewhere, the loop serves requests, and the
    // small reads below then see the database at about the same moment.
    const byFate = countAway ? await countAway().catch(() => countByFate(store)) : countByFate(store);
    for (const [fate, count] of Object.entries(byFate)) metrics.eventsByFate.set({ fate }, count);
    for (const [stage, count] of Object.entries(pendingByStage(store))) metrics.queueDepth.set({ stage }, count);
    const oldest = oldestPendingReceivedAt(store);
    metrics.oldestWaitingAge.set(oldest === undefined ? 0 : Math.max(0, (now() - oldest) / 1000));
  });
}
