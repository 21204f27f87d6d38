/**
 * Log lines about single events, bounded. When TimeBack refuses every event (a rule change it
 * does not accept) or a long outage ends in `max-age`, a line per event would be thousands a
 * second and bury the one line that says why. The first event of each kind in a window is
 * logged in full, so the admin sees an example; the rest are counted, and one line at the end
 * of the window gives the counts by kind.
 */
import type { Logger } from './log.ts';

export interface LogTally {
  /** Logs `fields` with `msg` if no event of `kind` was logged in this window; counts it otherwise. */
  note(kind: string, fields: Record<string, unknown>, msg: string): void;
  /** Logs the counts held back so far and starts a new window (at shutdown). */
  flush(): void;
}

export interface LogTallyOptions {
  /** The summary line's message. */
  summary: string;
  windowMs?: number;
}

export const DEFAULT_TALLY_WINDOW_MS = 60_000;

export function createLogTally(log: Logger, { summary, windowMs = DEFAULT_TALLY_WINDOW_MS }: LogTallyOptions): LogTally {
  /** Kinds logged in this window, and how many of each were counted instead. */
  const seen = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;

  function flush(): void {
    clearTimeout(timer);
    timer = undefined;
    const held = Object.fromEntries([...seen].filter(([, count]) => count > 0));
    seen.clear();
    const total = Object.values(held).reduce((sum, count) => sum + count, 0);
    if (total > 0) log.warn({ count: total, byKind: held, windowSeconds: Math.round(windowMs / 1000) }, summary);
  }

  return {
    note(kind, fields, msg) {
      const count = seen.get(kind);
      if (count === undefined) {
        seen.set(kind, 0);
        log.warn(fields, msg);
      } else {
        seen.set(kind, count + 1);
      }
      if (timer === undefined) {
        timer = setTimeout(flush, windowMs);
        timer.unref();
      }
    },
    flush,
  };
}
