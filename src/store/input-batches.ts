/**
 * Events' inputs as intake keeps them: the JSON of up to BATCH_MAX_EVENTS events of one
 * envelope, deflated together into one `event_input_batches` row. Learn's events repeat the
 * same IRIs, contexts and names, so together they shrink about tenfold, and the bytes intake
 * writes (to the WAL, then again into the database file) are what its commits cost.
 *
 * A batch, before deflating: a count n, then n seq offsets from the batch's first seq, then n
 * byte lengths (each a little-endian uint32), then the n inputs' UTF-8 bytes one after another.
 */
import type Database from 'better-sqlite3';
import { deflateRawSync, inflateRawSync } from 'node:zlib';

/** Events a batch holds at most: a reader inflates a whole batch to read one of them. */
export const BATCH_MAX_EVENTS = 256;
/** Input bytes a batch holds at most (one larger event still makes a batch of its own). */
export const BATCH_MAX_BYTES = 1024 * 1024;
/**
 * zlib's fastest level: on Learn-shaped events it takes about 4 µs an event and leaves 9%
 * of the bytes, where level 6 took three times as long for 7%.
 */
const LEVEL = 1;

/**
 * The batch that may hold `seq`: the last to start at or before it (it holds `seq` when its
 * `lastSeq` is not below it). A batch's seqs lie between its first and last, and batches never overlap.
 */
export const BATCH_HOLDING_SQL =
  'SELECT first_seq AS firstSeq, last_seq AS lastSeq, data FROM event_input_batches WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1';

export interface InputBatch {
  firstSeq: number;
  lastSeq: number;
  data: Buffer;
}

/**
 * Packs stored events' inputs, in seq order, into batches. `raws` are each event's JSON as
 * received, as text or as its UTF-8 bytes.
 */
export function packInputs(seqs: readonly number[], raws: ReadonlyArray<string | Uint8Array>): InputBatch[] {
  const batches: InputBatch[] = [];
  let start = 0;
  while (start < seqs.length) {
    let end = start;
    let bytes = 0;
    const parts: Uint8Array[] = [];
    while (end < seqs.length && end - start < BATCH_MAX_EVENTS) {
      const raw = raws[end]!;
      const part = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
      if (end > start && bytes + part.byteLength > BATCH_MAX_BYTES) break;
      parts.push(part);
      bytes += part.byteLength;
      end += 1;
    }
    batches.push(packOne(seqs.slice(start, end), parts, bytes));
    start = end;
  }
  return batches;
}

function packOne(seqs: readonly number[], parts: readonly Uint8Array[], bytes: number): InputBatch {
  const count = seqs.length;
  const header = 4 + count * 8;
  const plain = Buffer.allocUnsafe(header + bytes);
  const firstSeq = seqs[0]!;
  plain.writeUInt32LE(count, 0);
  let at = header;
  for (let i = 0; i < count; i++) {
    plain.writeUInt32LE(seqs[i]! - firstSeq, 4 + i * 4);
    plain.writeUInt32LE(parts[i]!.byteLength, 4 + count * 4 + i * 4);
    plain.set(parts[i]!, at);
    at += parts[i]!.byteLength;
  }
  return { firstSeq, lastSeq: seqs[count - 1]!, data: deflateRawSync(plain, { level: LEVEL }) };
}

/** A batch's inputs by seq. Throws when `data` is not a batch. */
export function unpackInputs(batch: InputBatch): Map<number, string> {
  const plain = inflateRawSync(batch.data);
  const count = plain.readUInt32LE(0);
  const header = 4 + count * 8;
  if (count === 0 || plain.length < header) throw new Error(`input batch ${batch.firstSeq} is damaged`);
  const inputs = new Map<number, string>();
  let at = header;
  for (let i = 0; i < count; i++) {
    const length = plain.readUInt32LE(4 + count * 4 + i * 4);
    if (at + length > plain.length) throw new Error(`input batch ${batch.firstSeq} is damaged`);
    inputs.set(batch.firstSeq + plain.readUInt32LE(4 + i * 4), plain.toString('utf8', at, at + length));
    at += length;
  }
  return inputs;
}

/** Writes an envelope's batches on `sqlite` (inside the caller's transaction). */
export function prepareInputWrite(sqlite: Database.Database): (batches: readonly InputBatch[]) => void {
  const insert = sqlite.prepare('INSERT INTO event_input_batches (first_seq, last_seq, data) VALUES (?, ?, ?)');
  return (batches) => {
    for (const batch of batches) insert.run(batch.firstSeq, batch.lastSeq, batch.data);
  };
}

/**
 * Reads events' inputs by seq: the input as received, or undefined when it is missing or
 * cannot be read. Keeps the last batch it inflated, as translation reads in seq order and a
 * large envelope's batch serves several of its reads.
 *
 * Inflating a batch to read one event costs as much as reading all of it (0.3 ms for 256
 * events): events spread over many batches (a replay of one student's skipped events, say)
 * would hold the event loop for up to 85 ms a claim. With `maxBatches`, the reader inflates
 * no more than that many and leaves the seqs after them out of the map, unread.
 */
export type InputReader = (seqs: readonly number[], maxBatches?: number) => Map<number, string | undefined>;

export function createInputReader(sqlite: Database.Database): InputReader {
  const batchOf = sqlite.prepare<[number], InputBatch>(BATCH_HOLDING_SQL);
  // Databases made before batches kept one row per event; retention prunes them in time.
  const legacy = sqlite.prepare<[number], { raw: string }>('SELECT raw FROM event_inputs WHERE seq = ?');
  /** The batch inflated last; a damaged one is kept with no inputs, so it is not inflated again. */
  let last: { firstSeq: number; lastSeq: number; inputs: Map<number, string> } | undefined;

  return (seqs, maxBatches = Number.POSITIVE_INFINITY) => {
    const inputs = new Map<number, string | undefined>();
    let inflated = 0;
    for (const seq of [...seqs].sort((a, b) => a - b)) {
      if (!last || seq < last.firstSeq || seq > last.lastSeq) {
        const batch = batchOf.get(seq);
        if (!batch || seq > batch.lastSeq) {
          inputs.set(seq, legacy.get(seq)?.raw);
          continue;
        }
        if (inflated === maxBatches) break;
        inflated += 1;
        let unpacked = new Map<number, string>();
        try {
          unpacked = unpackInputs(batch);
        } catch {
          // Damaged: its events read as missing.
        }
        last = { firstSeq: batch.firstSeq, lastSeq: batch.lastSeq, inputs: unpacked };
      }
      inputs.set(seq, last.inputs.get(seq) ?? legacy.get(seq)?.raw);
    }
    return inputs;
  };
}
