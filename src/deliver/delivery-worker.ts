/**
 * The delivery workers: take due events from the outbox, POST each one to TimeBack, and
 * record what TimeBack answered. `DELIVERY_CONCURRENCY` POSTs in flight over keep-alive
 * connections; results are committed many per transaction (result-batches.ts).
 *
 * Woken by `notify()` (the translate stage just made events deliverable), by a timer for
 * the earliest due retry, and by a slow safety poll (rows replayed or written by another
 * process). When TimeBack is down the shared pause stops all dispatching until one probe
 * gets through, so an outage costs a handful of requests, not a retry storm.
 *
 * This file is the loop (`pump` fills the slots, `attempt` runs one, `recorded` frees the
 * claims) and shutdown (`stop`). The rest, one hop away:
 * - claiming due events and loading their rows: due-queue.ts, on outbox.ts's statements
 * - one event's round (token, POST, one refresh on 401): delivery-round.ts
 * - what an answer means: outcome.ts; what is written for it: delivery-record.ts
 * - recording a round and what it says about TimeBack, the log of dead events: round-recorder.ts
 * - the pause on outages and 429s, the token, the set-up problem: timeback-health.ts
 * - results committed in batches: result-batches.ts
 * - the status report and /readyz problems: delivery-status.ts; the knobs: delivery-tuning.ts
 */
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Store } from '../store/database.ts';
import { createStoreWriter, type StoreWriter } from '../store/writer.ts';
import type { Dispatched } from '../timeback/outage-pause.ts';
import type { TokenProvider } from '../timeback/token-provider.ts';
import { createWakeTimer, untilDoneOrDeadline } from '../worker-timers.ts';
import { MAX_AGE, NO_OUTPUT } from './delivery-record.ts';
import { createDeliveryRound } from './delivery-round.ts';
import { deliveryProblems, describeDelivery, type DeliveryStatus } from './delivery-status.ts';
import { deliveryTuning, type DeliveryTuning } from './delivery-tuning.ts';
import { createDueQueue } from './due-queue.ts';
import { createEventsClient, type EventsClient } from './events-client.ts';
import { createOutbox, type DueEvent } from './outbox.ts';
import { TRANSPORT_FAILURES } from './outcome.ts';
import { createResultBatches, type PendingRecord } from './result-batches.ts';
import { createRoundRecorder } from './round-recorder.ts';
import { createTimebackHealth, type TimebackHealth } from './timeback-health.ts';

export interface DeliveryWorkerDeps {
  config: Config;
  store: Store;
  log: Logger;
  metrics: Metrics;
  tokens: TokenProvider;
  now?: () => number;
  tuning?: Partial<DeliveryTuning>;
  /** Replaces the HTTP client (tests use it for sub-second request timeouts). */
  client?: EventsClient;
  /** Commits the results (default: on `store`'s connection, on the event loop). */
  writer?: StoreWriter;
}

export interface DeliveryWorker {
  readonly name: 'delivery';
  start(): void;
  /** Events just became deliverable: look now instead of at the next poll. */
  notify(): void;
  /**
   * Stops taking rows, lets in-flight POSTs finish until `deadline` (Date.now() time), aborts
   * the rest and any token request they wait for, records results.
   */
  stop(deadline: number): Promise<void>;
  status(): DeliveryStatus;
  /** Reasons delivery cannot work that an operator must fix (for /readyz); empty when fine. */
  problems(): string[];
}

export function createDeliveryWorker(deps: DeliveryWorkerDeps): DeliveryWorker {
  const { config, store, log, metrics, tokens } = deps;
  const now = deps.now ?? Date.now;
  const random = Math.random;
  const tuning = deliveryTuning(config, deps.tuning);
  const concurrency = config.delivery.concurrency;
  const outbox = createOutbox(store, deps.writer ?? createStoreWriter(store));
  const client =
    deps.client ??
    createEventsClient({
      baseUrl: config.timeback.baseUrl,
      connections: concurrency,
      timeoutMs: config.delivery.timeoutMs,
    });
  // The reasons and retry causes not named by an HTTP status exist from the start, at 0, so
  // that increase() sees the first of them (a series that first appears at 1 has no earlier sample).
  metrics.eventsDead.inc({ reason: MAX_AGE }, 0);
  metrics.eventsDead.inc({ reason: NO_OUTPUT }, 0);
  for (const cause of TRANSPORT_FAILURES) metrics.deliveryRetries.inc({ cause }, 0);

  /** Due events read and claimed, so none is sent twice at once, until their results are recorded. */
  const queue = createDueQueue({
    outbox,
    log,
    now,
    batchSize: tuning.batchSize,
    loadBatch: Math.max(16, concurrency * 2),
    unreadable: () => armWake(now() + tuning.pollIntervalMs),
  });
  /** Results on their way to the database; while `results.problem` is set, nothing new is sent. */
  const results = createResultBatches({
    outbox,
    log,
    flushEvery: tuning.flushEvery,
    flushDelayMs: tuning.flushDelayMs,
    rewriteAfterMs: tuning.pollIntervalMs,
    committed: recorded,
    abandoned: (batch) => {
      recorder.abandoned(batch);
      for (const entry of batch) queue.release(entry.seq);
    },
  });

  const health = createTimebackHealth({
    tokens,
    log,
    metrics,
    now,
    random,
    backoff: tuning.backoff,
    pauseThreshold: tuning.pauseThreshold,
    pump,
    schedulePump,
    wake,
  });
  const { pause } = health;
  const recorder = createRoundRecorder({
    log,
    now,
    health,
    results,
    retryRules: { maxAgeMs: config.delivery.maxAgeMs, backoff: tuning.backoff, random },
    deadLogWindowMs: tuning.deadLogWindowMs,
  });
  /**
   * Attempts waiting for a token rather than for a POST's answer (none held yet, or a 401 asked
   * for a new one), so that a shutdown's warning names what it cuts. Counted off the hot path:
   * a round asks health for a token only when none is at hand.
   */
  let waitingForToken = 0;
  const roundHealth: Pick<TimebackHealth, 'obtainToken' | 'pause'> = {
    pause,
    async obtainToken() {
      waitingForToken += 1;
      try {
        return await health.obtainToken();
      } finally {
        waitingForToken -= 1;
      }
    },
  };
  /** Set just before stop() cuts the token request (tokens.abort()). */
  let tokensCut = false;
  const deliver = createDeliveryRound({ tokens, client, metrics, now, health: roundHealth, recorder, queue, putBack, tokensCut: () => tokensCut });
  const wakeTimer = createWakeTimer(tuning.pollIntervalMs, now, wake);

  let running = false;
  let stopping = false;
  let stopped = false;
  let pumpScheduled = false;
  /** Attempts in flight: slots taken, at most `concurrency`. */
  let active = 0;
  /** Waiting for the last attempt in flight to end (shutdown). */
  const whenIdle: Array<() => void> = [];

  function pump(): void {
    if (!running || stopping || !tokens.configured || results.problem !== undefined) return;
    while (active < concurrency && pause.canDispatch()) {
      const event = queue.next();
      if (!event) break;
      // Handed back with the answer: POSTs sent before the pause opened may come back while
      // its probe is out, and only the probe's own answer lets the next probe go.
      const sent = pause.dispatching();
      active += 1;
      void attempt(event, sent);
    }
    if (pause.state === 'open') health.armPauseTimer();
    else if (queue.empty && active < concurrency) {
      armWake(queue.exhausted ? outbox.nextDueAfter(now()) : undefined);
    }
  }

  function schedulePump(): void {
    if (pumpScheduled) return;
    pumpScheduled = true;
    setImmediate(() => {
      pumpScheduled = false;
      pump();
    });
  }

  /**
   * One event in one of the `concurrency` slots: delivered, then the slot goes to the next
   * event. (A try/finally rather than promise callbacks: this runs once per event.)
   */
  async function attempt(event: DueEvent, sent: Dispatched): Promise<void> {
    try {
      await deliver(event, sent);
    } catch (err) {
      // deliver() handles its own failures; reaching here is a bug. Keep the event due.
      log.error({ err, seq: event.seq }, 'delivery attempt failed unexpectedly');
      queue.release(event.seq);
    } finally {
      active -= 1;
      if (active === 0) for (const resolve of whenIdle.splice(0)) resolve();
      pump();
    }
  }

  /** Resolves once no attempt is in flight. */
  const idle = (): Promise<void> => (active === 0 ? Promise.resolve() : new Promise((resolve) => whenIdle.push(resolve)));

  function putBack(event: DueEvent): void {
    if (stopping) queue.release(event.seq);
    else queue.putBack(event);
  }

  /**
   * The batch is committed: its events are released, counted, and their retries timed. Counted
   * only where the row holds the result (`held`), so a fate counts once, when it is in the database.
   */
  function recorded(batch: readonly PendingRecord[], held: readonly boolean[]): void {
    recorder.committed(batch, held);
    let earliestRetry: number | undefined;
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i]!;
      queue.release(entry.seq);
      // The row changed hands while its POST was out: what TimeBack said is not the event's fate.
      if (!held[i]) continue;
      if (entry.fate === 'delivered') metrics.eventsDelivered.inc();
      else if (entry.fate === 'dead') metrics.eventsDead.inc({ reason: entry.reason ?? 'unknown' });
      else {
        metrics.deliveryRetries.inc({ cause: entry.cause ?? 'unknown' });
        if (entry.nextAttemptAt !== null && (earliestRetry === undefined || entry.nextAttemptAt < earliestRetry)) {
          earliestRetry = entry.nextAttemptAt;
        }
      }
    }
    if (earliestRetry !== undefined) armWake(earliestRetry);
    // Not pump() directly: a write that completes at once resolves inside a pump's flush.
    schedulePump();
  }

  /** Something may have become due: look again, then fill the free slots. */
  function wake(): void {
    queue.rescan();
    pump();
  }

  /** (Re)arms the one wake-up timer: the earliest of `at` and the safety poll. */
  function armWake(at: number | undefined): void {
    if (running && !stopping) wakeTimer.arm(at);
  }

  function currentState(): DeliveryStatus['state'] {
    if (stopped) return 'stopped';
    if (stopping) return 'stopping';
    if (!tokens.configured) return 'waiting-for-credentials';
    return pause.state === 'closed' ? 'running' : 'paused';
  }

  return {
    name: 'delivery',

    start() {
      if (running || stopped) return;
      running = true;
      health.start();
      if (!tokens.configured) return;
      // Learn at once whether credentials work, so /readyz can say so before any event arrives.
      void health.obtainToken().then(() => pump());
    },

    notify() {
      queue.rescan();
      schedulePump();
    },

    async stop(deadline) {
      if (stopped) return;
      stopping = true;
      wakeTimer.cancel();
      health.stop();
      results.beginStop();
      queue.releaseWaiting();
      if (active > 0) {
        await untilDoneOrDeadline(idle(), deadline);
        if (active > 0) {
          log.warn({ inFlight: active, waitingForToken }, cutAtDeadline(active - waitingForToken, waitingForToken));
          client.abortAll();
          // A round may be waiting for a token instead (a 401 asks for a new one): that request
          // is cut too, or it would hold the shutdown up to TIMEBACK_TOKEN_TIMEOUT past its
          // deadline. The roster shares the token; translation, which stops first, has given
          // up on its lookups by now.
          tokensCut = true;
          tokens.abort();
          await idle();
        }
      }
      results.flush();
      await results.settled();
      // After the last commit: its dead are logged (or counted) by then.
      recorder.flushDeaths();
      await client.close();
      stopped = true;
      running = false;
    },

    status() {
      return describeDelivery(currentState(), active, health, now);
    },

    problems() {
      return deliveryProblems(health, results.problem);
    },
  };
}

/** The shutdown's warning when it cuts delivery short: what is cut, POSTs or the token request rounds wait for, or both. */
function cutAtDeadline(posting: number, waitingForToken: number): string {
  const cut =
    waitingForToken === 0
      ? 'aborting POSTs in flight'
      : posting === 0
        ? 'cutting the TimeBack token request that deliveries wait for'
        : 'aborting POSTs in flight and the TimeBack token request that other deliveries wait for';
  return `shutdown deadline reached; ${cut} (their events are sent again on the next start)`;
}
