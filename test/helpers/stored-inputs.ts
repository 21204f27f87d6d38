/** Events' inputs as the store keeps them (compressed in batches), read back for assertions. */
import type Database from 'better-sqlite3';
import { BATCH_HOLDING_SQL, createInputReader, packInputs, prepareInputWrite, unpackInputs, type InputBatch } from '../../src/store/input-batches.ts';

/** Every stored event's input as received, in seq order; undefined where it is missing. */
export function storedInputs(sqlite: Database.Database): Array<{ seq: number; raw: string | undefined }> {
  const seqs = sqlite.prepare('SELECT seq FROM events ORDER BY seq').pluck().all() as number[];
  const inputs = createInputReader(sqlite)(seqs);
  return seqs.map((seq) => ({ seq, raw: inputs.get(seq) }));
}

/** Stores an envelope's inputs as intake does: in batches, the envelope noting their seqs. */
export function insertInputs(sqlite: Database.Database, envelopeId: number, seqs: number[], raws: string[]): void {
  prepareInputWrite(sqlite)(packInputs(seqs, raws));
  sqlite.prepare('UPDATE envelopes SET first_seq = ?, last_seq = ? WHERE id = ?').run(seqs[0] ?? null, seqs.at(-1) ?? null, envelopeId);
}

/** How many batches of inputs are stored. */
export const inputBatchCount = (sqlite: Database.Database): number =>
  sqlite.prepare('SELECT count(*) FROM event_input_batches').pluck().get() as number;

/** Rewrites one stored event's input (to test what reading a damaged or unusual one does). */
export function replaceInput(sqlite: Database.Database, seq: number, raw: string): void {
  const batch = sqlite.prepare(BATCH_HOLDING_SQL).get(seq) as InputBatch;
  const inputs = unpackInputs(batch);
  if (!inputs.has(seq)) throw new Error(`no stored input for seq ${seq}`);
  inputs.set(seq, raw);
  sqlite.prepare('DELETE FROM event_input_batches WHERE first_seq = ?').run(batch.firstSeq);
  prepareInputWrite(sqlite)(packInputs([...inputs.keys()], [...inputs.values()]));
}
