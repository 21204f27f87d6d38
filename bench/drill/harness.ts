/**
 * What every drill scenario sets up the same way: a temp folder and database, a TimeBack
 * emulator whose roster holds the synthetic school's students (all but a few guests, whose
 * events must end `skipped`), the gateway's environment, Learn-shaped envelopes of mixed
 * sizes, and a read-only view of the queue while the gateway works.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { createSyntheticLearn, syntheticStudentIds } from '../../src/dev/synthetic-events.ts';
import { startTimebackEmulator, type TimebackEmulator } from '../../src/dev/timeback-emulator.ts';
import type { OutgoingEnvelope } from './sender.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const MAPPINGS_DIR = path.join(ROOT, 'mappings');
export const INGEST_KEY = 'drill-ingest-key-7d41c2a9';
export const APP_ID = '3b9e7c51-0f2a-4d86-9a41-6c0d2e8f1b37';

/**
 * Short enough that the hang and outage scenarios finish in a minute or two, long enough
 * that loopback answers never time out: a POST or roster request gets 2 s, and no retry
 * waits more than 5 s (production defaults: 10 s, 5 s and 300 s).
 */
export const DRILL_TIMINGS = { DELIVERY_TIMEOUT: '2', ROSTER_TIMEOUT: '2', DELIVERY_BACKOFF_CAP: '5', SHUTDOWN_TIMEOUT: '5' };

/** Students in the school; the last GUESTS of them are not in TimeBack's roster. */
const STUDENTS = 200;
const GUESTS = 4;

export interface Setup {
  dir: string;
  dbPath: string;
  logFile: string;
  emulator: TimebackEmulator;
  /** `{ externalId: platformId }` for every student TimeBack knows. */
  roster: Record<string, string>;
  learn: ReturnType<typeof createSyntheticLearn>;
  /** The gateway's environment: this database, this emulator, the drill's timings. */
  env: Record<string, string>;
  /** Keeps the folder (database and gateway log) for a look after a failure. */
  cleanUp(keep: boolean): Promise<void>;
}

export async function prepare(name: string, options: { latencyMs?: number; seed: number }): Promise<Setup> {
  const dir = mkdtempSync(path.join(tmpdir(), `caliper-drill-${name}-`));
  const students = syntheticStudentIds(STUDENTS);
  const roster: Record<string, string> = {};
  for (const externalId of students.slice(0, STUDENTS - GUESTS)) roster[externalId] = randomUUID();
  const emulator = await startTimebackEmulator({
    users: Object.entries(roster).map(([identifier, sourcedId]) => ({ sourcedId, identifier })),
    latencyMs: options.latencyMs ?? 0,
  });
  const dbPath = path.join(dir, 'gateway.db');
  return {
    dir,
    dbPath,
    logFile: path.join(dir, 'gateway.log'),
    emulator,
    roster,
    learn: createSyntheticLearn({ students, seed: options.seed }),
    env: {
      DB_PATH: dbPath,
      INGEST_API_KEYS: INGEST_KEY,
      TIMEBACK_BASE_URL: emulator.url,
      TIMEBACK_CLIENT_ID: emulator.clientId,
      TIMEBACK_CLIENT_SECRET: emulator.clientSecret,
      TIMEBACK_APP_ID: APP_ID,
      ...DRILL_TIMINGS,
    },
    async cleanUp(keep) {
      await emulator.close();
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Traffic {
  envelopes: OutgoingEnvelope[];
  /** Every event sent, by id, as built (what the ledger translates). */
  sent: Map<string, unknown>;
}

/** `total` events in envelopes whose sizes are drawn from `sizes`, serialised once. */
export function buildTraffic(learn: Setup['learn'], total: number, sizes: readonly number[]): Traffic {
  const envelopes: OutgoingEnvelope[] = [];
  const sent = new Map<string, unknown>();
  let left = total;
  while (left > 0) {
    const size = Math.min(left, sizes[Math.floor(Math.random() * sizes.length)]!);
    const envelope = learn.envelope(size);
    for (const event of envelope.data) sent.set(event.id, event);
    envelopes.push({ body: JSON.stringify(envelope), eventIds: envelope.data.map((event) => event.id) });
    left -= size;
  }
  return { envelopes, sent };
}

export interface QueueCounts {
  stored: number;
  /** Pending events waiting for translation (identity included). */
  translating: number;
  /** Translated events waiting for TimeBack to accept them. */
  delivering: number;
}

/** Reads the queue while the gateway runs (and across its restarts); never writes. */
export function watchQueue(dbPath: string) {
  const db = new Database(dbPath, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const counts = db.prepare(
    `SELECT COUNT(*) AS stored,
            COALESCE(SUM(fate = 'pending' AND stage = 'translate'), 0) AS translating,
            COALESCE(SUM(fate = 'pending' AND stage = 'deliver'), 0) AS delivering
       FROM events`,
  );
  return {
    counts: () => counts.get() as QueueCounts,
    close: () => db.close(),
  };
}

/** Waits until at least `rows` events are stored and none is pending; false at the deadline. */
export async function waitUntilSettled(queue: ReturnType<typeof watchQueue>, rows: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const { stored, translating, delivering } = queue.counts();
    if (stored >= rows && translating === 0 && delivering === 0) return true;
    await sleep(250);
  }
  return false;
}
