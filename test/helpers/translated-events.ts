/**
 * Rows as the translate stage leaves them for delivery: fate `pending`, stage `deliver`,
 * the Caliper 1.2 event in `event_outputs` and its id in `output_id`. Inserted straight into the
 * database so delivery is tested on its own. Ids and names are made up.
 */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { insertInputs } from './stored-inputs.ts';

export const TEST_APP_ID = 'a5e0c6f2-1b7d-4c39-8e4a-6f2d9b1c3e70';
const SENSOR = 'c0ffee00-1111-4222-8333-444455556666';

export interface TranslatedEvent {
  seq: number;
  sourceId: string;
  outputId: string;
}

export interface TranslatedEventOptions {
  receivedAt?: number;
  nextAttemptAt?: number | null;
  attempts?: number;
  firstAttemptAt?: number | null;
  fate?: 'pending' | 'dead' | 'skipped' | 'rejected' | 'delivered';
  stage?: 'translate' | 'deliver' | null;
  reason?: string | null;
  deliveredAt?: number | null;
  /** Replace the output body (e.g. something TimeBack will refuse). */
  output?: (event: Record<string, unknown>) => unknown;
}

function learnEvent(sourceId: string, student: string, at: string) {
  return {
    '@context': 'http://purl.imsglobal.org/ctx/caliper/v1p1',
    id: `urn:uuid:${sourceId}`,
    type: 'AssessmentItemEvent',
    actor: {
      id: `https://caliper-mapping.cloudbb.blackboard.com/v1/sites/3f1e/users/${student}`,
      type: 'Person',
      extensions: { 'bb:user.id': '_4711_1', 'bb:user.externalId': `stu-${student}` },
    },
    action: 'Completed',
    object: { id: 'https://learn.example.edu/ultra/courses/_88_1/items/_901_1', type: 'AssessmentItem', name: 'Fractions 3' },
    eventTime: at,
  };
}

function timebackEvent(outputId: string, platformId: string, at: string) {
  return {
    '@context': 'http://purl.imsglobal.org/ctx/caliper/v1p2',
    id: outputId,
    type: 'AssessmentItemEvent',
    actor: `urn:uuid:${platformId}`,
    action: 'Completed',
    object: { id: 'https://learn.example.edu/ultra/courses/_88_1/items/_901_1', type: 'AssessmentItem', name: 'Fractions 3' },
    eventTime: at,
    edApp: `urn:uuid:${TEST_APP_ID}`,
    session: 'urn:tag:auto-attach',
  };
}

export function insertTranslatedEvents(
  sqlite: Database.Database,
  count: number,
  options: TranslatedEventOptions = {},
): TranslatedEvent[] {
  const now = Date.now();
  const receivedAt = options.receivedAt ?? now;
  const insertEnvelope = sqlite.prepare(
    `INSERT INTO envelopes (sensor, send_time, received_at, event_count, stored_count, rejected_count, duplicate_count, bytes)
     VALUES (?, ?, ?, ?, ?, 0, 0, ?)`,
  );
  const insertEvent = sqlite.prepare(
    `INSERT INTO events (envelope_id, sensor, source_id, type, action, event_time, received_at, fate, stage, reason,
                         rule, student_id, platform_id, output_id, attempts, next_attempt_at, first_attempt_at,
                         delivered_at, updated_at)
     VALUES (@envelopeId, @sensor, @sourceId, 'AssessmentItemEvent', 'Completed', @eventTime, @receivedAt, @fate, @stage,
             @reason, 'assessment-item-completed', @studentId, @platformId, @outputId, @attempts, @nextAttemptAt,
             @firstAttemptAt, @deliveredAt, @receivedAt)`,
  );
  const insertOutput = sqlite.prepare('INSERT INTO event_outputs (seq, output) VALUES (?, ?)');
  return sqlite.transaction(() => {
    const at = new Date(receivedAt).toISOString();
    const envelopeId = Number(insertEnvelope.run(SENSOR, at, receivedAt, count, count, count * 900).lastInsertRowid);
    const inserted: TranslatedEvent[] = [];
    const inputs: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const sourceId = randomUUID();
      const outputId = `urn:uuid:${randomUUID()}`;
      const student = randomUUID().slice(0, 8);
      const platformId = randomUUID();
      const event = timebackEvent(outputId, platformId, at);
      const output = options.output ? options.output(event) : event;
      const fate = options.fate ?? 'pending';
      const result = insertEvent.run({
        envelopeId,
        sensor: SENSOR,
        sourceId,
        eventTime: at,
        receivedAt,
        fate,
        stage: options.stage === undefined ? (fate === 'pending' ? 'deliver' : null) : options.stage,
        reason: options.reason ?? null,
        studentId: `stu-${student}`,
        platformId,
        outputId,
        attempts: options.attempts ?? 0,
        nextAttemptAt: options.nextAttemptAt === undefined ? receivedAt : options.nextAttemptAt,
        firstAttemptAt: options.firstAttemptAt ?? null,
        deliveredAt: options.deliveredAt ?? null,
      });
      inputs.push(JSON.stringify(learnEvent(sourceId, student, at)));
      insertOutput.run(result.lastInsertRowid, JSON.stringify(output));
      inserted.push({ seq: Number(result.lastInsertRowid), sourceId, outputId });
    }
    insertInputs(
      sqlite,
      envelopeId,
      inserted.map((event) => event.seq),
      inputs,
    );
    return inserted;
  })();
}

export interface EventState {
  seq: number;
  fate: string;
  stage: string | null;
  reason: string | null;
  attempts: number;
  lastStatus: number | null;
  lastResponse: string | null;
  nextAttemptAt: number | null;
  deliveredAt: number | null;
  outputId: string | null;
}

export function eventStates(sqlite: Database.Database): EventState[] {
  return sqlite
    .prepare(
      `SELECT seq, fate, stage, reason, attempts, last_status AS lastStatus, last_response AS lastResponse,
              next_attempt_at AS nextAttemptAt, delivered_at AS deliveredAt, output_id AS outputId
         FROM events ORDER BY seq`,
    )
    .all() as EventState[];
}

export function fateCounts(sqlite: Database.Database): Record<string, number> {
  const rows = sqlite.prepare(`SELECT fate, count(*) AS n FROM events GROUP BY fate`).all() as Array<{ fate: string; n: number }>;
  return Object.fromEntries(rows.map((row) => [row.fate, row.n]));
}
