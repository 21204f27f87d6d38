import { describe, expect, it } from 'vitest';
import { OutagePause } from '../../src/timeback/outage-pause.ts';

function pauseAt(start = 1_000_000) {
  const clock = { now: start };
  const pause = new OutagePause({
    policy: { baseMs: 1_000, capMs: 8_000 },
    threshold: 3,
    random: () => 0,
    now: () => clock.now,
  });
  /** What the pause hands every dispatch while it is closed: none of them is a probe. */
  const sent = pause.dispatching();
  return { pause, clock, sent };
}

describe('OutagePause', () => {
  it('opens after the threshold of consecutive failures, not before', () => {
    const { pause, sent } = pauseAt();
    expect(pause.recordFailure('HTTP 503', undefined, sent)).toBe(false);
    expect(pause.recordFailure('HTTP 503', undefined, sent)).toBe(false);
    expect(pause.canDispatch()).toBe(true);
    expect(pause.recordFailure('HTTP 503', undefined, sent)).toBe(true);
    expect(pause.state).toBe('open');
    expect(pause.canDispatch()).toBe(false);
    expect(pause.problem).toBe('HTTP 503');
  });

  it('an answer in between resets the count', () => {
    const { pause, sent } = pauseAt();
    pause.recordFailure('HTTP 503', undefined, sent);
    pause.recordFailure('HTTP 503', undefined, sent);
    pause.recordAnswer(sent);
    expect(pause.recordFailure('HTTP 503', undefined, sent)).toBe(false);
  });

  it('after the wait lets exactly one probe through', () => {
    const { pause, clock, sent } = pauseAt();
    for (let i = 0; i < 3; i += 1) pause.recordFailure('timeout', undefined, sent);
    // equal jitter with random 0: half the first step
    expect(pause.until - clock.now).toBe(500);
    clock.now += 500;
    expect(pause.canDispatch()).toBe(true);
    expect(pause.state).toBe('half-open');
    pause.dispatching();
    expect(pause.canDispatch()).toBe(false);
  });

  it('a failed probe re-opens for longer, up to the cap', () => {
    const { pause, clock, sent } = pauseAt();
    for (let i = 0; i < 3; i += 1) pause.recordFailure('timeout', undefined, sent);
    const waits: number[] = [];
    for (let round = 0; round < 6; round += 1) {
      clock.now = pause.until;
      pause.canDispatch();
      const probe = pause.dispatching();
      pause.recordFailure('timeout', undefined, probe);
      waits.push(pause.until - clock.now);
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 4_000, 4_000, 4_000]);
  });

  it('only the probe handed back ends the probe: not a dispatch sent before the pause, nor a probe of a pause already over', () => {
    const { pause, clock, sent: early } = pauseAt();
    for (let i = 0; i < 3; i += 1) pause.recordFailure('timeout', undefined, early);
    clock.now = pause.until;
    expect(pause.canDispatch()).toBe(true);
    const probe = pause.dispatching();
    expect(probe.probe).toBe(true);
    // The early dispatch gave up, or failed: the probe is still out.
    pause.probeAbandoned(early);
    expect(pause.canDispatch()).toBe(false);
    pause.recordFailure('timeout', undefined, early);
    clock.now = pause.until;
    expect(pause.canDispatch()).toBe(false);
    // An answer to it still proves TimeBack up and ends the pause, and with it that probe's turn.
    expect(pause.recordAnswer(early)).toBe(true);
    const later = pause.dispatching();
    for (let i = 0; i < 3; i += 1) pause.recordFailure('timeout', undefined, later);
    clock.now = pause.until;
    expect(pause.canDispatch()).toBe(true);
    const next = pause.dispatching();
    // The first probe's failure comes back late: the new probe is still out.
    pause.recordFailure('timeout', undefined, probe);
    clock.now = pause.until;
    expect(pause.canDispatch()).toBe(false);
    expect(pause.recordAnswer(next)).toBe(true);
    expect(pause.canDispatch()).toBe(true);
  });

  it('a failure of a dispatch sent before the pause, while the probe is out, neither re-opens it nor adds a step', () => {
    const { pause, clock, sent: early } = pauseAt();
    for (let i = 0; i < 3; i += 1) pause.recordFailure('timeout', undefined, early);
    clock.now = pause.until;
    expect(pause.canDispatch()).toBe(true);
    const probe = pause.dispatching();
    const { until } = pause;
    // A hanging POST sent before the pause times out: old news about TimeBack.
    clock.now += 100;
    expect(pause.recordFailure('HTTP 503', undefined, early)).toBe(false);
    expect(pause).toMatchObject({ state: 'half-open', until, problem: 'timeout' });
    expect(pause.canDispatch()).toBe(false);
    // The probe's own failure is the second step (1 s, random 0), not the third.
    expect(pause.recordFailure('timeout', undefined, probe)).toBe(true);
    expect(pause.until - clock.now).toBe(1_000);
  });

  it('a failure of a dispatch sent before the pause, while no probe has gone yet, leaves the next dispatch to probe', () => {
    const { pause, clock, sent: early } = pauseAt();
    for (let i = 0; i < 3; i += 1) pause.recordFailure('timeout', undefined, early);
    clock.now = pause.until;
    // Half-open with nothing due yet (delivery's queue was empty): no probe is out.
    expect(pause.canDispatch()).toBe(true);
    expect(pause.recordFailure('HTTP 503', undefined, early)).toBe(false);
    expect(pause.state).toBe('half-open');
    expect(pause.canDispatch()).toBe(true);
    const probe = pause.dispatching();
    expect(probe.probe).toBe(true);
    expect(pause.recordFailure('timeout', undefined, probe)).toBe(true);
    expect(pause.until - clock.now).toBe(1_000);
  });

  it("a Retry-After to a dispatch sent before the pause, while the probe is out, holds the pause that long but adds no step, and the probe's turn goes on", () => {
    const { pause, clock, sent: early } = pauseAt();
    for (let i = 0; i < 3; i += 1) pause.recordFailure('timeout', undefined, early);
    clock.now = pause.until;
    expect(pause.canDispatch()).toBe(true);
    const probe = pause.dispatching();
    clock.now += 100;
    expect(pause.recordFailure('HTTP 429', 5_000, early)).toBe(false);
    expect(pause).toMatchObject({ state: 'open', problem: 'HTTP 429' });
    expect(pause.until - clock.now).toBe(5_000);
    // Its wait over, the probe is still the only one out.
    clock.now = pause.until;
    expect(pause.canDispatch()).toBe(false);
    expect(pause.probing).toBe(true);
    // Its failure is the second step, not the third.
    expect(pause.recordFailure('timeout', undefined, probe)).toBe(true);
    expect(pause.until - clock.now).toBe(1_000);
  });

  /** Opens the pause with `early` out, then closes it on the probe's success: TimeBack has recovered. */
  function recoveredWithEarlyOut() {
    const made = pauseAt();
    const { pause, clock, sent: early } = made;
    for (let i = 0; i < 3; i += 1) pause.recordFailure('timeout', undefined, early);
    clock.now = pause.until;
    pause.canDispatch();
    expect(pause.recordAnswer(pause.dispatching())).toBe(true);
    return { ...made, early };
  }

  it('failures of dispatches sent before the pause closed, coming back after it, do not count towards a new one', () => {
    const { pause, clock, early } = recoveredWithEarlyOut();
    // POSTs hung since before the pause time out well after the probe succeeded: old news.
    clock.now += 30_000;
    for (let i = 0; i < 5; i += 1) expect(pause.recordFailure('timeout', undefined, early)).toBe(false);
    expect(pause.state).toBe('closed');
    expect(pause.canDispatch()).toBe(true);
    // Failures of dispatches sent since it closed still do, from 0.
    const now = pause.dispatching();
    expect(now.probe).toBe(false);
    expect(pause.recordFailure('HTTP 503', undefined, now)).toBe(false);
    expect(pause.recordFailure('HTTP 503', undefined, now)).toBe(false);
    expect(pause.recordFailure('HTTP 503', undefined, now)).toBe(true);
    expect(pause.state).toBe('open');
  });

  it('nor do they add to failures of dispatches sent since', () => {
    const { pause, early } = recoveredWithEarlyOut();
    const now = pause.dispatching();
    pause.recordFailure('HTTP 503', undefined, now);
    pause.recordFailure('timeout', undefined, early);
    pause.recordFailure('timeout', undefined, early);
    expect(pause.recordFailure('HTTP 503', undefined, now)).toBe(false);
    expect(pause.state).toBe('closed');
  });

  it('the dispatches of one closed period share one ticket, a new one once the pause has opened and closed', () => {
    const { pause, early } = recoveredWithEarlyOut();
    const now = pause.dispatching();
    expect(pause.dispatching()).toBe(now);
    expect(now).not.toBe(early);
  });

  it('a Retry-After to a dispatch sent before the pause closed still pauses for that long: TimeBack asks it now', () => {
    const { pause, clock, early } = recoveredWithEarlyOut();
    clock.now += 10_000;
    expect(pause.recordFailure('HTTP 429', 5_000, early)).toBe(true);
    expect(pause).toMatchObject({ state: 'open', problem: 'HTTP 429' });
    expect(pause.until - clock.now).toBe(5_000);
  });

  it('a late answer to a dispatch sent before the pause closed still resets the count', () => {
    const { pause, early } = recoveredWithEarlyOut();
    const now = pause.dispatching();
    pause.recordFailure('HTTP 503', undefined, now);
    pause.recordFailure('HTTP 503', undefined, now);
    expect(pause.recordAnswer(early)).toBe(false);
    expect(pause.recordFailure('HTTP 503', undefined, now)).toBe(false);
  });

  it('a successful probe closes it and forgets the history', () => {
    const { pause, clock, sent } = pauseAt();
    for (let i = 0; i < 3; i += 1) pause.recordFailure('timeout', undefined, sent);
    clock.now = pause.until;
    pause.canDispatch();
    const probe = pause.dispatching();
    expect(pause.recordAnswer(probe)).toBe(true);
    expect(pause.state).toBe('closed');
    expect(pause.since).toBeUndefined();
    expect(pause.recordFailure('timeout', undefined, pause.dispatching())).toBe(false);
  });

  it('a Retry-After pauses everyone at once for that long, even past the backoff cap', () => {
    const { pause, clock, sent } = pauseAt();
    expect(pause.recordFailure('HTTP 429', 6_000, sent)).toBe(true);
    expect(pause.until - clock.now).toBe(6_000);
    const { pause: other, clock: otherClock, sent: otherSent } = pauseAt();
    other.recordFailure('HTTP 429', 600_000, otherSent);
    expect(other.until - otherClock.now).toBe(600_000);
  });

  it('failures of POSTs already in flight when it opened add no backoff step, and are not a new pause', () => {
    const { pause, clock, sent } = pauseAt();
    // One burst of 429s: the first opens the pause, the other 15 were sent before it did.
    expect(pause.recordFailure('HTTP 429', 2_000, sent)).toBe(true);
    for (let i = 0; i < 15; i += 1) expect(pause.recordFailure('HTTP 429', 2_000, sent)).toBe(false);
    expect(pause.until - clock.now).toBe(2_000);
    // A later Retry-After among them still holds the pause for as long as it asks.
    clock.now += 500;
    expect(pause.recordFailure('HTTP 429', 2_000, sent)).toBe(false);
    expect(pause.until - clock.now).toBe(2_000);
    // The probe is the next step: the second, not the seventeenth.
    clock.now = pause.until;
    pause.canDispatch();
    const probe = pause.dispatching();
    expect(pause.recordFailure('timeout', undefined, probe)).toBe(true);
    expect(pause.until - clock.now).toBe(1_000);
  });

  it('a shorter Retry-After arriving while paused never shortens the pause', () => {
    const { pause, clock, sent } = pauseAt();
    expect(pause.recordFailure('HTTP 429', 60_000, sent)).toBe(true);
    const until = pause.until;
    clock.now += 1_000;
    expect(pause.recordFailure('HTTP 429', 1_000, sent)).toBe(false);
    expect(pause.recordFailure('HTTP 503', undefined, sent)).toBe(false);
    expect(pause.until).toBe(until);
    expect(pause.canDispatch()).toBe(false);
  });

  it("a token endpoint's Retry-After holds the pause that long too", () => {
    const { pause, clock } = pauseAt();
    pause.recordTokenFailure('HTTP 503', true, 120_000);
    expect(pause.until - clock.now).toBe(120_000);
  });

  it('a token failure pauses until a token is obtained', () => {
    const { pause } = pauseAt();
    expect(pause.recordTokenFailure('invalid_client', false)).toBe(true);
    expect(pause.cause).toBe('credentials');
    expect(pause.canDispatch()).toBe(false);
    expect(pause.recordToken()).toBe(true);
    expect(pause.state).toBe('closed');
  });

  it('a token alone does not end a pause caused by TimeBack failing', () => {
    const { pause, sent } = pauseAt();
    for (let i = 0; i < 3; i += 1) pause.recordFailure('HTTP 502', undefined, sent);
    expect(pause.recordToken()).toBe(false);
    expect(pause.state).toBe('open');
  });
});
