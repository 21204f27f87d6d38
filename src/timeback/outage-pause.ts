/**
 * The shared pause (a circuit breaker) that makes all delivery workers back off together
 * when TimeBack as a whole is unavailable, instead of every pending event retrying on its
 * own schedule and hammering a service that is down. The roster client keeps one of its own
 * for lookups (roster-gate.ts), so it lives beside the other parts both share.
 *
 * closed → (N consecutive retryable failures, a Retry-After, or no token) → open
 * open → (wait: exponential, equal jitter, capped) → half-open
 * half-open → one probe; it succeeds → closed; it fails → open again, waiting longer.
 * Only the probe's failure re-opens it: requests sent before it opened still come back while
 * the probe is out, and tell nothing new but a Retry-After (recordFailure). Nor do they count
 * towards the next pause when they come back after it closed (a POST hangs up to its timeout).
 *
 * Per-event backoff still applies underneath: the pause decides *whether* to send, each
 * event's next_attempt_at decides *which* event is due.
 */
import { equalJitterDelay, type BackoffPolicy } from '../deliver/backoff.ts';

export type PauseState = 'closed' | 'open' | 'half-open';

/**
 * `timeback`: the events endpoint keeps failing or asked us to wait;
 * `token`: no token could be had for now (an outage of the token endpoint);
 * `credentials`: the token endpoint refused our client id/secret.
 */
export type PauseCause = 'timeback' | 'token' | 'credentials';

export interface PauseOptions {
  policy: BackoffPolicy;
  /** Consecutive retryable failures that open the pause. */
  threshold: number;
  random: () => number;
  now: () => number;
}

/**
 * What `dispatching` hands each dispatch, to be given back with its answer: requests sent
 * before a pause opened can still be coming back while its probe is out (a hanging one takes
 * up to its timeout, the first pause lasts 0.5–1 s), or after it closed, and only the probe's
 * own answer may let the next probe go.
 */
export interface Dispatched {
  readonly probe: boolean;
  /** How many pauses had closed when it was sent: from before the last close, its failure is old news. */
  readonly period: number;
}

export class OutagePause {
  state: PauseState = 'closed';
  cause: PauseCause | undefined;
  /** While open: when the next probe may go. */
  until = 0;
  /** When the current pause began (for /readyz and logs). */
  since: number | undefined;
  /** The failure that opened or last extended the pause, in words. */
  problem: string | undefined;
  /** The probe in flight (half-open allows exactly one), as `dispatching` handed it out. */
  private probe: Dispatched | undefined;

  private consecutiveFailures = 0;
  private opens = 0;
  /** Pauses closed so far: the period a dispatch's ticket names. */
  private period = 0;
  /** Every dispatch of this period that is not a probe: one shared ticket, as delivery asks for one per event. */
  private notProbe: Dispatched = Object.freeze({ probe: false, period: 0 });

  constructor(private readonly options: PauseOptions) {}

  /** A probe is in flight. */
  get probing(): boolean {
    return this.probe !== undefined;
  }

  /** Whether a new POST may start now; moves open → half-open once the wait is over. */
  canDispatch(): boolean {
    if (this.state === 'open' && this.options.now() >= this.until) this.state = 'half-open';
    if (this.state === 'closed') return true;
    return this.state === 'half-open' && !this.probing;
  }

  /** Marks the next dispatch as the probe, when half-open. */
  dispatching(): Dispatched {
    if (this.state !== 'half-open') return this.notProbe;
    const sent: Dispatched = { probe: true, period: this.period };
    this.probe = sent;
    return sent;
  }

  /** Whether `sent` was the probe in flight, which its answer ends. */
  private endsProbe(sent: Dispatched): boolean {
    const ends = sent === this.probe;
    if (ends) this.probe = undefined;
    return ends;
  }

  /**
   * TimeBack answered in a way that proves it is up (any 2xx, 409, or a 4xx about the
   * event itself). Returns true when this ends a pause.
   */
  recordAnswer(sent: Dispatched): boolean {
    this.consecutiveFailures = 0;
    this.endsProbe(sent);
    if (this.state === 'closed') return false;
    this.close();
    return true;
  }

  /** A token was obtained; ends a pause that only waited for one. */
  recordToken(): boolean {
    if (this.state === 'closed' || this.cause === 'timeback') return false;
    this.close();
    return true;
  }

  /**
   * A retryable failure (5xx, 429, timeout, network, a second 401). Returns true when this
   * opened (or re-opened) the pause. A Retry-After pauses everyone at once, for as long as it
   * says even past the backoff cap: it is TimeBack telling this client, not this event, to
   * wait, and a probe sent earlier would only be refused (parseRetryAfter bounds it at an hour).
   *
   * Once the pause is open, only its probe's failure is news about TimeBack: every other
   * dispatch was sent before the pause opened (a hanging one comes back up to its timeout
   * later, well into the half-open turn), so its failure neither re-opens the pause nor adds a
   * step, and only a Retry-After among them holds the pause (the probe, still out, keeps its
   * turn). Nor is it counted: the count only decides when a closed pause opens, and closing
   * starts it again from 0.
   *
   * Once the pause has closed, the failure of a dispatch sent before (in an earlier period)
   * is old news too: the probe has since had an answer, and requests hung since before the
   * pause time out up to their timeout (DELIVERY_TIMEOUT, ROSTER_TIMEOUT) after it, which would
   * open a pause right after recovery.
   * A Retry-After among them still opens the pause that long: it is an answer TimeBack made
   * now, telling this client to wait, whenever the request was sent.
   */
  recordFailure(problem: string, retryAfterMs: number | undefined, sent: Dispatched): boolean {
    const waitAsked = retryAfterMs !== undefined && retryAfterMs > 0 ? retryAfterMs : 0;
    if (this.state === 'closed') {
      if (sent.period !== this.period && waitAsked === 0) return false;
      this.consecutiveFailures += 1;
      if (waitAsked === 0 && this.consecutiveFailures < this.options.threshold) return false;
      this.open('timeback', problem, waitAsked);
      return true;
    }
    const wasProbe = this.endsProbe(sent);
    // The probe failing while a Retry-After holds the pause (open) adds no step either: the
    // next probe goes when that wait is over.
    if (wasProbe && this.state === 'half-open') {
      this.open('timeback', problem, waitAsked);
      return true;
    }
    if (waitAsked > 0) this.hold('timeback', problem, waitAsked);
    return false;
  }

  /** No token: nothing can be sent until one can be had (not before `retryAfterMs`, if the token endpoint said). */
  recordTokenFailure(problem: string, retryable: boolean, retryAfterMs?: number): boolean {
    this.probe = undefined;
    const cause: PauseCause = retryable ? 'token' : 'credentials';
    if (this.state === 'open') {
      if (this.cause === cause) return false;
      this.hold(cause, problem, retryAfterMs ?? 0);
    } else {
      this.open(cause, problem, retryAfterMs ?? 0);
    }
    return true;
  }

  /** `sent` ended without an answer (cut by a stop, nothing sent, or nothing reached TimeBack): if it was the probe, another may go. */
  probeAbandoned(sent: Dispatched): void {
    this.endsProbe(sent);
  }

  /**
   * Opens the pause (a new one, or again on its probe's failure), one backoff step longer than
   * the last time. Nothing else is a step: counted per failure, the 16 answers of one burst of
   * 429s paused delivery for 225 s (what else asks for a wait goes to `hold`).
   */
  private open(cause: PauseCause, problem: string, minimumWaitMs = 0): void {
    const now = this.options.now();
    this.opens += 1;
    this.until = now + Math.max(minimumWaitMs, equalJitterDelay(this.opens, this.options.policy, this.options.random));
    this.state = 'open';
    this.cause = cause;
    this.problem = problem;
    this.since ??= now;
  }

  /**
   * Holds an open or half-open pause at least `waitMs` from now, without a step: TimeBack
   * asked this client to wait. A probe still out keeps its turn, and a shorter wait never
   * shortens the pause.
   */
  private hold(cause: PauseCause, problem: string, waitMs: number): void {
    this.until = Math.max(this.until, this.options.now() + waitMs);
    this.state = 'open';
    this.cause = cause;
    this.problem = problem;
  }

  private close(): void {
    this.state = 'closed';
    // Dispatches sent from now on are of a new period; those still out are not (recordFailure).
    this.period += 1;
    this.notProbe = Object.freeze({ probe: false, period: this.period });
    // A probe still out is of a pause that is over: its answer must not end a later one's probe.
    this.probe = undefined;
    this.cause = undefined;
    this.problem = undefined;
    this.since = undefined;
    this.opens = 0;
    this.consecutiveFailures = 0;
  }
}
