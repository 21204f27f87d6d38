/**
 * The queue as Prometheus sees it, read from the database at scrape time: depth by stage,
 * the oldest waiting event's age, and events by fate. Reading at scrape time (not counting
 * in memory) keeps the numbers right when the CLI replays from another process.
 */
import type { Metrics } from '../metrics.ts';
import type { Store } from '../store/database.ts';
import { countByFate, oldestPendingReceivedAt, pendingByStage } from '../store/event-queries.ts';

export function registerQueueGauges(metrics: Metrics, store: Store, now: () => number = Date.now): void {
  metrics.onScrape(() => {
    for (const [stage, count] of Object.entries(pendingByStage(store))) metrics.queueDepth.set({ stage }, count);
    for (const [fate, count] of Object.entries(countByFate(store))) metrics.eventsByFate.set({ fate }, count);
    const oldest = oldestPendingReceivedAt(store);
    metrics.oldestWaitingAge.set(oldest === undefined ? 0 : Math.max(0, (now() - oldest) / 1000));
  });
}
