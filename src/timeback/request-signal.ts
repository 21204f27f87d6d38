/**
 * The signal for one request to TimeBack that ends at its timeout or when the gateway stops.
 *
 * Not `AbortSignal.any([AbortSignal.timeout(ms), stopping])` on its own: on Node 20 each such
 * call leaves an entry in the long-lived `stopping` signal that is never removed (measured:
 * 200,000 calls kept 10 MB after garbage collection), so a gateway that runs for months would
 * keep one per roster lookup and token request. Here the request has a controller of its own,
 * which `stopping` aborts through a listener that `done` removes.
 */
export interface RequestSignal {
  signal: AbortSignal;
  /** Call once the request and its body are finished (in a `finally`). */
  done(): void;
}

export function requestSignal(stopping: AbortSignal, timeoutMs: number): RequestSignal {
  const request = new AbortController();
  const cut = () => request.abort(stopping.reason);
  if (stopping.aborted) cut();
  else stopping.addEventListener('abort', cut, { once: true });
  return {
    signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), request.signal]),
    done: () => stopping.removeEventListener('abort', cut),
  };
}
