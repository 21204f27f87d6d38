/**
 * The pipeline's writes on its hot path: envelopes from intake, results from translation,
 * outcomes from delivery. The service commits them on its writer thread (writer-thread.ts),
 * so the event loop never waits for the disk; `createStoreWriter` makes the same writes on
 * the service's own connection, for tests and for when that thread cannot run.
 *
 * Every method resolves once its rows are committed, and rejects with nothing of them written.
 */
import { prepareDeliveryRecords, type DeliveryRecord } from '../deliver/outbox.ts';
import { prepareTranslationWrites, type TranslationResults } from '../mapping/translation-writes.ts';
import type { Store } from './database.ts';
import { createIntake, type EnvelopeBatch, type IntakeResult } from './intake.ts';

export interface StoreWriter {
  /** One envelope's rows (Learn hears 200 once this resolves). */
  writeEnvelope(batch: EnvelopeBatch): Promise<IntakeResult>;
  /** A translated batch's results. */
  recordTranslations(results: TranslationResults): Promise<void>;
  /** What TimeBack answered for a batch of events. */
  recordDeliveries(records: readonly DeliveryRecord[]): Promise<void>;
}

/**
 * The writes on `store`'s connection, on the event loop: envelopes in group commits (see
 * intake.ts), translation and delivery results each in a transaction of their own, at once.
 */
export function createStoreWriter(store: Store): StoreWriter {
  const intake = createIntake(store);
  const translations = store.sqlite.transaction(prepareTranslationWrites(store.sqlite));
  const deliveries = store.sqlite.transaction(prepareDeliveryRecords(store.sqlite));
  const settled = <T>(write: () => T): Promise<T> => {
    try {
      return Promise.resolve(write());
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return {
    writeEnvelope: (batch) => intake.write(batch),
    recordTranslations: (results) => settled(() => translations(results)),
    recordDeliveries: (records) => settled(() => deliveries(records)),
  };
}
