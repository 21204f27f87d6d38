import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogTally } from '../src/log-tally.ts';
import { captureLog } from './helpers/identity-harness.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('log tally', () => {
  it('logs the first event of each kind in full and the rest as one line of counts per window', () => {
    vi.useFakeTimers();
    const captured = captureLog();
    const tally = createLogTally(captured.log, { summary: 'more events are dead', windowMs: 60_000 });

    for (let seq = 1; seq <= 5_000; seq += 1) tally.note('http-400', { seq, reason: 'http-400' }, 'event is dead');
    tally.note('http-422', { seq: 5_001, reason: 'http-422' }, 'event is dead');
    tally.note('http-422', { seq: 5_002, reason: 'http-422' }, 'event is dead');
    expect(captured.lines().map((line) => [line.msg, line.seq])).toEqual([
      ['event is dead', 1],
      ['event is dead', 5_001],
    ]);

    vi.advanceTimersByTime(60_000);
    const summary = captured.lines().at(-1)!;
    expect(summary).toMatchObject({ level: 'warn', msg: 'more events are dead', count: 5_000, byKind: { 'http-400': 4_999, 'http-422': 1 } });
    expect(captured.lines()).toHaveLength(3);

    // A new window shows a fresh example again.
    tally.note('http-400', { seq: 9_000, reason: 'http-400' }, 'event is dead');
    expect(captured.lines().at(-1)).toMatchObject({ msg: 'event is dead', seq: 9_000 });
  });

  it('writes no summary when nothing was held back, and flushes what was on demand', () => {
    vi.useFakeTimers();
    const captured = captureLog();
    const tally = createLogTally(captured.log, { summary: 'more events are dead', windowMs: 1_000 });
    tally.note('max-age', { seq: 1 }, 'event is dead: too old to retry');
    vi.advanceTimersByTime(5_000);
    expect(captured.lines()).toHaveLength(1);

    tally.note('max-age', { seq: 2 }, 'event is dead: too old to retry');
    tally.note('max-age', { seq: 3 }, 'event is dead: too old to retry');
    tally.flush();
    expect(captured.lines().map((line) => line.msg)).toEqual([
      'event is dead: too old to retry',
      'event is dead: too old to retry',
      'more events are dead',
    ]);
    expect(captured.lines().at(-1)).toMatchObject({ count: 1, byKind: { 'max-age': 1 } });
  });
});
