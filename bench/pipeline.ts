/**
 * The benchmarks that run the whole gateway against the TimeBack emulator:
 *
 * - e2e_vs_naive: Learn sends 10,000 events of 200 students as 25-event envelopes, one
 *   envelope after another; the emulator adds 20 ms to every answer (token, roster, events).
 *   Delivered events/s of the gateway (first POST to last delivery) ÷ the naive in-request
 *   forwarder's under the same sender. The same runs count roster lookups (roster_lookups):
 *   every gateway round starts with an empty database, so its roster cache is cold.
 * - delivery_ratio: 60,000 translated events already waiting in the outbox, no added
 *   latency: the gateway's delivery rate ÷ a bare keep-alive client POSTing the same bodies
 *   at the same concurrency (DELIVERY_CONCURRENCY, 16), each in its own process.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { startTimebackEmulator, type TimebackEmulator } from '../src/dev/timeback-emulator.ts';
import { createSyntheticLearn, syntheticStudentIds } from '../src/dev/synthetic-events.ts';
import { staticIdentity } from '../src/identity/identity-resolver.ts';
import { loadRules } from '../src/mapping/rule-loader.ts';
import { translate } from '../src/mapping/translate.ts';
import { openStore } from '../src/store/database.ts';
import { packInputs, prepareInputWrite } from '../src/store/input-batches.ts';
import { BENCH_KEY } from './ingest.ts';
import { runLoad } from './load.ts';
import { ROOT, runBaselineScript, startBaseline, startGateway } from './processes.ts';
import { alternately, median, round } from './stats.ts';

export const BENCH_APP_ID = '3d7f1a52-8c4e-4b90-a6d1-5e2f0c9b7a13';
const STUDENTS = syntheticStudentIds(200);
/** Each student's TimeBack platform id: a UUID, as TimeBack assigns them. */
const platformId = (i: number) => `7b3e9f10-4c2a-4d8e-9a61-${(0x1000 + i).toString(16).padStart(12, '0')}`;

function emulatedUsers() {
  return STUDENTS.map((externalId, i) => ({ sourcedId: platformId(i), identifier: externalId, email: `${externalId}@example.edu` }));
}

function timebackEnv(emulator: TimebackEmulator): Record<string, string> {
  return {
    TIMEBACK_BASE_URL: emulator.url,
    TIMEBACK_CLIENT_ID: emulator.clientId,
    TIMEBACK_CLIENT_SECRET: emulator.clientSecret,
    TIMEBACK_APP_ID: BENCH_APP_ID,
  };
}

interface Tally {
  pending: number;
  delivered: number;
  other: number;
  firstAttemptAt: number | null;
  lastDeliveredAt: number | null;
}

/**
 * What the gateway's database says, read beside it (WAL lets a reader in while it writes).
 * The reads run on the bench's thread, which is also the emulator's, so they are kept
 * short and few (see waitUntilSettled).
 */
function withDatabase<T>(file: string, read: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

export async function waitUntilSettled(file: string, expected: number, timeoutMs: number): Promise<Tally> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // The emulator shares this thread: each poll must be short. The pending count reads the
    // partial index of pending rows; the settled rows are counted only once none is pending.
    const done = withDatabase(file, (db) => {
      const pending = (db.prepare(`SELECT count(*) AS n FROM events WHERE fate = 'pending'`).get() as { n: number }).n;
      if (pending > 0) return { pending, settled: 0 };
      return { pending, settled: (db.prepare(`SELECT count(*) AS n FROM events WHERE fate <> 'pending'`).get() as { n: number }).n };
    });
    if (done.pending === 0 && done.settled >= expected) break;
    if (Date.now() > deadline) throw new Error(`the gateway did not settle in ${timeoutMs} ms: ${done.pending} pending`);
    // The rates are taken from the timestamps in the database, not from when this notices.
    await sleep(250);
  }
  return withDatabase(
    file,
    (db) =>
      db
        .prepare(
          `SELECT count(*) FILTER (WHERE fate = 'pending') AS pending,
                  count(*) FILTER (WHERE fate = 'delivered') AS delivered,
                  count(*) FILTER (WHERE fate NOT IN ('pending', 'delivered')) AS other,
                  min(first_attempt_at) AS firstAttemptAt,
                  max(delivered_at) AS lastDeliveredAt
             FROM events`,
        )
        .get() as Tally,
  );
}

export interface EndToEndResult {
  events: number;
  gatewayEventsPerSecond: number[];
  naiveEventsPerSecond: number[];
  ratios: number[];
  ratio: number;
  rosterLookups: number[];
  /** Roster lookups of the median round. */
  lookups: number;
  skippedOrRejected: number;
}

export async function benchEndToEnd(options: {
  dir: string;
  rounds: number;
  events: number;
  naiveSeconds: number;
  log: (line: string) => void;
}): Promise<EndToEndResult> {
  const emulator = await startTimebackEmulator({ users: emulatedUsers(), latencyMs: 20, recordEvents: false });
  try {
    const learn = createSyntheticLearn({ students: STUDENTS, seed: 11 });
    const perEnvelope = 25;
    const envelopes = Math.ceil(options.events / perEnvelope);
    // Every student in turn, so each of the 200 has events in every round; fresh ids each time.
    let picked = 0;
    const nextEnvelope = () => JSON.stringify(learn.envelope(perEnvelope, () => STUDENTS[picked++ % STUDENTS.length]!));

    const gatewayRates: number[] = [];
    const naiveRates: number[] = [];
    const ratios: number[] = [];
    const lookups: number[] = [];
    let skippedOrRejected = 0;

    const runNaive = async (round: number) => {
      const naive = await startBaseline('naive-forwarder.ts', timebackEnv(emulator), path.join(options.dir, `naive-${round}.log`));
      try {
        const before = emulator.eventPosts;
        const result = await runLoad({
          url: naive.url,
          path: '/caliper',
          concurrency: 1,
          durationMs: options.naiveSeconds * 1000,
          body: nextEnvelope,
        });
        return (emulator.eventPosts - before) / result.seconds;
      } finally {
        await naive.stop();
      }
    };

    const runGateway = async (round: number) => {
      const file = path.join(options.dir, `e2e-${round}.db`);
      const gateway = await startGateway(
        { DB_PATH: file, INGEST_API_KEYS: BENCH_KEY, ...timebackEnv(emulator) },
        path.join(options.dir, `e2e-gateway-${round}.log`),
      );
      try {
        const bodies = Array.from({ length: envelopes }, nextEnvelope);
        const rosterBefore = emulator.count('roster');
        const started = Date.now();
        let sent = 0;
        // One sender, one envelope after another: the same load the naive forwarder gets.
        const load = await runLoad({
          url: gateway.url,
          path: '/caliper',
          concurrency: 1,
          durationMs: 120_000,
          body: () => bodies[sent++]!,
          headers: { authorization: `Bearer ${BENCH_KEY}` },
          requests: envelopes,
        });
        if (load.failures > 0) throw new Error(`${load.failures} envelopes were refused; see the gateway log`);
        const settled = await waitUntilSettled(file, envelopes * perEnvelope, 120_000);
        lookups.push(emulator.count('roster') - rosterBefore);
        skippedOrRejected += settled.other;
        return settled.delivered / ((settled.lastDeliveredAt! - started) / 1000);
      } finally {
        await gateway.stop();
      }
    };

    for (let r = 0; r < options.rounds; r++) {
      const [n, g] = await alternately(r, () => runNaive(r), () => runGateway(r));
      gatewayRates.push(round(g, 1));
      naiveRates.push(round(n, 1));
      ratios.push(round(g / n, 2));
      options.log(
        `  e2e round ${r + 1}: gateway ${round(g, 1)} delivered/s, naive ${round(n, 1)} delivered/s, ratio ${round(g / n, 1)}; roster lookups ${lookups.at(-1)}`,
      );
    }
    const middle = ratios.indexOf([...ratios].sort((a, b) => a - b)[ratios.length >> 1]!);
    return {
      events: envelopes * perEnvelope,
      gatewayEventsPerSecond: gatewayRates,
      naiveEventsPerSecond: naiveRates,
      ratios,
      ratio: round(median(ratios), 2),
      rosterLookups: lookups,
      lookups: lookups[middle]!,
      skippedOrRejected,
    };
  } finally {
    await emulator.close();
  }
}

export interface DeliveryResult {
  events: number;
  concurrency: number;
  gatewayEventsPerSecond: number[];
  bareEventsPerSecond: number[];
  ratios: number[];
  ratio: number;
}

/** A database whose outbox holds `count` translated events due now, and the same bodies as JSON lines. */
async function seedOutbox(dir: string, count: number): Promise<{ file: string; bodies: string }> {
  const rules = await loadRules(path.join(ROOT, 'mappings'));
  const learn = createSyntheticLearn({ students: STUDENTS, seed: 13 });
  const identity = staticIdentity(Object.fromEntries(STUDENTS.map((id, i) => [id, platformId(i)])));
  const file = path.join(dir, 'outbox-seed.db');
  const bodies = path.join(dir, 'outbox-bodies.jsonl');
  const store = openStore(file);
  const lines: string[] = [];
  try {
    const sensor = learn.siteId;
    const at = Date.now();
    const envelope = store.sqlite
      .prepare(
        `INSERT INTO envelopes (sensor, send_time, received_at, event_count, stored_count, rejected_count, duplicate_count, bytes)
         VALUES (?, ?, ?, 0, 0, 0, 0, 0)`,
      )
      .run(sensor, new Date(at).toISOString(), at).lastInsertRowid;
    const insert = store.sqlite.prepare(
      `INSERT INTO events (envelope_id, sensor, source_id, type, action, event_time, received_at, fate, stage,
                           rule, student_id, platform_id, output_id, attempts, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 'deliver', ?, ?, ?, ?, 0, ?)`,
    );
    const writeInputs = prepareInputWrite(store.sqlite);
    const insertOutput = store.sqlite.prepare('INSERT INTO event_outputs (seq, output) VALUES (?, ?)');
    while (lines.length < count) {
      const events = Array.from({ length: 500 }, () => learn.event());
      const outcomes = await translate(
        events.map((event) => ({ sensor, event })),
        { rules, identity, appId: BENCH_APP_ID },
      );
      store.sqlite.transaction(() => {
        const seqs: number[] = [];
        const raws: string[] = [];
        outcomes.forEach((outcome, i) => {
          if (outcome.fate !== 'deliver' || lines.length >= count) return;
          const event = events[i]!;
          const output = JSON.stringify(outcome.event);
          const { lastInsertRowid } = insert.run(envelope, sensor, event.id, event.type, event.action, event.eventTime, at,
            outcome.rule, outcome.studentId, outcome.platformId, outcome.outputId, at);
          seqs.push(Number(lastInsertRowid));
          raws.push(JSON.stringify(event));
          insertOutput.run(lastInsertRowid, output);
          lines.push(output);
        });
        writeInputs(packInputs(seqs, raws));
      })();
    }
  } finally {
    store.close();
  }
  writeFileSync(bodies, `${lines.join('\n')}\n`);
  return { file, bodies };
}

export async function benchDelivery(options: { dir: string; rounds: number; events: number; log: (line: string) => void }): Promise<DeliveryResult> {
  const concurrency = 16;
  const seed = await seedOutbox(options.dir, options.events);
  const emulator = await startTimebackEmulator({ recordEvents: false });
  try {
    const runGateway = async (round: number) => {
      const file = path.join(options.dir, `delivery-${round}.db`);
      copyFileSync(seed.file, file);
      const gateway = await startGateway(
        { DB_PATH: file, INGEST_API_KEYS: BENCH_KEY, DELIVERY_CONCURRENCY: String(concurrency), ...timebackEnv(emulator) },
        path.join(options.dir, `delivery-gateway-${round}.log`),
      );
      try {
        const settled = await waitUntilSettled(file, options.events, 120_000);
        if (settled.delivered !== options.events) throw new Error(`delivered ${settled.delivered} of ${options.events}`);
        return settled.delivered / ((settled.lastDeliveredAt! - settled.firstAttemptAt!) / 1000);
      } finally {
        await gateway.stop();
      }
    };
    const runBare = async (round: number) => {
      const logFile = path.join(options.dir, `bare-poster-${round}.log`);
      await runBaselineScript('bare-poster.ts', { ...timebackEnv(emulator), EVENTS_FILE: seed.bodies, CONCURRENCY: String(concurrency) }, logFile);
      const line = /posted (\d+) ([\d.]+) (\d+)/.exec(readFileSync(logFile, 'utf8'));
      if (!line || line[3] !== '0') throw new Error(`the bare poster failed; see ${logFile}`);
      return Number(line[1]) / (Number(line[2]) / 1000);
    };

    const gatewayRates: number[] = [];
    const bareRates: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < options.rounds; r++) {
      const [b, g] = await alternately(r, () => runBare(r), () => runGateway(r));
      gatewayRates.push(Math.round(g));
      bareRates.push(Math.round(b));
      ratios.push(round(g / b, 3));
      options.log(`  delivery round ${r + 1}: gateway ${Math.round(g)} ev/s, bare client ${Math.round(b)} ev/s, ratio ${round(g / b)}`);
    }
    return {
      events: options.events,
      concurrency,
      gatewayEventsPerSecond: gatewayRates,
      bareEventsPerSecond: bareRates,
      ratios,
      ratio: round(median(ratios), 3),
    };
  } finally {
    await emulator.close();
  }
}
