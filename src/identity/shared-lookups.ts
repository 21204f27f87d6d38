/**
 * One roster lookup per student at a time: a resolve that comes while a lookup for the same
 * student is in flight shares its answer instead of making another request. Unless the
 * roster cache was evicted since that lookup began (`generation` moved on): the eviction may
 * be what an admin just did to fix this student, so the later resolve makes a lookup of its
 * own, and the earlier one's answer goes only to those who asked before.
 */

export interface SharedLookups<T> {
  /** The lookup in flight for `key` begun in `generation`, or the one `start()` begins. */
  join(key: string, generation: number, start: () => Promise<T>): Promise<T>;
}

export function createSharedLookups<T>(): SharedLookups<T> {
  const inflight = new Map<string, { generation: number; answer: Promise<T> }>();
  return {
    join(key, generation, start) {
      const pending = inflight.get(key);
      if (pending?.generation === generation) return pending.answer;
      const started = {
        generation,
        answer: start().finally(() => {
          // Only its own entry: a lookup begun after an eviction may have taken its place.
          if (inflight.get(key) === started) inflight.delete(key);
        }),
      };
      inflight.set(key, started);
      return started.answer;
    },
  };
}
