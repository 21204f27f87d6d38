/**
 * The timing the two pipeline workers (translate, delivery) share: the one wake-up timer each
 * keeps while it has nothing to do, and the bounded wait for work in flight at shutdown.
 */

export interface WakeTimer {
  /** (Re)arms for the earliest of `at`, the time already armed, and the safety poll. */
  arm(at: number | undefined): void;
  cancel(): void;
}

/**
 * One wake-up timer, never later than the safety poll: rows no one told the worker about
 * (a replay written by another process) are found within `pollIntervalMs`.
 */
export function createWakeTimer(pollIntervalMs: number, now: () => number, onWake: () => void): WakeTimer {
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Number.POSITIVE_INFINITY;

  function fire(): void {
    timer = undefined;
    timerAt = Number.POSITIVE_INFINITY;
    onWake();
  }

  return {
    arm(at) {
      const target = Math.min(at ?? Number.POSITIVE_INFINITY, now() + pollIntervalMs);
      if (timer !== undefined && timerAt <= target) return;
      clearTimeout(timer);
      timerAt = target;
      timer = setTimeout(fire, Math.max(0, target - now()));
      timer.unref();
    },
    cancel() {
      clearTimeout(timer);
      timer = undefined;
      timerAt = Number.POSITIVE_INFINITY;
    },
  };
}

/**
 * Resolves when `work` settles (fulfilled or rejected: the caller only waits, and looks at its own
 * state afterwards) or at `deadline`, whichever comes first. The deadline timer is cleared either
 * way and unref'd, so it never holds the process open on its own.
 */
export async function untilDoneOrDeadline(work: Promise<unknown>, deadline: number): Promise<void> {
  let timeout: NodeJS.Timeout | undefined;
  const deadlinePassed = new Promise<void>((resolve) => {
    // Wall-clock time, like the deadline (server.ts), not the workers' injectable `now`.
    timeout = setTimeout(resolve, Math.max(0, deadline - Date.now()));
    timeout.unref();
  });
  try {
    await Promise.race([work.then(settled, settled), deadlinePassed]);
  }
  finally {
    clearTimeout(timeout);
  }
}

function settled(): void {}
