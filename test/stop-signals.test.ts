import { describe, expect, it } from 'vitest';
import { onStopSignals, REPEATED_SIGNAL_MS } from '../src/stop-signals.ts';

/** onStopSignals on signals sent by hand, at moments the test sets. */
function listening() {
  const listeners = new Map<NodeJS.Signals, (signal: NodeJS.Signals) => void>();
  const stops: NodeJS.Signals[] = [];
  const exits: number[] = [];
  let at = 1_000_000;
  onStopSignals((signal) => stops.push(signal), {
    on: (signal, listener) => listeners.set(signal, listener),
    exit: (code) => exits.push(code),
    now: () => at,
  });
  return {
    listeners,
    stops,
    exits,
    send(signal: NodeJS.Signals, afterMs = 0) {
      at += afterMs;
      listeners.get(signal)!(signal);
    },
  };
}

describe('onStopSignals', () => {
  it('listens for SIGTERM and SIGINT, and stops on the first', () => {
    const signals = listening();
    expect([...signals.listeners.keys()].sort()).toEqual(['SIGINT', 'SIGTERM']);
    signals.send('SIGTERM');
    expect(signals.stops).toEqual(['SIGTERM']);
    expect(signals.exits).toEqual([]);
  });

  it('takes a repeat within REPEATED_SIGNAL_MS, of either kind, as the same stop', () => {
    const signals = listening();
    signals.send('SIGINT');
    signals.send('SIGINT', 5);
    signals.send('SIGTERM', REPEATED_SIGNAL_MS - 10);
    expect(signals.stops).toEqual(['SIGINT']);
    expect(signals.exits).toEqual([]);
  });

  it('exits at once (130) on a signal REPEATED_SIGNAL_MS or more after the first', () => {
    const signals = listening();
    signals.send('SIGTERM');
    signals.send('SIGINT', REPEATED_SIGNAL_MS);
    expect(signals.stops).toEqual(['SIGTERM']);
    expect(signals.exits).toEqual([130]);
  });
});
