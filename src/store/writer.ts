/**
 * The pipeline's writes: envelopes from intake, results from translation, outcomes from
 * delivery, and the writes the service makes beside them (roster answers its lookups learn,
 * retention's deletes). The service commits them on its writer thread (writer-thread.ts), so
 * the event loop never waits for the disk or for SQLite's write lock; `createStoreWriter`
 * makes the same writes on the service's own connection, for tests and for when that thread
 * cannot run.
 *
 * Every method resolves once its rows are committed, and rejects with nothing of them written.
 */
import { prepareDeliveryRecords, type DeliveryRecord } from '../deliver/outbox.ts';
import { prepareRetentionBatch, type RetentionBatch, type RetentionBatchResult } from '../deliver/retention.ts';
import { prepareRosterAnswerWrite, type RosterAnswer } from '../identity/roster-answer-write.ts';
import { prepareTranslationWrites, type TranslationResults } from '../mapping/translation-writes.ts';
import type { Store } from './database.ts';
import { createIntake, type EnvelopeBatch, type IntakeResult } from './intake.ts';

export interface StoreWriter {
  /** One envelope's rows (Learn hears 200 once this resolves). */
  writeEnvelope(batch: EnvelopeBatch): Promise<IntakeResult>;
  /** A translated batch's results; resolves to whether each write changed its row. */
  recordTranslations(results: TranslationResults): Promise<readonly boolean[]>;
  /** What TimeBack answered for a batch of events; resolves to whether each row holds its result. */
  recordDeliveries(records: readonly DeliveryRecord[]): Promise<readonly boolean[]>;
  /**
   * A roster lookup's answer, cached unless an eviction came since the lookup began (checked
   * in the same transaction, under the write lock); resolves to whether it was.
   */
  recordRosterAnswer(answer: RosterAnswer): Promise<boolean>;
  /** One batch of retention's deletes. */
  pruneRetention(batch: RetentionBatch): Promise<RetentionBatchResult>;
}

/**
 * The writes on `store`'s connection, on the event loop: envelopes in group commits (see
 * intake.ts), the others each in a transaction of their own, at once.
 */
export function createStoreWriter(store: Store): StoreWriter {
  const intake = createIntake(store);
  const translations = store.sqlite.transaction(prepareTranslationWrites(store.sqlite));
  const deliveries = store.sqlite.transaction(prepareDeliveryRecords(store.sqlite));
  const rosterAnswer = store.sqlite.transaction(prepareRosterAnswerWrite(store.sqlite));
  const retention = store.sqlite.transaction(prepareRetentionBatch(store.sqlite));
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
    // IMMEDIATE: the write lock before the eviction count is read (see roster-cache.ts).
    recordRosterAnswer: (answer) => settled(() => rosterAnswer.immediate(answer)),
    pruneRetention: (batch) => settled(() => retention(batch)),
  };
}
