/**
 * How a long-running command (`serve`, `npm run emulator`) takes SIGTERM and SIGINT: the first
 * starts its stop; a repeat sooner than REPEATED_SIGNAL_MS after it is the same stop; a later one
 * exits at once (130), for an admin who will not wait.
 */

/**
 * A repeat of the stopping signal sooner than this is the same stop, not "now": Ctrl-C on an
 * `npm start` or `npm run` reaches the process more than once, from the terminal (the whole
 * foreground group) and again from npm (and tsx), which pass their own copy on to their child.
 */
export const REPEATED_SIGNAL_MS = 1_000;

export interface StopSignalOptions {
  /** Where the signals are listened for (tests pass their own). */
  on?: (signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void) => void;
  exit?: (code: number) => void;
  now?: () => number;
}

/** Calls `stop` on the first SIGTERM or SIGINT, and only then. Listens for good: a repeat is never Node's default (death). */
export function onStopSignals(
  stop: (signal: NodeJS.Signals) => void,
  { on = (signal, listener) => void process.on(signal, listener), exit = (code) => process.exit(code), now = Date.now }: StopSignalOptions = {},
): void {
  let stoppingSince: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppingSince === undefined) {
      stoppingSince = now();
      stop(signal);
      return;
    }
    if (now() - stoppingSince < REPEATED_SIGNAL_MS) return;
    exit(130);
  };
  on('SIGTERM', onSignal);
  on('SIGINT', onSignal);
}
