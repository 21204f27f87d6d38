import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.ts';
import { createIntakeGate, type Hold } from '../../src/ingest/intake-gate.ts';
import { rejectionOf } from '../helpers/thrown.ts';

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('createIntakeGate', () => {
  it('lets requests through at once while they fit, and the rest in order as room is made', async () => {
    const gate = createIntakeGate({ maxBytes: 100, maxWaitMs: 10_000 });
    const first = gate.admit(60);
    expect(first).not.toBeInstanceOf(Promise);
    const order: string[] = [];
    const second = Promise.resolve(gate.admit(50)).then((hold) => (order.push('second'), hold));
    // Small enough to fit, but it does not overtake the one waiting before it.
    const third = Promise.resolve(gate.admit(10)).then((hold) => (order.push('third'), hold));
    await settled();
    expect(order).toEqual([]);
    expect([gate.held, gate.waiting]).toEqual([60, 2]);

    (first as Hold).release();
    const [secondHold, thirdHold] = await Promise.all([second, third]);
    expect(order).toEqual(['second', 'third']);
    expect(gate.held).toBe(60);
    secondHold.release();
    thirdHold.release();
    // Releasing twice gives nothing back twice.
    thirdHold.release();
    expect([gate.held, gate.waiting]).toEqual([0, 0]);
  });

  it('lets one request through alone however large it is', () => {
    const gate = createIntakeGate({ maxBytes: 100, maxWaitMs: 10_000 });
    expect(gate.admit(1_000)).not.toBeInstanceOf(Promise);
    expect(gate.held).toBe(1_000);
  });

  it('holds a body\'s real size once it is known, shrinking to let others on or growing to keep them out', async () => {
    const gate = createIntakeGate({ maxBytes: 100, maxWaitMs: 10_000 });
    // A chunked body holds a guess while it is read.
    const chunked = gate.admit(90) as Hold;
    let next: Hold | undefined;
    void Promise.resolve(gate.admit(40)).then((hold) => (next = hold));
    await settled();
    expect(next).toBeUndefined();

    chunked.resize(20);
    await settled();
    expect(next).toBeDefined();
    expect(gate.held).toBe(60);

    chunked.resize(95);
    expect(gate.held).toBe(135);
    expect(gate.admit(1)).toBeInstanceOf(Promise);
    chunked.release();
    next!.release();
    await settled();
    expect(gate.held).toBe(1);
  });

  it('turns a request away with a 503 once it has waited too long, and forgets it', async () => {
    const gate = createIntakeGate({ maxBytes: 100, maxWaitMs: 50 });
    const hold = gate.admit(100) as Hold;
    const refused = await rejectionOf(GatewayError, Promise.resolve(gate.admit(1)));
    expect(refused).toMatchObject({ status: 503, code: 'busy', headers: { 'retry-after': '5', connection: 'close' } });
    expect(refused.message).toContain('nothing from this one was read or stored');
    expect(gate.waiting).toBe(0);
    hold.release();
    expect(gate.held).toBe(0);
  });

  it('lets smaller requests on when a large one ahead of them gives up waiting', async () => {
    const gate = createIntakeGate({ maxBytes: 100, maxWaitMs: 50 });
    gate.admit(60);
    const large = Promise.resolve(gate.admit(80)).catch((error: unknown) => error);
    // Queued just behind the large one: when that one gives up, this one fits and goes on
    // at once, before its own (later) timer would turn it away too.
    let small: Hold | undefined;
    void Promise.resolve(gate.admit(30)).then((hold) => (small = hold), () => undefined);
    expect(await large).toMatchObject({ status: 503 });
    await settled();
    expect(small).toBeDefined();
    expect(gate.held).toBe(90);
  });
});
