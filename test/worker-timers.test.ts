import { describe, expect, it, vi } from 'vitest';
import { createWakeTimer, untilDoneOrDeadline } from '../src/worker-timers.ts';

/** 'done' when `work` settles first, 'late' after `ms` of real time: a generous bound, not a timing target. */
async function within(work: Promise<unknown>, ms = 5_000): Promise<'done' | 'late'> {
  let timeout: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timeout = setTimeout(() => resolve('late'), ms)));
  const result = await Promise.race([work.then(() => 'done' as const), late]);
  clearTimeout(timeout);
  return result;
}

/** A wake timer on a clock that stands still at 0, so only the delays it computes pass. */
function wakeTimer(pollIntervalMs: number) {
  let wakes = 0;
  let woken: () => void = () => undefined;
  let next = new Promise<void>((resolve) => (woken = resolve));
  const timer = createWakeTimer(pollIntervalMs, () => 0, () => {
    wakes += 1;
    woken();
    next = new Promise<void>((resolve) => (woken = resolve));
  });
  return { timer, wakes: () => wakes, nextWake: () => next };
}

describe('createWakeTimer', () => {
  it('wakes by the safety poll however late the time it is armed for', async () => {
    const { timer, nextWake } = wakeTimer(20);
    timer.arm(3_600_000);
    expect(await within(nextWake())).toBe('done');
    const again = nextWake();
    timer.arm(undefined);
    expect(await within(again)).toBe('done');
  });

  it('keeps the earliest time armed: a later arm does not postpone it, an earlier one brings it forward', async () => {
    const postponed = wakeTimer(3_600_000);
    postponed.timer.arm(0);
    postponed.timer.arm(1_800_000);
    expect(await within(postponed.nextWake())).toBe('done');

    const brought = wakeTimer(3_600_000);
    brought.timer.arm(1_800_000);
    brought.timer.arm(0);
    expect(await within(brought.nextWake())).toBe('done');
  });

  it('does not wake for a time cancelled, and can be armed again after', async () => {
    const { timer, wakes, nextWake } = wakeTimer(3_600_000);
    timer.arm(0);
    timer.cancel();
    // A wake armed for 0 ms comes within a few turns of the event loop; 50 ms is plenty.
    expect(await within(nextWake(), 50)).toBe('late');
    timer.arm(0);
    expect(await within(nextWake())).toBe('done');
    expect(wakes()).toBe(1);
  });
});

describe('untilDoneOrDeadline', () => {
  it('returns at the deadline when the work never settles', async () => {
    expect(await within(untilDoneOrDeadline(new Promise(() => undefined), Date.now() + 20))).toBe('done');
  });

  it('returns as soon as the work settles, long before the deadline', async () => {
    let finish: () => void = () => undefined;
    const work = new Promise<void>((resolve) => (finish = resolve));
    const waiting = untilDoneOrDeadline(work, Date.now() + 3_600_000);
    expect(await within(waiting, 20)).toBe('late');
    finish();
    expect(await within(waiting)).toBe('done');
  });

  it('returns when the work rejects, and leaves no deadline timer holding the process open', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const failing = Promise.reject(new Error('a batch failed'));
      await expect(untilDoneOrDeadline(failing, Date.now() + 3_600_000)).resolves.toBeUndefined();
      expect(vi.getTimerCount()).toBe(0);
    }
    finally {
      vi.useRealTimers();
    }
  });
});
