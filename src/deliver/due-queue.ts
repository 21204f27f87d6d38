/**
 * The delivery worker's line of due events: which rows it has read from the outbox and not
 * yet recorded ("claimed"), so no event is sent twice at once. Seqs are read many at a time,
 * and their rows (the events' JSON, the large part) only a few slots ahead, so a long backlog
 * costs memory for numbers, not for events.
 */
import type { Logger } from '../log.ts';
import type { DueEvent, Outbox } from './outbox.ts';

export interface DueQueueOptions {
  outbox: Pick<Outbox, 'due' | 'load'>;
  log: Logger;
  now: () => number;
  /** Due seqs read per query (on top of those already claimed). */
  batchSize: number;
  /** Rows loaded at a time. */
  loadBatch: number;
  /** The rows could not be read: the worker looks again after this wake-up. */
  unreadable(): void;
}

export interface DueQueue {
  /** The next claimed event to send, or undefined when none is due or the outbox cannot be read now. */
  next(): DueEvent | undefined;
  /** A claimed event that could not be sent yet (no token): first in line again. */
  putBack(event: DueEvent): void;
  /** Its result is recorded, or it stays due for a later round: it may be read again. */
  release(seq: number): void;
  /** Shutdown: releases every claimed event not yet handed out. */
  releaseWaiting(): void;
  /** Nothing read and waiting to be handed out. */
  readonly empty: boolean;
  /** The last read found fewer rows than asked: nothing more is due until something changes. */
  readonly exhausted: boolean;
  /** Something may have become due: the next `next()` asks the outbox again. */
  rescan(): void;
}

export function createDueQueue({ outbox, log, now, batchSize, loadBatch, unreadable }: DueQueueOptions): DueQueue {
  /** Seqs read from the outbox and not yet recorded: never sent twice at once. */
  const claimed = new Set<number>();
  /** Claimed seqs waiting for a free slot, and the next few of their rows, loaded. */
  const ready: number[] = [];
  const loaded: DueEvent[] = [];
  let exhausted = false;

  function next(): DueEvent | undefined {
    for (;;) {
      const event = loaded.shift();
      if (event) return event;
      if (ready.length === 0 && !exhausted) refill();
      if (ready.length === 0 || !load(ready.splice(0, loadBatch))) return undefined;
    }
  }

  /** Loads the rows of `seqs`; false when they cannot be read now. */
  function load(seqs: number[]): boolean {
    let rows: DueEvent[];
    try {
      rows = outbox.load(seqs);
    } catch (err) {
      log.error({ err, events: seqs.length }, 'could not read due events; trying again shortly');
      for (const seq of seqs) claimed.delete(seq);
      unreadable();
      return false;
    }
    if (rows.length < seqs.length) {
      // Settled or pruned since they were found due: nothing to send.
      const found = new Set(rows.map((row) => row.seq));
      for (const seq of seqs) if (!found.has(seq)) claimed.delete(seq);
    }
    for (const row of rows) loaded.push(row);
    return true;
  }

  function refill(): void {
    const limit = batchSize + claimed.size;
    let rows: number[];
    try {
      rows = outbox.due(now(), limit);
    } catch (err) {
      log.error({ err }, 'could not read due events; trying again shortly');
      exhausted = true;
      return;
    }
    for (const seq of rows) {
      if (claimed.has(seq)) continue;
      claimed.add(seq);
      ready.push(seq);
    }
    exhausted = rows.length < limit;
  }

  return {
    next,
    putBack(event) {
      loaded.unshift(event);
    },
    release(seq) {
      claimed.delete(seq);
    },
    releaseWaiting() {
      for (const seq of ready.splice(0)) claimed.delete(seq);
      for (const event of loaded.splice(0)) claimed.delete(event.seq);
    },
    get empty() {
      return ready.length === 0 && loaded.length === 0;
    },
    get exhausted() {
      return exhausted;
    },
    rescan() {
      exhausted = false;
    },
  };
}
