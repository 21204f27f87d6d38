/**
 * What every roster lookup passes through, and what the client knows about the roster as a
 * whole: a slot (at most as many lookups in flight as connections), then the pause that holds
 * lookups back while the roster fails or asks us to wait, then the record of the answer
 * (metrics, the outage log lines, the set-up problem and the status /readyz shows).
 * roster-client.ts decides what a lookup sends; this decides whether and when it goes.
 */
import type { Config, RosterStrategy } from '../config.ts';
import { DEFAULT_BACKOFF } from '../deliver/backoff.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { OutagePause } from '../timeback/outage-pause.ts';
import type { RosterLookup } from './roster-client.ts';

/** Lookups in a row without an answer that pause all lookups. */
export const OUTAGE_THRESHOLD = 5;

/**
 * `answering`: lookups go out. `failing`: the last lookup got no answer. `paused`: lookups
 * wait until `nextProbe` (the roster failed OUTAGE_THRESHOLD times in a row, or asked us to
 * back off). Events whose student is cached keep flowing either way.
 */
export interface RosterStatus {
  state: 'answering' | 'failing' | 'paused';
  since?: string;
  nextProbe?: string;
  problem?: string;
}

export interface RosterGate {
  /** Sends one lookup with `send` once a slot is free and the pause allows it, and records its answer. */
  run(strategy: RosterStrategy, send: () => Promise<RosterLookup>): Promise<RosterLookup>;
  /** The last answer that said the set-up is wrong, until the roster answers a lookup. */
  problem(): string | undefined;
  status(): RosterStatus;
}

export interface RosterGateDeps {
  config: Config;
  log: Logger;
  metrics: Pick<Metrics, 'rosterLookups' | 'rosterFailures' | 'rosterPaused'>;
  now: () => number;
  /** Lookups in flight at once. */
  size: number;
}

export function createRosterGate({ config, log, metrics, now, size }: RosterGateDeps): RosterGate {
  /**
   * The breaker delivery uses (outage-pause.ts), for the roster: after OUTAGE_THRESHOLD lookups in a row get
   * no answer (5xx, timeouts, refused connections), or once TimeBack asks us to back off
   * (429, Retry-After), no lookup is sent until the pause is over; then one goes out as a
   * probe, and its answer ends the pause or doubles it (up to DELIVERY_BACKOFF_CAP). Without
   * it every translation batch sends one lookup per student into the outage: the drill
   * counted some 50,000 requests to a roster that was down for a minute. It opens and closes
   * only in `dispatch`, which sets the `roster_paused` gauge as it does, not per lookup.
   */
  const pause = new OutagePause({
    policy: { baseMs: DEFAULT_BACKOFF.baseMs, capMs: config.delivery.backoffCapMs },
    threshold: OUTAGE_THRESHOLD,
    random: Math.random,
    now,
  });
  /**
   * Lookups wait here for a connection, and ask the breaker only once they have one. Queued
   * in the pool instead, every lookup of a translation batch was already past the breaker
   * when the first answers came back: a roster that went down met one request per new
   * student of the batch, not OUTAGE_THRESHOLD (npm run drill's minute-long outage: 158-163
   * requests, against 29 now).
   */
  const slots = createSlots(size);
  /** Outages are logged when they start and end, not once per student. */
  let answering = true;
  let lastFailure: string | undefined;
  let setupProblem: string | undefined;

  /** One lookup past the breaker: sent only when the pause allows it, its answer recorded there. */
  async function dispatch(strategy: RosterStrategy, send: () => Promise<RosterLookup>): Promise<RosterLookup> {
    if (!pause.canDispatch()) {
      // Open: come back when the pause ends. Half-open: a probe is out; the event's own backoff decides.
      const waitMs = pause.state === 'open' ? pause.until - now() : undefined;
      return { outcome: 'unavailable', detail: `roster lookups paused: ${pause.problem ?? 'TimeBack roster unavailable'}`, retryAfterMs: waitMs };
    }
    // Handed back with the answer: lookups sent before the pause opened may come back while
    // its probe is out (only the probe's own answer lets the next probe go), or after it
    // closed (their failures then count towards no new pause).
    const sent = pause.dispatching();
    let result: RosterLookup;
    try {
      result = await send();
    } catch (err) {
      // A bug, not an answer: let the next lookup probe instead of leaving the pause stuck.
      pause.probeAbandoned(sent);
      throw err;
    }
    if (result.outcome === 'unavailable' && result.stopped) {
      // Cut by shutdown: the roster has not answered or failed; nothing to count or pause for.
      pause.probeAbandoned(sent);
      return result;
    }
    if (result.outcome === 'unavailable' && result.held) {
      // Nothing reached the roster: it has not failed, and the token provider has logged the
      // refusal. Not a roster request either: counted, every retry of every waiting event made
      // roster_lookups_total climb while the roster was never asked (token_refreshes_total and
      // roster_unanswered_total show this case).
      pause.probeAbandoned(sent);
      return result;
    }
    metrics.rosterLookups.inc({ strategy, outcome: result.outcome });
    if (result.outcome === 'unavailable' && result.shared) {
      // Another lookup sent the request that failed, and records it: counted once, as a lookup
      // that joins another's (shared-lookups.ts) never reaches the gate at all. A probe that
      // joined it failed with it all the same: the pause hears so from the probe, or no probe
      // would ever go again (the other lookup, sent before the pause, re-opens nothing).
      if (sent.probe && pause.recordFailure(result.detail, result.retryAfterMs, sent)) metrics.rosterPaused.set(1);
    } else if (result.outcome === 'unavailable') {
      if (result.setup) setupProblem = result.detail;
      if (pause.recordFailure(result.detail, result.retryAfterMs, sent)) metrics.rosterPaused.set(1);
      metrics.rosterFailures.inc();
      if (answering) log.warn({ problem: result.detail }, 'TimeBack roster unavailable; affected events wait and are retried');
      answering = false;
      lastFailure = result.detail;
    } else {
      if (pause.recordAnswer(sent)) metrics.rosterPaused.set(0);
      if (!answering) log.info('TimeBack roster answers again');
      answering = true;
      setupProblem = undefined;
    }
    return result;
  }

  return {
    async run(strategy, send) {
      await slots.take();
      try {
        return await dispatch(strategy, send);
      } finally {
        slots.give();
      }
    },

    problem: () => setupProblem,

    status() {
      if (pause.state === 'closed') return answering ? { state: 'answering' } : { state: 'failing', ...(lastFailure ? { problem: lastFailure } : {}) };
      return {
        state: 'paused',
        ...(pause.since === undefined ? {} : { since: new Date(pause.since).toISOString() }),
        nextProbe: new Date(pause.until).toISOString(),
        ...(pause.problem === undefined ? {} : { problem: pause.problem }),
      };
    },
  };
}

/** At most `size` holders at once; the others wait, first come first served. */
function createSlots(size: number) {
  let free = size;
  const waiting: Array<() => void> = [];
  return {
    async take(): Promise<void> {
      if (free > 0) {
        free -= 1;
        return;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    },
    give(): void {
      const next = waiting.shift();
      if (next) next();
      else free += 1;
    },
  };
}
