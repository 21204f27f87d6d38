/**
 * Events' inputs as intake keeps them: the JSON of up to BATCH_MAX_EVENTS events of one
 * envelope, compressed together into one `event_input_batches` row. Learn's events repeat the
 * same IRIs, contexts and names, so together they shrink about tenfold, and the bytes intake
 * writes (to the WAL, then again into the database file) are what its commits cost.
 *
 * A batch, before compressing: a count n, then n seq offsets from the batch's first seq, then
 * n byte lengths (each a little-endian uint32), then the n inputs' UTF-8 bytes one after
 * another.
 */
import type Database from 'better-sqlite3';
import { brotliCompressSync, brotliDecompressSync, constants, inflateRawSync } from 'node:zlib';

/** Events a batch holds at most: a reader decompresses a whole batch to read one of them. */
export const BATCH_MAX_EVENTS = 256;
/** Input bytes a batch holds at most (one larger event still makes a batch of its own). */
export const BATCH_MAX_BYTES = 1024 * 1024;
/**
 * How a batch's bytes are compressed (the row's `codec`). Intake writes `brotli` at quality
 * 0: on Learn-shaped envelopes it took 2.6 µs an event where zlib's fastest deflate took 6.1,
 * for the same size or smaller (9.4% of the bytes against 9.6% for 25 events; 7.4% against
 * 8.5% for 1,000), and intake's writer thread had spent a third of its time deflating.
 * Batches written by the release before are `deflate-raw` and are read as they are.
 */
export type InputCodec = 'deflate-raw' | 'brotli';

const compress = (plain: Buffer): Buffer =>
  brotliCompressSync(plain, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 0, [constants.BROTLI_PARAM_SIZE_HINT]: plain.length },
  });

const decompress = (codec: InputCodec, data: Buffer): Buffer =>
  codec === 'brotli' ? brotliDecompressSync(data) : inflateRawSync(data);

/**
 * The batch that may hold `seq`: the last to start at or before it (it holds `seq` when its
 * `lastSeq` is not below it). A batch's seqs lie between its first and last, and batches never overlap.
 */
export const BATCH_HOLDING_SQL =
  'SELECT first_seq AS firstSeq, last_seq AS lastSeq, codec, data FROM event_input_batches WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1';

export interface InputBatch {
  firstSeq: number;
  lastSeq: number;
  codec: InputCodec;
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
  return { firstSeq, lastSeq: seqs[count - 1]!, codec: 'brotli', data: compress(plain) };
}

/** A batch's inputs by seq. Throws when `data` is not a batch. */
export function unpackInputs(batch: InputBatch): Map<number, string> {
  const plain = decompress(batch.codec, batch.data);
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
  const insert = sqlite.prepare('INSERT INTO event_input_batches (first_seq, last_seq, codec, data) VALUES (?, ?, ?, ?)');
  return (batches) => {
    for (const batch of batches) insert.run(batch.firstSeq, batch.lastSeq, batch.codec, batch.data);
  };
}

/**
 * Reads events' inputs by seq: the input as received, or undefined when it is missing or
 * cannot be read. Keeps the last batch it decompressed, as translation reads in seq order and a
 * large envelope's batch serves several of its reads.
 *
 * Decompressing a batch to read one event costs as much as reading all of it (0.3 ms for 256
 * events): events spread over many batches (a replay of one student's skipped events, say)
 * would hold the event loop for up to 85 ms a claim. With `maxBatches`, the reader decompresses
 * no more than that many and leaves the seqs after them out of the map, unread.
 */
export type InputReader = (seqs: readonly number[], maxBatches?: number) => Map<number, string | undefined>;

export function createInputReader(sqlite: Database.Database): InputReader {
  const batchOf = sqlite.prepare<[number], InputBatch>(BATCH_HOLDING_SQL);
  // Databases made before batches kept one row per event; retention prunes them in time.
  const legacy = sqlite.prepare<[number], { raw: string }>('SELECT raw FROM event_inputs WHERE seq = ?');
  /** The batch decompressed last; a damaged one is kept with no inputs, so it is not read again. */
  let last: { firstSeq: number; lastSeq: number; inputs: Map<number, string> } | undefined;

  return (seqs, maxBatches = Number.POSITIVE_INFINITY) => {
    const inputs = new Map<number, string | undefined>();
    let decompressed = 0;
    for (const seq of [...seqs].sort((a, b) => a - b)) {
      if (!last || seq < last.firstSeq || seq > last.lastSeq) {
        const batch = batchOf.get(seq);
        if (!batch || seq > batch.lastSeq) {
          inputs.set(seq, legacy.get(seq)?.raw);
          continue;
        }
        if (decompressed === maxBatches) break;
        decompressed += 1;
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
