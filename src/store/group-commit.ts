/**
 * Group commit: the writes that queued up while the last transaction was committing go into
 * one transaction, so under load one commit (and its fsync) serves many of them. Each write
 * sits in its own savepoint: one that fails rolls back alone and only its caller hears of
 * it; a transaction that cannot start or commit fails them all, with nothing written.
 */
import type Database from 'better-sqlite3';

/** One write's fate in a group. */
export type GroupOutcome<R> = { result: R; error?: undefined } | { result?: undefined; error: unknown };

// A group is cut at about one large envelope's worth of rows, so a burst of big writes does
// not add up to one transaction that holds the write lock for seconds.
const GROUP_MAX_ROWS = 5_000;
const GROUP_MAX_BYTES = 32 * 1024 * 1024;

/** How much a queued write weighs towards the group limits. */
export interface Weight {
  rows: number;
  bytes: number;
}

/** Removes and returns the writes at the head of `queue` that make the next group (at least one). */
export function takeGroup<T>(queue: T[], weigh: (item: T) => Weight): T[] {
  let rows = 0;
  let bytes = 0;
  let taken = 0;
  while (taken < queue.length) {
    const weight = weigh(queue[taken]!);
    if (taken > 0 && (rows + weight.rows > GROUP_MAX_ROWS || bytes + weight.bytes > GROUP_MAX_BYTES)) break;
    rows += weight.rows;
    bytes += weight.bytes;
    taken += 1;
  }
  return queue.splice(0, taken);
}

/**
 * A group commit of `write` on this connection: commits every write of the group that could
 * be made and reports each one's outcome; throws, with nothing written, when the transaction
 * as a whole cannot commit.
 */
export function prepareGroupCommit<T, R>(sqlite: Database.Database, write: (item: T) => R): (group: readonly T[]) => Array<GroupOutcome<R>> {
  // Called inside `commitAll`, a better-sqlite3 transaction runs as a savepoint.
  const inSavepoint = sqlite.transaction(write);
  const commitAll = sqlite.transaction((group: readonly T[]): Array<GroupOutcome<R>> =>
    group.map((item) => {
      try {
        return { result: inSavepoint(item) };
      } catch (error) {
        // Some errors (I/O, disk full) make SQLite abandon the whole transaction; then
        // nothing in this group will be committed and every caller must hear so.
        if (!sqlite.inTransaction) throw error;
        return { error };
      }
    }),
  );
  // IMMEDIATE takes the write lock up front, so a busy database fails here, before any row.
  return (group) => commitAll.immediate(group);
}
