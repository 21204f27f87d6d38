/** Polls `check` until it returns a truthy value (returned) or `timeoutMs` passes (throws, naming `what`). */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<NonNullable<T>> {
  const started = Date.now();
  let last: T | undefined;
  for (;;) {
    last = await check();
    if (last) return last as NonNullable<T>;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Resolves once a 5 ms interval has fired 20 times: the event loop is turning. A loop
 * held by a synchronous wait (SQLite's busy handler, say) gets here only after it lets go.
 */
export async function eventLoopTurns(): Promise<void> {
  let ticks = 0;
  const ticker = setInterval(() => (ticks += 1), 5);
  try {
    while (ticks < 20) await new Promise((resolve) => setTimeout(resolve, 10));
  } finally {
    clearInterval(ticker);
  }
}
