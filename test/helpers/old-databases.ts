/**
 * Databases as earlier releases left them, for upgrade tests: the schema of each earlier
 * release, made the way that release made it (drizzle's migrator with only the migrations it
 * shipped, or the first day's draft of 0000_initial), and rows in every fate written in that
 * schema's columns. No git history is read: the drafts' SQL is kept here.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { MIGRATIONS_DIR } from '../../src/store/database.ts';
import { sessionEvent } from './caliper-events.ts';

interface JournalEntry {
  tag: string;
  when: number;
}

export const SHIPPED_MIGRATIONS = (
  JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: JournalEntry[] }
).entries;

/**
 * 0000_initial as the gateways of the first day's morning ran it, before each event's input
 * moved to event_inputs (complete pipelines ran on it), with the journal `when` it had.
 */
const DRAFT_INITIAL = {
  when: 1795321021890,
  sql: `CREATE TABLE \`envelopes\` (
	\`id\` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	\`sensor\` text NOT NULL,
	\`send_time\` text NOT NULL,
	\`received_at\` integer NOT NULL,
	\`event_count\` integer NOT NULL,
	\`stored_count\` integer NOT NULL,
	\`rejected_count\` integer NOT NULL,
	\`duplicate_count\` integer NOT NULL,
	\`bytes\` integer NOT NULL
);
CREATE TABLE \`events\` (
	\`seq\` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	\`envelope_id\` integer NOT NULL,
	\`sensor\` text NOT NULL,
	\`source_id\` text,
	\`type\` text,
	\`action\` text,
	\`event_time\` text,
	\`received_at\` integer NOT NULL,
	\`raw\` text NOT NULL,
	\`fate\` text NOT NULL,
	\`stage\` text,
	\`reason\` text,
	\`detail\` text,
	\`rule\` text,
	\`student_id\` text,
	\`platform_id\` text,
	\`output\` text,
	\`output_id\` text,
	\`attempts\` integer DEFAULT 0 NOT NULL,
	\`next_attempt_at\` integer,
	\`first_attempt_at\` integer,
	\`last_attempt_at\` integer,
	\`last_status\` integer,
	\`last_response\` text,
	\`delivered_at\` integer,
	\`updated_at\` integer NOT NULL,
	FOREIGN KEY (\`envelope_id\`) REFERENCES \`envelopes\`(\`id\`) ON UPDATE no action ON DELETE no action
);
CREATE UNIQUE INDEX \`events_sensor_source_id\` ON \`events\` (\`sensor\`,\`source_id\`);
CREATE INDEX \`events_pending_due\` ON \`events\` (\`stage\`,\`next_attempt_at\`) WHERE "events"."fate" = 'pending';
CREATE INDEX \`events_fate_reason\` ON \`events\` (\`fate\`,\`reason\`);
CREATE INDEX \`events_delivered_at\` ON \`events\` (\`delivered_at\`) WHERE "events"."fate" = 'delivered';
CREATE INDEX \`events_envelope_id\` ON \`events\` (\`envelope_id\`);
CREATE TABLE \`meta\` (
	\`key\` text PRIMARY KEY NOT NULL,
	\`value\` text NOT NULL,
	\`updated_at\` integer NOT NULL
);
CREATE TABLE \`roster_cache\` (
	\`external_id\` text PRIMARY KEY NOT NULL,
	\`platform_id\` text,
	\`outcome\` text NOT NULL,
	\`strategy\` text,
	\`detail\` text,
	\`learned_at\` integer NOT NULL
);`,
};

/** The first draft (the scaffold's): no roster detail, no first_attempt_at, no envelope index. */
const FIRST_DRAFT_INITIAL = {
  when: 1795319630751,
  sql: DRAFT_INITIAL.sql
    .replace('\t`first_attempt_at` integer,\n', '')
    .replace('CREATE INDEX `events_envelope_id` ON `events` (`envelope_id`);\n', '')
    .replace('\t`detail` text,\n\t`learned_at`', '\t`learned_at`'),
};

export interface OldSchema {
  name: string;
  /** Makes the database at `file` as that release left it, without rows. */
  create(file: string): void;
}

function draft({ when, sql }: { when: number; sql: string }) {
  return (file: string) => {
    const db = new Database(file);
    // Releases before 16 KiB pages made 4 KiB ones.
    db.pragma('page_size = 4096');
    db.pragma('journal_mode = WAL');
    db.exec(sql);
    db.exec('CREATE TABLE "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)');
    db.prepare('INSERT INTO "__drizzle_migrations" (hash, created_at) VALUES (?, ?)').run(createHash('sha256').update(sql).digest('hex'), when);
    db.close();
  };
}

/** The release that shipped only the first `count` migrations, through drizzle's migrator as it ran them. */
function shipped(count: number) {
  return (file: string) => {
    const folder = mkdtempSync(join(tmpdir(), 'caliper-gateway-migrations-'));
    try {
      cpSync(MIGRATIONS_DIR, folder, { recursive: true });
      const journalFile = join(folder, 'meta', '_journal.json');
      const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: JournalEntry[] };
      journal.entries = journal.entries.slice(0, count);
      writeFileSync(journalFile, JSON.stringify(journal));
      const db = new Database(file);
      if (count === 1) db.pragma('page_size = 4096');
      db.pragma('journal_mode = WAL');
      migrate(drizzle(db), { migrationsFolder: folder });
      db.close();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  };
}

/** Every schema an earlier release left, oldest first. */
export const OLD_SCHEMAS: OldSchema[] = [
  { name: 'the first draft of 0000_initial', create: draft(FIRST_DRAFT_INITIAL) },
  { name: 'the last draft of 0000_initial (input in events.raw)', create: draft(DRAFT_INITIAL) },
  ...SHIPPED_MIGRATIONS.slice(0, -1).map((entry, i) => ({ name: `migrations up to ${entry.tag}`, create: shipped(i + 1) })),
];

export const KNOWN_STUDENT = { externalId: 'stu-0042', platformId: '5d2b7e90-3c4a-4f1e-9a6b-0c8d2e4f6a13' };
export const UNKNOWN_STUDENT = { externalId: 'stu-0077', platformId: '6e3c8fa1-4d5b-4a2f-8b7c-1d9e3f5a7b24' };
export const INGEST_KEY = 'ingest-key-kept-since-an-old-release';

export interface SeededEvent {
  seq: number;
  fate: string;
  reason: string | null;
  stage: string | null;
  outputId: string | null;
  input: string;
  /** The Caliper 1.2 body stored for it, if it was translated. */
  output: string | null;
}

/** What the seeded rows are, by role. */
export interface SeededRows {
  delivered: SeededEvent;
  /** Translated; TimeBack answered 503 and the retry is due. */
  pendingDelivery: SeededEvent;
  /** Stored; its student's roster lookup is due again. */
  pendingTranslation: SeededEvent;
  dead: SeededEvent;
  /** Skipped because the roster did not know UNKNOWN_STUDENT. */
  notInTimeback: SeededEvent;
  noRule: SeededEvent;
  rejected: SeededEvent;
  all: SeededEvent[];
}

function outputFor(outputId: string, eventTime: string): string {
  return JSON.stringify({
    '@context': 'http://purl.imsglobal.org/ctx/caliper/v1p2',
    id: outputId,
    type: 'SessionEvent',
    actor: `urn:uuid:${KNOWN_STUDENT.platformId}`,
    action: 'LoggedIn',
    object: 'https://learn.example.edu/applications/learn',
    eventTime,
    edApp: 'urn:uuid:a5e0c6f2-1b7d-4c39-8e4a-6f2d9b1c3e70',
  });
}

/**
 * Inputs as the release that first batched them (0007_input_batches) wrote them: one batch,
 * deflated raw at level 1, its first and last seq noted on the envelope. The layout inside is
 * input-batches.ts's, written out here so that the test does not use the code it checks.
 */
function writeDeflatedBatch(db: Database.Database, envelopeId: number, inputs: Array<{ seq: number; input: string }>): void {
  const parts = inputs.map(({ input }) => Buffer.from(input, 'utf8'));
  const header = Buffer.alloc(4 + inputs.length * 8);
  header.writeUInt32LE(inputs.length, 0);
  inputs.forEach(({ seq }, i) => {
    header.writeUInt32LE(seq - inputs[0]!.seq, 4 + i * 4);
    header.writeUInt32LE(parts[i]!.byteLength, 4 + inputs.length * 4 + i * 4);
  });
  const firstSeq = inputs[0]!.seq;
  const lastSeq = inputs.at(-1)!.seq;
  db.prepare('INSERT INTO event_input_batches (first_seq, last_seq, data) VALUES (?, ?, ?)').run(
    firstSeq,
    lastSeq,
    deflateRawSync(Buffer.concat([header, ...parts]), { level: 1 }),
  );
  db.prepare('UPDATE envelopes SET first_seq = ?, last_seq = ? WHERE id = ?').run(firstSeq, lastSeq, envelopeId);
}

/**
 * One event in every fate, a found and a not-found roster answer and the digest of a generated
 * ingest key, written in whatever columns the database has: the input in events.raw,
 * event_inputs or a deflated batch, the output in events.output or event_outputs.
 */
export function seedEveryFate(file: string): SeededRows {
  const now = Date.now();
  const db = new Database(file);
  try {
    const columns = new Set(db.prepare("SELECT name FROM pragma_table_info('events')").pluck().all() as string[]);
    const rosterColumns = new Set(db.prepare("SELECT name FROM pragma_table_info('roster_cache')").pluck().all() as string[]);
    const inputInRow = columns.has('raw');
    const inputsBatched = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'event_input_batches'").get() !== undefined;
    const batched: Array<{ seq: number; input: string }> = [];
    const outputInRow = columns.has('output');
    const sensor = 'c0ffee00-1111-4222-8333-444455556666';
    db.prepare(
      `INSERT INTO envelopes (id, sensor, send_time, received_at, event_count, stored_count, rejected_count, duplicate_count, bytes)
       VALUES (1, ?, ?, ?, 7, 7, 1, 0, 9000)`,
    ).run(sensor, new Date(now - 60_000).toISOString(), now - 60_000);

    let seq = 0;
    const add = (
      row: {
        fate: string;
        stage?: string | null;
        reason?: string | null;
        detail?: string | null;
        /** The student a rule found in the event, when one did. */
        studentId?: string;
        attempts?: number;
        nextAttemptAt?: number | null;
        lastStatus?: number | null;
        lastResponse?: string | null;
        deliveredAt?: number | null;
        translated?: boolean;
      },
      event: Record<string, unknown>,
      input = JSON.stringify(event),
    ): SeededEvent => {
      seq += 1;
      const eventTime = typeof event.eventTime === 'string' ? event.eventTime : null;
      const outputId = row.translated ? `urn:uuid:0d1e2f30-4a5b-4c6d-8e7f-${String(seq).padStart(12, '0')}` : null;
      const output = outputId ? outputFor(outputId, eventTime ?? '') : null;
      const values: Record<string, unknown> = {
        seq,
        envelope_id: 1,
        sensor,
        source_id: typeof event.id === 'string' ? event.id : null,
        type: typeof event.type === 'string' ? event.type : null,
        action: typeof event.action === 'string' ? event.action : null,
        event_time: eventTime,
        received_at: now - 60_000,
        fate: row.fate,
        stage: row.stage ?? null,
        reason: row.reason ?? null,
        detail: row.detail ?? null,
        rule: row.translated || row.studentId ? 'session-logged-in' : null,
        student_id: row.translated ? KNOWN_STUDENT.externalId : (row.studentId ?? null),
        platform_id: row.translated ? KNOWN_STUDENT.platformId : null,
        output_id: outputId,
        attempts: row.attempts ?? 0,
        next_attempt_at: row.nextAttemptAt ?? null,
        last_status: row.lastStatus ?? null,
        last_response: row.lastResponse ?? null,
        delivered_at: row.deliveredAt ?? null,
        updated_at: now - 30_000,
      };
      if (columns.has('first_attempt_at')) values.first_attempt_at = row.attempts ? now - 40_000 : null;
      if (inputInRow) values.raw = input;
      if (outputInRow) values.output = output;
      const names = Object.keys(values);
      db.prepare(`INSERT INTO events (${names.join(', ')}) VALUES (${names.map((name) => `@${name}`).join(', ')})`).run(values);
      if (inputsBatched) batched.push({ seq, input });
      else if (!inputInRow) db.prepare('INSERT INTO event_inputs (seq, raw) VALUES (?, ?)').run(seq, input);
      if (!outputInRow && output) db.prepare('INSERT INTO event_outputs (seq, output) VALUES (?, ?)').run(seq, output);
      return { seq, fate: row.fate, reason: row.reason ?? null, stage: row.stage ?? null, outputId, input, output };
    };

    const at = (second: number) => `2026-03-02T09:15:${String(second).padStart(2, '0')}.000Z`;
    const student = KNOWN_STUDENT.externalId;
    const delivered = add(
      { fate: 'delivered', translated: true, attempts: 1, lastStatus: 200, lastResponse: '{"status":"success"}', deliveredAt: now - 35_000 },
      sessionEvent({ eventTime: at(1) }, student),
    );
    const pendingDelivery = add(
      { fate: 'pending', stage: 'deliver', translated: true, attempts: 1, nextAttemptAt: now - 1_000, lastStatus: 503, lastResponse: '{"error":"unavailable"}', detail: 'attempt 1 failed (HTTP 503)' },
      sessionEvent({ eventTime: at(2) }, student),
    );
    const pendingTranslation = add(
      { fate: 'pending', stage: 'translate', attempts: 1, nextAttemptAt: now - 1_000, detail: 'identity attempt 1 failed (TimeBack roster failed (HTTP 503))' },
      sessionEvent({ eventTime: at(3) }, student),
    );
    const dead = add(
      { fate: 'dead', reason: 'http-400', translated: true, attempts: 1, lastStatus: 400, lastResponse: '{"status":"error","message":"bad event"}', detail: 'TimeBack refused the event with HTTP 400' },
      sessionEvent({ eventTime: at(4) }, student),
    );
    const notInTimeback = add(
      { fate: 'skipped', reason: 'user-not-in-timeback', studentId: UNKNOWN_STUDENT.externalId, detail: 'no TimeBack user has this identifier' },
      sessionEvent({ eventTime: at(5) }, UNKNOWN_STUDENT.externalId),
    );
    const noRule = add(
      { fate: 'skipped', reason: 'no-rule', detail: 'no rule matches' },
      sessionEvent({ eventTime: at(6), type: 'http://caliper.blackboard.com/caliper/v1/NoSuchEvent' }, student),
    );
    const rejected = add({ fate: 'rejected', reason: 'invalid-event', detail: 'data[6].type: expected the event type as a string' }, { id: 'no-type' }, '{"id":"no-type"}');
    if (inputsBatched) writeDeflatedBatch(db, 1, batched);

    const cache = db.prepare(
      `INSERT INTO roster_cache (external_id, platform_id, outcome, strategy, ${rosterColumns.has('detail') ? 'detail, ' : ''}learned_at)
       VALUES (?, ?, ?, ?, ${rosterColumns.has('detail') ? '?, ' : ''}?)`,
    );
    const detail = (text: string | null) => (rosterColumns.has('detail') ? [text] : []);
    cache.run(KNOWN_STUDENT.externalId, KNOWN_STUDENT.platformId, 'found', 'identifier', ...detail(null), now - 50_000);
    cache.run(UNKNOWN_STUDENT.externalId, null, 'not-found', null, ...detail('no TimeBack user has this identifier'), now - 50_000);
    db.prepare('INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?)').run(
      'ingest_api_key_sha256',
      createHash('sha256').update(INGEST_KEY).digest('hex'),
      now - 60_000,
    );
    const all = [delivered, pendingDelivery, pendingTranslation, dead, notInTimeback, noRule, rejected];
    return { delivered, pendingDelivery, pendingTranslation, dead, notInTimeback, noRule, rejected, all };
  } finally {
    db.close();
  }
}
