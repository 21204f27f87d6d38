/**
 * retention_shuffled_ratio: what retention's deletes cost per pruned event when the events were
 * delivered out of seq order (retries, a roster outage, a replay leave them so) ÷ the same
 * when they were delivered in order. Each input batch holding a pruned event is decompressed
 * and compressed again without it, so the order could multiply the work: taken strictly
 * oldest first it did, 15-fold. Near 1 means each batch is rewritten once a pass.
 *
 * Also retention_max_tx_ms, the longest of its transactions: on the writer thread, intake's
 * commits wait behind each one. Run here as the writer thread runs it (prepareRetentionBatch
 * in a transaction of its own), on a file database in the bench's folder.
 */
import path from 'node:path';
import { prepareRetentionBatch } from '../src/deliver/retention.ts';
import { createSyntheticLearn, prng, syntheticStudentIds } from '../src/dev/synthetic-events.ts';
import { openStore } from '../src/store/database.ts';
import { prepareEnvelopeWrite, type EnvelopeBatch } from '../src/store/intake.ts';
import { alternately, median, round } from './stats.ts';

export interface RetentionBenchResult {
  events: number;
  /** Per round: µs per pruned event, delivered in order. */
  inOrderUs: number[];
  /** Per round: µs per pruned event, delivery times shuffled. */
  shuffledUs: number[];
  ratios: number[];
  ratio: number;
  /** The longest transaction of any round, either order. */
  maxTransactionMs: number;
}

const ENVELOPES = 40;
const EVENTS_PER_ENVELOPE = 1_000;
/** One event in this many stays (dead), so batches are rewritten rather than dropped whole. */
const KEPT_EVERY = 256;
/** Events a transaction, as the service prunes them. */
const LIMIT = 1_000;

/** A database of delivered events and a few dead ones, in seq order or shuffled; the prune, timed. */
function pass(file: string, shuffled: boolean, seed: number): { events: number; totalMs: number; maxMs: number } {
  const store = openStore(file);
  try {
    const { sqlite } = store;
    const learn = createSyntheticLearn({ students: syntheticStudentIds(200), seed });
    const write = sqlite.transaction(prepareEnvelopeWrite(sqlite));
    for (let e = 0; e < ENVELOPES; e += 1) {
      const envelope = learn.envelope(EVENTS_PER_ENVELOPE);
      const raws = envelope.data.map((event) => JSON.stringify(event));
      const batch: EnvelopeBatch = {
        sensor: envelope.sensor,
        sendTime: envelope.sendTime,
        bytes: raws.reduce((sum, raw) => sum + raw.length, 0),
        receivedAt: 1_000 + e,
        sourceIds: envelope.data.map((event) => event.id),
        types: envelope.data.map((event) => event.type),
        actions: envelope.data.map((event) => event.action),
        eventTimes: envelope.data.map((event) => event.eventTime as string),
        raws,
        problems: envelope.data.map(() => undefined),
      };
      write(batch);
    }
    const random = prng(seed);
    const seqs = sqlite.prepare('SELECT seq FROM events ORDER BY seq').pluck().all() as number[];
    const settle = sqlite.prepare('UPDATE events SET fate = ?, delivered_at = ?, updated_at = ? WHERE seq = ?');
    sqlite.transaction(() => {
      for (const [i, seq] of seqs.entries()) {
        const at = 5_000 + (shuffled ? Math.floor(random() * 1e9) : i);
        if (i % KEPT_EVERY === KEPT_EVERY - 1) settle.run('dead', null, at, seq);
        else settle.run('delivered', at, at, seq);
      }
    })();

    const prune = sqlite.transaction(prepareRetentionBatch(sqlite));
    let events = 0;
    let totalMs = 0;
    let maxMs = 0;
    for (;;) {
      const started = performance.now();
      const batch = prune({ kind: 'delivered', cutoff: Number.MAX_SAFE_INTEGER, limit: LIMIT });
      const ms = performance.now() - started;
      totalMs += ms;
      maxMs = Math.max(maxMs, ms);
      events += batch.events;
      if (batch.done) return { events, totalMs, maxMs };
    }
  } finally {
    store.close();
  }
}

export async function benchRetention(options: { dir: string; rounds: number; log: (line: string) => void }): Promise<RetentionBenchResult> {
  const inOrderUs: number[] = [];
  const shuffledUs: number[] = [];
  let maxTransactionMs = 0;
  let events = 0;
  for (let r = 0; r < options.rounds; r += 1) {
    const run = (shuffled: boolean) => async () => {
      const result = pass(path.join(options.dir, `retention-${r}-${shuffled ? 'shuffled' : 'in-order'}.db`), shuffled, 101 + r);
      maxTransactionMs = Math.max(maxTransactionMs, result.maxMs);
      events = result.events;
      return (result.totalMs * 1_000) / result.events;
    };
    const [inOrder, shuffled] = await alternately(r, run(false), run(true));
    inOrderUs.push(round(inOrder, 1));
    shuffledUs.push(round(shuffled, 1));
    options.log(`  retention, round ${r + 1}: ${round(inOrder, 1)} µs per event in order, ${round(shuffled, 1)} shuffled, ratio ${round(shuffled / inOrder)}`);
  }
  const ratios = inOrderUs.map((inOrder, i) => round(shuffledUs[i]! / inOrder));
  return { events, inOrderUs, shuffledUs, ratios, ratio: round(median(ratios)), maxTransactionMs: round(maxTransactionMs, 1) };
}
