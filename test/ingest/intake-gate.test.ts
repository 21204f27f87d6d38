import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.ts';
import { createIntakeGate, type Release } from '../../src/ingest/intake-gate.ts';

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('createIntakeGate', () => {
  it('lets requests through at once while they fit, and the rest in order as room is made', async () => {
    const gate = createIntakeGate({ maxBytes: 100, maxWaitMs: 10_000 });
    const first = gate.admit(60);
    expect(typeof first).toBe('function');
    const order: string[] = [];
    const second = Promise.resolve(gate.admit(50)).then((release) => (order.push('second'), release));
    // Small enough to fit, but it does not overtake the one waiting before it.
    const third = Promise.resolve(gate.admit(10)).then((release) => (order.push('third'), release));
    await settled();
    expect(order).toEqual([]);
    expect([gate.held, gate.waiting]).toEqual([60, 2]);

    (first as Release)();
    const [releaseSecond, releaseThird] = await Promise.all([second, third]);
    expect(order).toEqual(['second', 'third']);
    expect(gate.held).toBe(60);
    releaseSecond();
    releaseThird();
    // Releasing twice gives nothing back twice.
    releaseThird();
    expect([gate.held, gate.waiting]).toEqual([0, 0]);
  });

  it('lets one request through alone however large it is', () => {
    const gate = createIntakeGate({ maxBytes: 100, maxWaitMs: 10_000 });
    const release = gate.admit(1_000);
    expect(typeof release).toBe('function');
    expect(gate.held).toBe(1_000);
  });

  it('turns a request away with a 503 once it has waited too long, and forgets it', async () => {
    const gate = createIntakeGate({ maxBytes: 100, maxWaitMs: 50 });
    const release = gate.admit(100) as Release;
    const refused = await Promise.resolve(gate.admit(1)).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(GatewayError);
    expect(refused).toMatchObject({ status: 503, code: 'busy', headers: { 'retry-after': '5', connection: 'close' } });
    expect((refused as Error).message).toContain('nothing from this one was read or stored');
    expect(gate.waiting).toBe(0);
    release();
    expect(gate.held).toBe(0);
  });

  it('lets smaller requests on when a large one ahead of them gives up waiting', async () => {
    const gate = createIntakeGate({ maxBytes: 100, maxWaitMs: 50 });
    gate.admit(60);
    const large = Promise.resolve(gate.admit(80)).catch((error: unknown) => error);
    // Queued just behind the large one: when that one gives up, this one fits and goes on
    // at once, before its own (later) timer would turn it away too.
    let small: Release | undefined;
    void Promise.resolve(gate.admit(30)).then((release) => (small = release), () => undefined);
    expect(await large).toMatchObject({ status: 503 });
    await settled();
    expect(small).toBeTypeOf('function');
    expect(gate.held).toBe(90);
  });
});
