/**
 * Runs inside the intake thread (intake-thread.ts): its own connection to the database,
 * the same group commit as in-process intake. Envelopes that arrive while a commit is
 * under way (the fsync is most of it) wait in the queue and form the next group, so the
 * busier the gateway, the more envelopes share one fsync.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { configureConnection } from './connection.ts';
import { prepareGroupCommit, takeGroup, type EnvelopeBatch, type GroupOutcome } from './intake.ts';
import type { IntakeThreadData, ToIntakeThread, WriteOutcome } from './intake-thread.ts';

const port = parentPort!;
const { file, autoCheckpoint, busyTimeoutMs } = workerData as IntakeThreadData;

const sqlite = new Database(file, { fileMustExist: true });
configureConnection(sqlite);
sqlite.pragma(`wal_autocheckpoint = ${autoCheckpoint}`);
if (busyTimeoutMs !== undefined) sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`);
const commitGroup = prepareGroupCommit(sqlite);

const queue: Array<{ id: number; batch: EnvelopeBatch }> = [];
let scheduled = false;

function flush(): void {
  scheduled = false;
  if (queue.length === 0) return;
  const group = takeGroup(queue);
  if (queue.length > 0) schedule();
  let outcomes: GroupOutcome[];
  try {
    outcomes = commitGroup(group.map((item) => item.batch));
  } catch (error) {
    const failed = describe(error);
    port.postMessage(group.map(({ id }): WriteOutcome => ({ id, error: failed })));
    return;
  }
  port.postMessage(
    group.map(({ id }, i): WriteOutcome => {
      const outcome = outcomes[i]!;
      return outcome.result ? { id, result: outcome.result } : { id, error: describe(outcome.error) };
    }),
  );
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  // After every message already delivered in this turn: they all join the group.
  setImmediate(flush);
}

port.on('message', (message: ToIntakeThread) => {
  switch (message.type) {
    case 'write':
      queue.push(message);
      schedule();
      break;
    case 'auto-checkpoint':
      sqlite.pragma(`wal_autocheckpoint = ${message.pages}`);
      break;
    case 'stop':
      while (queue.length > 0) flush();
      sqlite.close();
      port.close();
      break;
  }
});

function describe(error: unknown): { message: string; code?: string } {
  const { message, code } = (error ?? {}) as { message?: unknown; code?: unknown };
  return { message: typeof message === 'string' ? message : String(error), ...(typeof code === 'string' ? { code } : {}) };
}

port.postMessage('ready');
