/**
 * What delivery knows about TimeBack as a whole, beyond any one event: whether a token can
 * be had, whether the shared pause (outage-pause.ts) holds every POST back, and the last
 * answer that said the set-up is wrong (for /readyz). Owns the timer that ends a pause; the
 * worker is called back to send again. The pause changes state only through here, so the
 * `delivery_paused` gauge is set here, as it opens and closes, and costs nothing per event.
 */
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { OutagePause, type Dispatched } from '../timeback/outage-pause.ts';
import { TokenError, type TokenProvider } from '../timeback/token-provider.ts';
import type { BackoffPolicy } from './backoff.ts';

export type TokenStatus = 'unknown' | 'ok' | 'unavailable' | 'rejected';

export interface TimebackHealthOptions {
  tokens: TokenProvider;
  log: Logger;
  metrics: Pick<Metrics, 'deliveryPaused'>;
  now: () => number;
  random: () => number;
  backoff: BackoffPolicy;
  /** Consecutive retryable failures that pause all delivery. */
  pauseThreshold: number;
  /** Takes due events into free slots now. */
  pump(): void;
  /** Takes due events into free slots on the next turn of the event loop. */
  schedulePump(): void;
  /** Looks for newly due events, then pumps. */
  wake(): void;
}

export interface TimebackHealth {
  readonly pause: OutagePause;
  /**
   * The last token answer; `problem` says why none could be had, or, with `ok`, what the token
   * lacks (TokenProvider.scopeProblem), read afresh as a refresh elsewhere may have replaced it.
   */
  readonly token: { readonly status: TokenStatus; readonly problem?: string };
  /** What the token lacks for events, when its answer said (TokenProvider.scopeProblem). */
  scopeProblem(): string | undefined;
  /** The last answer that said the set-up is wrong (see isSetupAnswer), until TimeBack answers about an event. */
  readonly setupProblem: string | undefined;
  /** Asks for a token; undefined when none can be had (the pause says why). */
  obtainToken(): Promise<string | undefined>;
  /** TimeBack answered about an event: it is up, and the set-up is right. `sent`: as the pause handed out the POST's dispatch. */
  noteAnswer(sent: Dispatched): void;
  /** An answer every event would get until an admin changes the set-up. */
  noteSetupProblem(problem: string): void;
  /** A round failed for now: counts towards the pause (`retryAfterMs` opens it at once). */
  noteFailure(problem: string, retryAfterMs: number | undefined, finishedAt: number, sent: Dispatched): void;
  /** While the pause is open, wakes the worker when the next probe may go. */
  armPauseTimer(): void;
  /** The worker runs: the pause timer may be armed. */
  start(): void;
  /** The worker stops: no pause timer fires any more. */
  stop(): void;
}

export function createTimebackHealth(options: TimebackHealthOptions): TimebackHealth {
  const { tokens, log, metrics, now } = options;
  const pause = new OutagePause({ policy: options.backoff, threshold: options.pauseThreshold, random: options.random, now });
  let armed = false;
  let pauseTimer: NodeJS.Timeout | undefined;
  let token: { status: TokenStatus; problem?: string } = { status: 'unknown' };
  let setupProblem: string | undefined;

  async function obtainToken(): Promise<string | undefined> {
    try {
      const value = await tokens.getToken();
      noteTokenOk();
      return value;
    } catch (err) {
      // Cut by shutdown: TimeBack has not failed, and there is nothing to pause.
      if (!(err instanceof TokenError && err.stopped)) noteTokenFailure(err);
      return undefined;
    }
  }

  function noteTokenOk(): void {
    token = { status: 'ok' };
    if (pause.recordToken()) {
      metrics.deliveryPaused.set(0);
      log.info('TimeBack token obtained again; delivery resumes');
      options.schedulePump();
    }
  }

  function noteTokenFailure(err: unknown): void {
    const retryable = err instanceof TokenError ? err.retryable : true;
    const retryAfterMs = err instanceof TokenError ? err.retryAfterMs : undefined;
    const problem = errorMessage(err);
    token = { status: retryable ? 'unavailable' : 'rejected', problem };
    if (pause.recordTokenFailure(problem, retryable, retryAfterMs)) {
      metrics.deliveryPaused.set(1);
      const wait = { pausedForMs: pause.until - now(), problem };
      if (retryable) log.warn(wait, 'no TimeBack token for now; delivery paused');
      else log.error(wait, 'TimeBack will not issue a token; delivery paused (the problem says what to check)');
    }
    armPauseTimer();
  }

  function armPauseTimer(): void {
    if (!armed || pause.state !== 'open') return;
    clearTimeout(pauseTimer);
    pauseTimer = setTimeout(pauseOver, Math.max(0, pause.until - now()));
    pauseTimer.unref();
  }

  function pauseOver(): void {
    pauseTimer = undefined;
    if (pause.state === 'open' && now() < pause.until) return armPauseTimer();
    if (pause.state !== 'closed' && pause.cause !== 'timeback') {
      // Waiting only for a token: ask for one directly, due events or not.
      void obtainToken().then(() => options.pump());
      return;
    }
    options.wake();
  }

  return {
    pause,
    get token() {
      if (token.status !== 'ok') return token;
      const problem = tokens.scopeProblem();
      return problem === undefined ? token : { status: 'ok' as const, problem };
    },
    scopeProblem: () => tokens.scopeProblem(),
    get setupProblem() {
      return setupProblem;
    },
    obtainToken,
    noteAnswer(sent) {
      if (pause.recordAnswer(sent)) {
        metrics.deliveryPaused.set(0);
        log.info('TimeBack answers again; delivery resumes');
      }
      setupProblem = undefined;
    },
    noteSetupProblem(problem) {
      setupProblem = problem;
    },
    noteFailure(problem, retryAfterMs, finishedAt, sent) {
      if (pause.recordFailure(problem, retryAfterMs, sent)) {
        metrics.deliveryPaused.set(1);
        log.warn({ problem, pausedForMs: pause.until - finishedAt }, 'TimeBack is failing; delivery paused');
        armPauseTimer();
      }
    },
    armPauseTimer,
    start() {
      armed = true;
    },
    stop() {
      armed = false;
      clearTimeout(pauseTimer);
    },
  };
}
