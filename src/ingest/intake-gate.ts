/**
 * Bounds how many request bytes intake holds at once: bodies being read, parsed and
 * committed. Without it memory grows with every envelope Learn sends at the same time:
 * measured here, 64 concurrent 5,000-event envelopes took the gateway to 1.2 GB, enough for
 * a container's memory limit to kill it mid-commit.
 *
 * A request over the bound waits before its body is read, so the body stays in the
 * sender's socket (TCP pushes back) rather than in our heap, and goes on as soon as earlier
 * ones are committed: first come, first served. One request is always let through alone,
 * however large (MAX_BODY_BYTES still caps it). A chunked body declares no size: it holds a
 * guess while it is read (CHUNKED_GUESS_BYTES; holding MAX_BODY_BYTES for each would let
 * two small chunked envelopes in at a time), and its real size once read, so the bound is
 * kept for what follows. Only a request that waits longer than
 * `maxWaitMs` is turned away, with the same 503 as a store that cannot write: nothing of it
 * was read, and the sender sends it again.
 */
import { GatewayError } from '../errors.ts';

/** What a chunked body holds until its size is known. */
export const CHUNKED_GUESS_BYTES = 1024 * 1024;

export interface IntakeGate {
  /**
   * Holds `bytes` until the hold is released: at once when they fit (no promise, so the
   * usual request pays nothing), or once earlier requests made room.
   */
  admit(bytes: number): Hold | Promise<Hold>;
  /** Bytes held now. */
  readonly held: number;
  /** Requests waiting for room now. */
  readonly waiting: number;
}

export interface Hold {
  /** Holds `bytes` instead from now on, without waiting (a chunked body's real size). */
  resize(bytes: number): void;
  release(): void;
}

interface Waiter {
  bytes: number;
  admitted(hold: Hold): void;
  timer: NodeJS.Timeout;
}

export function createIntakeGate({ maxBytes, maxWaitMs }: { maxBytes: number; maxWaitMs: number }): IntakeGate {
  let held = 0;
  const queue: Waiter[] = [];

  const fits = (bytes: number) => held === 0 || held + bytes <= maxBytes;

  const hold = (bytes: number): Hold => {
    held += bytes;
    let mine = bytes;
    let released = false;
    return {
      resize(size) {
        if (released) return;
        held += size - mine;
        mine = size;
        admitWaiting();
      },
      release() {
        if (released) return;
        released = true;
        held -= mine;
        admitWaiting();
      },
    };
  };

  /** Lets through, in order, the waiting requests that now fit. */
  const admitWaiting = () => {
    while (queue.length > 0 && fits(queue[0]!.bytes)) {
      const next = queue.shift()!;
      clearTimeout(next.timer);
      next.admitted(hold(next.bytes));
    }
  };

  return {
    admit(bytes) {
      if (queue.length === 0 && fits(bytes)) return hold(bytes);
      return new Promise<Hold>((resolve, reject) => {
        const waiter: Waiter = {
          bytes,
          admitted: resolve,
          timer: setTimeout(() => {
            queue.splice(queue.indexOf(waiter), 1);
            // A large request giving up may have been all that held smaller ones back.
            admitWaiting();
            reject(
              new GatewayError(
                503,
                'busy',
                `The gateway is still storing earlier envelopes (${held} bytes); nothing from this one was read or stored. Send it again shortly.`,
                // The body is still on the wire: hang up rather than read it only to drop it.
                { headers: { 'retry-after': '5', connection: 'close' } },
              ),
            );
          }, maxWaitMs),
        };
        queue.push(waiter);
      });
    },
    get held() {
      return held;
    },
    get waiting() {
      return queue.length;
    },
  };
}
