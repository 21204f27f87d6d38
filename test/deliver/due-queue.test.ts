/** The delivery worker's line of due events, on a real outbox over a real SQLite file. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDueQueue, type DueQueue } from '../../src/deliver/due-queue.ts';
import { createOutbox, type Outbox } from '../../src/deliver/outbox.ts';
import { createStoreWriter } from '../../src/store/writer.ts';
import { captureLog } from '../helpers/identity-harness.ts';
import { tempStore } from '../helpers/temp-store.ts';
import { insertTranslatedEvents } from '../helpers/translated-events.ts';

const NOW = Date.parse('2026-03-02T10:00:00.000Z');

let db: ReturnType<typeof tempStore>;
let outbox: Outbox;
let unreadable: number;

beforeEach(() => {
  db = tempStore('due-queue-');
  outbox = createOutbox(db.store, createStoreWriter(db.store));
  unreadable = 0;
});
afterEach(() => db.cleanup());

function queueOver(source: Pick<Outbox, 'due' | 'load'> = outbox, batchSize = 10): DueQueue {
  return createDueQueue({ outbox: source, log: captureLog().log, now: () => NOW, batchSize, loadBatch: 2, unreadable: () => (unreadable += 1) });
}

const due = (count: number) => insertTranslatedEvents(db.store.sqlite, count, { nextAttemptAt: null }).map((event) => event.seq);

function drain(queue: DueQueue): number[] {
  const seqs: number[] = [];
  for (let event = queue.next(); event; event = queue.next()) seqs.push(event.seq);
  return seqs;
}

describe('createDueQueue', () => {
  it('hands out every due event once, in due order, and then says the outbox is exhausted', () => {
    const seqs = due(5);
    const queue = queueOver();
    expect(drain(queue)).toEqual(seqs);
    expect(queue.empty).toBe(true);
    expect(queue.exhausted).toBe(true);
  });

  it('does not hand out a claimed event again until it is released', () => {
    const [first, second] = due(2);
    const queue = queueOver();
    drain(queue);
    queue.rescan();
    expect(queue.next()).toBeUndefined();
    queue.release(second!);
    queue.rescan();
    expect(drain(queue)).toEqual([second]);
    expect(second).not.toBe(first);
  });

  it('hands an event put back out first again', () => {
    const [first, second] = due(2);
    const queue = queueOver();
    const event = queue.next()!;
    expect(event.seq).toBe(first);
    queue.putBack(event);
    expect(drain(queue)).toEqual([first, second]);
  });

  it('reads more once the claimed ones fill a batch, without asking for them again', () => {
    const seqs = due(5);
    const queue = queueOver(outbox, 2);
    const handedOut = drain(queue);
    // A batch of 2 plus those claimed: every row is read, none twice.
    expect(handedOut).toEqual(seqs);
  });

  it('releases what it read but did not hand out on shutdown', () => {
    const [first, ...rest] = due(3);
    const queue = queueOver();
    expect(queue.next()?.seq).toBe(first);
    expect(queue.empty).toBe(false);
    queue.releaseWaiting();
    expect(queue.empty).toBe(true);
    queue.rescan();
    expect(drain(queue)).toEqual(rest);
  });

  it('releases rows it cannot load and asks to be woken later', () => {
    const seqs = due(2);
    // A failing read is injected: a real SQLite file does not fail on cue.
    let loadFails = true;
    const source: Pick<Outbox, 'due' | 'load'> = {
      due: (now, limit) => outbox.due(now, limit),
      load: (wanted) => {
        if (loadFails) throw new Error('disk I/O error');
        return outbox.load(wanted);
      },
    };
    const queue = queueOver(source);
    expect(queue.next()).toBeUndefined();
    expect(unreadable).toBe(1);
    loadFails = false;
    queue.rescan();
    // Still claimed, they would be skipped on this read and never sent.
    expect(drain(queue)).toEqual(seqs);
  });
});
