import { describe, expect, it } from 'vitest';
import { requestSignal } from '../../src/timeback/request-signal.ts';

/** Stops the gateway: how many of `signals` that aborts. */
function requestsCutBy(stopping: AbortController, signals: readonly AbortSignal[]): number {
  stopping.abort(new Error('stopping'));
  return signals.filter((signal) => signal.aborted).length;
}

describe('requestSignal', () => {
  it('is aborted when the gateway stops, with the stop as its reason', () => {
    const stopping = new AbortController();
    const cut = requestSignal(stopping.signal, 60_000);
    expect(cut.signal.aborted).toBe(false);
    const reason = new Error('stopping');
    stopping.abort(reason);
    expect(cut.signal.aborted).toBe(true);
    expect(cut.signal.reason).toBe(reason);
  });

  it('is aborted at once when the gateway has already stopped', () => {
    const stopping = new AbortController();
    stopping.abort();
    expect(requestSignal(stopping.signal, 60_000).signal.aborted).toBe(true);
  });

  it('is aborted by its timeout', async () => {
    const cut = requestSignal(new AbortController().signal, 5);
    await new Promise((resolve) => cut.signal.addEventListener('abort', resolve, { once: true }));
    expect((cut.signal.reason as Error).name).toBe('TimeoutError');
  });

  // What keeps a long-running gateway's memory flat: a finished request leaves nothing behind
  // in the signal that lives as long as the process.
  it('leaves nothing in the stopping signal once done', () => {
    const stopping = new AbortController();
    const finished = Array.from({ length: 3 }, () => requestSignal(stopping.signal, 60_000));
    for (const cut of finished) cut.done();
    const open = requestSignal(stopping.signal, 60_000);
    expect(requestsCutBy(stopping, [...finished.map((cut) => cut.signal), open.signal])).toBe(1);
    expect(open.signal.aborted).toBe(true);
  });
});
