/**
 * Durable intake: an accepted envelope becomes one `envelopes` row and one `events` row per
 * event, all committed together or not at all. Learn is answered 200 only after the commit
 * (synchronous=FULL, see connection.ts), so an acknowledged event survives a crash.
 *
 * Envelopes waiting together are committed in one transaction (group commit): under load one
 * fsync serves many envelopes instead of one each. Each envelope still sits in its own
 * savepoint, so one that fails is rolled back alone and only its sender gets a 503.
 *
 * The service commits on a thread of its own (intake-thread.ts); `createIntake` is the same
 * group commit on the event loop, for tests and for when that thread cannot run.
 */
import type Database from 'better-sqlite3';
import type { Store } from './database.ts';

/** One envelope's rows, as parallel columns (one entry per event, in the order received). */
export interface EnvelopeBatch {
  sensor: string;
  sendTime: string;
  /** Size of the request body in bytes. */
  bytes: number;
  receivedAt: number;
  sourceIds: Array<string | null>;
  types: Array<string | null>;
  actions: Array<string | null>;
  eventTimes: Array<string | null>;
  /**
   * Each event's JSON text as received: a string, or its UTF-8 bytes (usually a view into the
   * request body, stored as they are, without a string made of them).
   */
  raws: Array<string | Uint8Array>;
  /**
   * The memory the byte `raws` are views of, when it belongs to this batch alone: intake may
   * then move it to its thread instead of copying it.
   */
  transferable?: ArrayBuffer;
  /** Undefined for a good event; the validation message for a malformed one. */
  problems: Array<string | undefined>;
}

export interface IntakeResult {
  envelopeId: number;
  /** New events queued for translation (fate `pending`). */
  stored: number;
  /** New malformed events, stored with fate `rejected`. */
  rejected: number;
  /** Events already stored under the same sensor and id (a resend), not stored again. */
  duplicates: number;
}

export interface Intake {
  /** Resolves once every row of the envelope is committed; rejects with nothing written. */
  write(batch: EnvelopeBatch): Promise<IntakeResult>;
}

/** Why a malformed event is rejected (the `reason` column); the message goes to `detail`. */
export const INVALID_EVENT = 'invalid-event';

// A group is cut at about one large envelope's worth of rows, so concurrent big envelopes
// do not add up to one transaction that holds the write lock for seconds.
const GROUP_MAX_EVENTS = 5_000;
const GROUP_MAX_BYTES = 32 * 1024 * 1024;

/** Removes and returns the envelopes at the head of `queue` that make the next group. */
export function takeGroup<T extends { batch: EnvelopeBatch }>(queue: T[]): T[] {
  let events = 0;
  let bytes = 0;
  let taken = 0;
  while (taken < queue.length) {
    const { batch } = queue[taken]!;
    if (taken > 0 && (events + batch.raws.length > GROUP_MAX_EVENTS || bytes + batch.bytes > GROUP_MAX_BYTES)) break;
    events += batch.raws.length;
    bytes += batch.bytes;
    taken += 1;
  }
  return queue.splice(0, taken);
}

/** One envelope's fate in a group commit. */
export type GroupOutcome = { result: IntakeResult; error?: undefined } | { result?: undefined; error: unknown };

/**
 * The statements and the transaction of a group commit on one connection: the service's own
 * (`createIntake`) or the intake thread's (intake-thread.ts). `commitGroup` commits every
 * envelope that could be written and reports each one's outcome; it throws, with nothing
 * written, when the transaction as a whole cannot commit.
 */
export function prepareGroupCommit(sqlite: Database.Database): (group: readonly EnvelopeBatch[]) => GroupOutcome[] {
  const insertEnvelope = sqlite.prepare(
    `INSERT INTO envelopes (sensor, send_time, received_at, event_count, stored_count, rejected_count, duplicate_count, bytes)
     VALUES (?, ?, ?, ?, 0, 0, 0, ?)`,
  );
  const countEnvelope = sqlite.prepare(
    'UPDATE envelopes SET stored_count = ?, rejected_count = ?, duplicate_count = ? WHERE id = ?',
  );
  // ON CONFLICT DO NOTHING on (sensor, source_id): a resent event, from a later envelope or
  // twice in the same one, is stored once; `changes` tells which inserts were duplicates.
  // CAST: a raw given as bytes (bound as a BLOB) is stored as the UTF-8 text it is.
  const insertPending = sqlite.prepare(
    `INSERT INTO events (envelope_id, sensor, source_id, type, action, event_time, received_at, raw,
                         fate, stage, next_attempt_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, CAST(? AS TEXT), 'pending', 'translate', ?, ?)
     ON CONFLICT (sensor, source_id) DO NOTHING`,
  );
  const insertRejected = sqlite.prepare(
    `INSERT INTO events (envelope_id, sensor, source_id, type, action, event_time, received_at, raw,
                         fate, reason, detail, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, CAST(? AS TEXT), 'rejected', '${INVALID_EVENT}', ?, ?)
     ON CONFLICT (sensor, source_id) DO NOTHING`,
  );

  const writeEnvelope = sqlite.transaction((batch: EnvelopeBatch): IntakeResult => {
    const { sensor, receivedAt: at, sourceIds, types, actions, eventTimes, raws, problems } = batch;
    const count = raws.length;
    const envelopeId = Number(insertEnvelope.run(sensor, batch.sendTime, at, count, batch.bytes).lastInsertRowid);
    let stored = 0;
    let rejected = 0;
    let duplicates = 0;
    for (let i = 0; i < count; i++) {
      const problem = problems[i];
      if (problem === undefined) {
        const { changes } = insertPending.run(envelopeId, sensor, sourceIds[i], types[i], actions[i], eventTimes[i], at, raws[i], at, at);
        if (changes === 0) duplicates += 1;
        else stored += 1;
      } else {
        const { changes } = insertRejected.run(envelopeId, sensor, sourceIds[i], types[i], actions[i], eventTimes[i], at, raws[i], problem, at);
        if (changes === 0) duplicates += 1;
        else rejected += 1;
      }
    }
    countEnvelope.run(stored, rejected, duplicates, envelopeId);
    return { envelopeId, stored, rejected, duplicates };
  });

  // Called inside `commitAll`, `writeEnvelope` runs in a savepoint (better-sqlite3 nests
  // transactions that way), so a failing envelope rolls back alone.
  const commitAll = sqlite.transaction((group: readonly EnvelopeBatch[]): GroupOutcome[] =>
    group.map((batch) => {
      try {
        return { result: writeEnvelope(batch) };
      } catch (error) {
        // Some errors (I/O, disk full) make SQLite abandon the whole transaction; then
        // nothing in this group will be committed and every sender must hear so.
        if (!sqlite.inTransaction) throw error;
        return { error };
      }
    }),
  );
  // IMMEDIATE takes the write lock up front, so a busy database fails here, before any row.
  return (group) => commitAll.immediate(group);
}

interface Waiting {
  batch: EnvelopeBatch;
  resolve(result: IntakeResult): void;
  reject(error: unknown): void;
}

/** Intake on the service's own connection, on the event loop (see intake-thread.ts for the usual way). */
export function createIntake(store: Store): Intake {
  // Learn hears 200 after these commits: they must reach the disk, whatever else this
  // connection was relaxed to (see server.ts).
  store.sqlite.pragma('synchronous = FULL');
  const commitGroup = prepareGroupCommit(store.sqlite);
  const queue: Waiting[] = [];
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    const group = takeGroup(queue);
    if (queue.length > 0) schedule();
    let outcomes: GroupOutcome[];
    try {
      outcomes = commitGroup(group.map((item) => item.batch));
    } catch (error) {
      for (const item of group) item.reject(error);
      return;
    }
    group.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.result) item.resolve(outcome.result);
      else item.reject(outcome.error);
    });
  };

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };

  return {
    write(batch) {
      return new Promise<IntakeResult>((resolve, reject) => {
        queue.push({ batch, resolve, reject });
        schedule();
      });
    },
  };
}
