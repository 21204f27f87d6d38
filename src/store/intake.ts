/**
 * Durable intake: an accepted envelope becomes one `envelopes` row, one `events` row per
 * event and its events' inputs in compressed batches (input-batches.ts), all committed
 * together or not at all. Learn is answered 200 only after the commit
 * (synchronous=FULL, see connection.ts), so an acknowledged event survives a crash.
 *
 * Envelopes waiting together are committed in one transaction (group-commit.ts): under load
 * one fsync serves many envelopes instead of one each. Each envelope still sits in its own
 * savepoint, so one that fails is rolled back alone and only its sender gets a 503.
 */
import type Database from 'better-sqlite3';
import type { Store } from './database.ts';
import { packInputs, prepareInputWrite } from './input-batches.ts';
import { prepareGroupCommit, takeGroup, type GroupOutcome, type Weight } from './group-commit.ts';

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
  /** Events already stored under the same sensor, id and eventTime (a resend), not stored again. */
  duplicates: number;
}

export interface Intake {
  /** Resolves once every row of the envelope is committed; rejects with nothing written. */
  write(batch: EnvelopeBatch): Promise<IntakeResult>;
}

/** Why a malformed event is rejected (the `reason` column); the message goes to `detail`. */
export const INVALID_EVENT = 'invalid-event';

/** How much an envelope weighs towards a group commit's limits. */
export const envelopeWeight = (batch: EnvelopeBatch): Weight => ({ rows: batch.raws.length, bytes: batch.bytes });

/**
 * The statements that store one envelope, on one connection: the service's own
 * (`createIntake`) or the writer thread's (writer-thread.ts). The returned function makes no
 * transaction of its own: it runs inside a group commit's savepoint.
 */
export function prepareEnvelopeWrite(sqlite: Database.Database): (batch: EnvelopeBatch) => IntakeResult {
  const insertEnvelope = sqlite.prepare(
    `INSERT INTO envelopes (sensor, send_time, received_at, event_count, stored_count, rejected_count, duplicate_count, bytes)
     VALUES (?, ?, ?, ?, 0, 0, 0, ?)`,
  );
  const countEnvelope = sqlite.prepare(
    'UPDATE envelopes SET stored_count = ?, rejected_count = ?, duplicate_count = ?, first_seq = ?, last_seq = ? WHERE id = ?',
  );
  // ON CONFLICT DO NOTHING on (sensor, event_time, source_id): a resent event, from a later
  // envelope or twice in the same one, is stored once; `changes` tells which inserts were
  // duplicates. An event without an id has no key and is always stored; one with an id but
  // no eventTime (rejected) is looked for by (sensor, id) among the others without a time.
  const insertPending = sqlite.prepare(
    `INSERT INTO events (envelope_id, sensor, source_id, type, action, event_time, received_at,
                         fate, stage, next_attempt_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 'translate', ?, ?)
     ON CONFLICT (sensor, event_time, source_id) DO NOTHING`,
  );
  const insertRejected = sqlite.prepare(
    `INSERT INTO events (envelope_id, sensor, source_id, type, action, event_time, received_at,
                         fate, reason, detail, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'rejected', '${INVALID_EVENT}', ?, ?)
     ON CONFLICT (sensor, event_time, source_id) DO NOTHING`,
  );
  const insertRejectedUntimed = sqlite.prepare(
    `INSERT INTO events (envelope_id, sensor, source_id, type, action, event_time, received_at,
                         fate, reason, detail, updated_at)
     SELECT ?, ?, ?, ?, ?, NULL, ?, 'rejected', '${INVALID_EVENT}', ?, ?
      WHERE NOT EXISTS (SELECT 1 FROM events INDEXED BY events_sensor_id_untimed
                         WHERE sensor = ? AND source_id = ? AND event_time IS NULL)`,
  );
  const writeInputs = prepareInputWrite(sqlite);

  return (batch) => {
    const { sensor, receivedAt: at, sourceIds, types, actions, eventTimes, raws, problems } = batch;
    const count = raws.length;
    const envelopeId = Number(insertEnvelope.run(sensor, batch.sendTime, at, count, batch.bytes).lastInsertRowid);
    let stored = 0;
    let rejected = 0;
    let duplicates = 0;
    const seqs: number[] = [];
    const kept: Array<string | Uint8Array> = [];
    for (let i = 0; i < count; i++) {
      const problem = problems[i];
      const { changes, lastInsertRowid } =
        problem === undefined
          ? insertPending.run(envelopeId, sensor, sourceIds[i], types[i], actions[i], eventTimes[i], at, at, at)
          : eventTimes[i] == null && sourceIds[i] != null
            ? insertRejectedUntimed.run(envelopeId, sensor, sourceIds[i], types[i], actions[i], at, problem, at, sensor, sourceIds[i])
            : insertRejected.run(envelopeId, sensor, sourceIds[i], types[i], actions[i], eventTimes[i], at, problem, at);
      if (changes === 0) {
        duplicates += 1;
        continue;
      }
      seqs.push(Number(lastInsertRowid));
      kept.push(raws[i]!);
      if (problem === undefined) stored += 1;
      else rejected += 1;
    }
    writeInputs(packInputs(seqs, kept));
    countEnvelope.run(stored, rejected, duplicates, seqs[0] ?? null, seqs.at(-1) ?? null, envelopeId);
    return { envelopeId, stored, rejected, duplicates };
  };
}

interface Waiting {
  batch: EnvelopeBatch;
  resolve(result: IntakeResult): void;
  reject(error: unknown): void;
}

/**
 * Intake on the service's own connection, on the event loop: envelopes that finish parsing in
 * the same turn are committed together. The service normally commits on its writer thread
 * (writer-thread.ts); this is for tests and for when that thread cannot run.
 */
export function createIntake(store: Store): Intake {
  // Learn hears 200 after these commits: they must reach the disk, whatever else this
  // connection was relaxed to (see server.ts).
  store.sqlite.pragma('synchronous = FULL');
  const commitGroup = prepareGroupCommit(store.sqlite, prepareEnvelopeWrite(store.sqlite));
  const queue: Waiting[] = [];
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    const group = takeGroup(queue, (item) => envelopeWeight(item.batch));
    if (queue.length > 0) schedule();
    let outcomes: Array<GroupOutcome<IntakeResult>>;
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
