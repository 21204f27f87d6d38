/**
 * The delivery worker's knobs that are not in the environment: fixed defaults, sized from
 * DELIVERY_CONCURRENCY and the backoff cap, which tests shrink to milliseconds.
 */
import type { Config } from '../config.ts';
import { DEFAULT_TALLY_WINDOW_MS } from '../log-tally.ts';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.ts';

export interface DeliveryTuning {
  backoff: BackoffPolicy;
  /** Consecutive retryable failures that pause all delivery. */
  pauseThreshold: number;
  /** Due rows read per query. */
  batchSize: number;
  /** Results per transaction, and how long a result may wait for company. */
  flushEvery: number;
  flushDelayMs: number;
  /** Safety poll for rows no one told us about. */
  pollIntervalMs: number;
  /** How long dead events after the first of their reason are only counted, then logged as counts. */
  deadLogWindowMs: number;
}

export function deliveryTuning(config: Config, overrides: Partial<DeliveryTuning> | undefined): DeliveryTuning {
  return {
    backoff: { baseMs: DEFAULT_BACKOFF.baseMs, capMs: config.delivery.backoffCapMs },
    pauseThreshold: 5,
    batchSize: Math.max(256, config.delivery.concurrency * 16),
    // Results wait up to 25 ms for company (at full rate, 150-200 per transaction). Each
    // transaction rewrites the same few index and table pages whatever its size: at 30 results
    // a commit wrote 3.8 KiB of WAL per result, at 160 only 1.7 (and the checkpoints copy it all
    // again), and the writer thread is woken a fifth as often. Delivery ran 11-16% faster than
    // with 64 and 5 ms. A crash loses at most those 25 ms of results: the events are sent again
    // under the same ids, and TimeBack's 409 for a repeat counts as delivered.
    flushEvery: 512,
    flushDelayMs: 25,
    pollIntervalMs: 2_000,
    deadLogWindowMs: DEFAULT_TALLY_WINDOW_MS,
    ...overrides,
  };
}
