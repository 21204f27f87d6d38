/**
 * Another connection to a real SQLite file that takes the write lock (BEGIN IMMEDIATE) as soon
 * as a replay's first chunk is committed, as the writer thread's commit of a large envelope or
 * a checkpoint would, and keeps it until `release()`. It looks once a turn of the event loop,
 * which a replay lets run between its chunks, so the lock is taken before the second chunk.
 */
import Database from 'better-sqlite3';

export function lockAfterFirstChunk(file: string): { locked(): boolean; release(): void } {
  const locker = new Database(file);
  const requeued = locker.prepare(`SELECT count(*) FROM events WHERE fate = 'pending'`).pluck();
  let watching = true;
  const watch = () => {
    if (!watching) return;
    if ((requeued.get() as number) > 0) {
      locker.exec('BEGIN IMMEDIATE');
      watching = false;
    } else setImmediate(watch);
  };
  setImmediate(watch);
  return {
    locked: () => locker.inTransaction,
    release() {
      watching = false;
      if (locker.inTransaction) locker.exec('ROLLBACK');
      locker.close();
    },
  };
}
