/**
 * Runs inside the writer thread (writer-thread.ts): its own connection to the database, and
 * every write that queued up while the last commit ran goes into the next one (group
 * commit), so the busier the gateway, the more writes share one fsync.
 *
 * A group with an envelope in it commits with synchronous=FULL: Learn is told 200 after it.
 * A group of translation and delivery results only commits with NORMAL, without waiting for
 * the disk: losing it to a power cut means events translated or sent again under the same
 * ids, and the next FULL commit or checkpoint (within a second) makes it durable anyway. So
 * do roster answers and retention's deletes: a lost one costs a student looked up again, or
 * rows pruned at the next pass.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { prepareDeliveryRecords } from '../deliver/outbox.ts';
import { prepareRetentionBatch } from '../deliver/retention.ts';
import { prepareRosterAnswerWrite } from '../identity/roster-answer-write.ts';
import { prepareTranslationWrites } from '../mapping/translation-writes.ts';
import { BUSY_TIMEOUT_MS, configureConnection } from './connection.ts';
import { prepareGroupCommit, takeGroup, type GroupOutcome, type Weight } from './group-commit.ts';
import { envelopeWeight, prepareEnvelopeWrite } from './intake.ts';
import type { ToWriterThread, WriteReply, WriteRequest, WriterThreadData } from './writer-thread.ts';

const port = parentPort!;
const { file, autoCheckpoint, busyTimeoutMs, lockWaitMs = busyTimeoutMs ?? BUSY_TIMEOUT_MS } = workerData as WriterThreadData;

const sqlite = new Database(file, { fileMustExist: true });
configureConnection(sqlite);
sqlite.pragma(`wal_autocheckpoint = ${autoCheckpoint}`);
if (busyTimeoutMs !== undefined) sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`);

const writeEnvelope = prepareEnvelopeWrite(sqlite);
const writeTranslations = prepareTranslationWrites(sqlite);
const writeDeliveries = prepareDeliveryRecords(sqlite);
// The group's transaction is IMMEDIATE (group-commit.ts): the write lock is held before the
// answer's savepoint reads the eviction count, so no eviction comes between check and write.
const writeRosterAnswer = prepareRosterAnswerWrite(sqlite);
const writeRetention = prepareRetentionBatch(sqlite);
const commitGroup = prepareGroupCommit(sqlite, (request: WriteRequest): unknown => {
  switch (request.kind) {
    case 'envelope':
      return writeEnvelope(request.payload);
    case 'translations':
      return writeTranslations(request.payload);
    case 'deliveries':
      return writeDeliveries(request.payload);
    case 'roster-answer':
      return writeRosterAnswer(request.payload);
    case 'retention':
      return writeRetention(request.payload);
  }
});

const weigh = ({ request }: { request: WriteRequest }): Weight => {
  switch (request.kind) {
    case 'envelope':
      return envelopeWeight(request.payload);
    case 'translations':
      return { rows: request.payload.writes.length, bytes: 0 };
    case 'deliveries':
      return { rows: request.payload.length, bytes: 0 };
    case 'roster-answer':
      return { rows: 1, bytes: 0 };
    case 'retention':
      return { rows: request.payload.limit, bytes: 0 };
  }
};

const queue: Array<{ id: number; request: WriteRequest }> = [];
let scheduled = false;
let durable = true;
/** When the write lock was first found busy, while the group at the head of the queue waits for it. */
let busySince: number | undefined;
// Between tries for a busy lock; each try also waits inside SQLite (busy_timeout).
const LOCK_RETRY_MS = 5;

/** Commits the next group; `final` (at stop) fails a group whose lock stays busy instead of waiting on. */
function flush(final = false): void {
  scheduled = false;
  if (queue.length === 0) return;
  const group = takeGroup(queue, weigh);
  if (queue.length > 0) schedule();
  const needsFsync = group.some(({ request }) => request.kind === 'envelope');
  if (needsFsync !== durable) {
    sqlite.pragma(needsFsync ? 'synchronous = FULL' : 'synchronous = NORMAL');
    durable = needsFsync;
  }
  let outcomes: Array<GroupOutcome<unknown>>;
  const triedAt = performance.now();
  try {
    outcomes = commitGroup(group.map((item) => item.request));
  } catch (error) {
    if (!final && waitForLock(error, group, triedAt)) return;
    busySince = undefined;
    const failed = serializableError(error);
    port.postMessage(group.map(({ id }): WriteReply => ({ id, error: failed })));
    return;
  }
  busySince = undefined;
  port.postMessage(
    group.map(({ id }, i): WriteReply => {
      const outcome = outcomes[i]!;
      return outcome.error === undefined ? { id, result: outcome.result } : { id, error: serializableError(outcome.error) };
    }),
  );
}

/**
 * A group whose transaction could not take the write lock wrote nothing, so it can go back to
 * the head of the queue and try again. SQLite's own wait (busy_timeout) adds up the sleeps it
 * asked for, not the time that passed, and any signal cuts a sleep short: under a profiler's
 * SIGPROF (about 1,000 a second) a 5 s busy_timeout gave up after 70 ms, and Learn was told
 * 503 for envelopes that only had to wait for another connection's short write. So the
 * thread keeps its own clock: the group waits until `lockWaitMs` has really passed since the
 * lock was first found busy.
 */
function waitForLock(error: unknown, group: Array<{ id: number; request: WriteRequest }>, triedAt: number): boolean {
  if ((error as { code?: unknown } | null)?.code !== 'SQLITE_BUSY') return false;
  const now = performance.now();
  // From the first try, SQLite's own wait included: counted from its failure, a lock held
  // for good failed the group after twice the wait (10 s for the 5 s busy timeout).
  busySince ??= triedAt;
  if (now - busySince >= lockWaitMs) return false;
  queue.unshift(...group);
  scheduled = true;
  setTimeout(flush, LOCK_RETRY_MS);
  return true;
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  // After every message already delivered in this turn: they all join the group.
  setImmediate(flush);
}

port.on('message', (message: ToWriterThread) => {
  switch (message.type) {
    case 'write':
      queue.push(message);
      schedule();
      break;
    case 'auto-checkpoint':
      sqlite.pragma(`wal_autocheckpoint = ${message.pages}`);
      break;
    case 'stop':
      while (queue.length > 0) flush(true);
      sqlite.close();
      port.close();
      break;
  }
});

/** A failed write as its reply carries it: the message and SQLite's code (SQLITE_FULL, SQLITE_BUSY), which writer-thread.ts puts back on an Error. */
function serializableError(error: unknown): { message: string; code?: string } {
  const { message, code } = (error ?? {}) as { message?: unknown; code?: unknown };
  return { message: typeof message === 'string' ? message : String(error), ...(typeof code === 'string' ? { code } : {}) };
}

port.postMessage('ready');
