/**
 * Rows as intake leaves them for translation: the Learn event's JSON in `raw`, fate `pending`,
 * stage `translate`. Inserted straight into the database so the translate stage is tested on
 * its own.
 */
import type Database from 'better-sqlite3';
import { insertInputs } from '../helpers/stored-inputs.ts';
import { SENSOR } from './learn-events.ts';

export interface StoredEventOptions {
  receivedAt: number;
  nextAttemptAt?: number | null;
  firstAttemptAt?: number | null;
  attempts?: number;
  sensor?: string;
}

/** Inserts one envelope holding `events`; returns their seqs in order. */
export function insertStoredEvents(sqlite: Database.Database, events: unknown[], options: StoredEventOptions): number[] {
  const sensor = options.sensor ?? SENSOR;
  const insertEnvelope = sqlite.prepare(
    `INSERT INTO envelopes (sensor, send_time, received_at, event_count, stored_count, rejected_count, duplicate_count, bytes)
     VALUES (?, ?, ?, ?, ?, 0, 0, 0)`,
  );
  const insertEvent = sqlite.prepare(
    `INSERT INTO events (envelope_id, sensor, source_id, type, action, event_time, received_at, fate, stage,
                         attempts, next_attempt_at, first_attempt_at, updated_at)
     VALUES (@envelopeId, @sensor, @sourceId, @type, @action, @eventTime, @receivedAt, 'pending', 'translate',
             @attempts, @nextAttemptAt, @firstAttemptAt, @receivedAt)`,
  );
  return sqlite.transaction(() => {
    const at = new Date(options.receivedAt).toISOString();
    const envelopeId = Number(insertEnvelope.run(sensor, at, options.receivedAt, events.length, events.length).lastInsertRowid);
    const seqs = events.map((event) => {
      const record = event as Record<string, unknown>;
      const text = (key: string) => (typeof record[key] === 'string' ? (record[key] as string) : null);
      const seq = Number(
        insertEvent.run({
          envelopeId,
          sensor,
          sourceId: text('id'),
          type: text('type'),
          action: text('action'),
          eventTime: text('eventTime'),
          receivedAt: options.receivedAt,
          attempts: options.attempts ?? 0,
          nextAttemptAt: options.nextAttemptAt === undefined ? options.receivedAt : options.nextAttemptAt,
          firstAttemptAt: options.firstAttemptAt ?? null,
        }).lastInsertRowid,
      );
      return seq;
    });
    insertInputs(sqlite, envelopeId, seqs, events.map((event) => (typeof event === 'string' ? event : JSON.stringify(event))));
    return seqs;
  })();
}

export interface TranslatedRow {
  seq: number;
  fate: string;
  stage: string | null;
  reason: string | null;
  detail: string | null;
  rule: string | null;
  studentId: string | null;
  platformId: string | null;
  output: string | null;
  outputId: string | null;
  attempts: number;
  nextAttemptAt: number | null;
  firstAttemptAt: number | null;
}

export function rowsBySeq(sqlite: Database.Database): Map<number, TranslatedRow> {
  const rows = sqlite
    .prepare(
      `SELECT e.seq, fate, stage, reason, detail, rule, student_id AS studentId, platform_id AS platformId, o.output,
              output_id AS outputId, attempts, next_attempt_at AS nextAttemptAt, first_attempt_at AS firstAttemptAt
         FROM events AS e LEFT JOIN event_outputs AS o ON o.seq = e.seq ORDER BY e.seq`,
    )
    .all() as TranslatedRow[];
  return new Map(rows.map((row) => [row.seq, row]));
}
