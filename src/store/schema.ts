/**
 * The gateway's tables. One row per accepted event carries it through every stage
 * (the outbox pattern): its current fate, its translation, and what delivery last heard.
 * The event's two large texts sit beside it, each in a table of its own: as received in
 * `event_input_batches` (written at intake, read when translating) and as we send it in
 * `event_outputs` (written when translated, read when delivering). The `events` row is
 * rewritten at every step, and SQLite rewrites a whole row to change one column of it, so
 * it is kept small. Times are epoch milliseconds (integers compare and index cheaply).
 */
import { sql } from 'drizzle-orm';
import { blob, index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/**
 * `next_attempt_at` of an event held until the gateway is configured (translate-worker.ts):
 * never, by the clock. The last instant a JavaScript Date can hold, so it still reads as one.
 */
export const UNTIL_CONFIGURED = 8_640_000_000_000_000;

export const FATES = ['pending', 'delivered', 'skipped', 'rejected', 'dead'] as const;
export type Fate = (typeof FATES)[number];

/**
 * The fates that settle an event short of delivery. Their rows always carry a `reason`, and
 * only theirs do: the (fate, reason) index holds just these rows.
 */
export const FATES_WITH_REASON = ['skipped', 'rejected', 'dead'] as const satisfies readonly Fate[];

/** While an event is pending, the step it waits for. */
export const STAGES = ['translate', 'deliver'] as const;
export type Stage = (typeof STAGES)[number];

/** One row per accepted POST /caliper, for audit: who sent what, when. */
export const envelopes = sqliteTable('envelopes', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  sensor: text('sensor').notNull(),
  sendTime: text('send_time').notNull(),
  receivedAt: integer('received_at').notNull(),
  eventCount: integer('event_count').notNull(),
  storedCount: integer('stored_count').notNull(),
  rejectedCount: integer('rejected_count').notNull(),
  duplicateCount: integer('duplicate_count').notNull(),
  bytes: integer('bytes').notNull(),
  /**
   * The seqs of the first and last event stored from it (null when none was, or the envelope
   * came before inputs were kept in batches): its inputs' batches lie in this range. Retention
   * takes a pruned event's input out of its batch, and the rest go with the envelope.
   */
  firstSeq: integer('first_seq'),
  lastSeq: integer('last_seq'),
});

export const events = sqliteTable(
  'events',
  {
    // AUTOINCREMENT so a pruned event's number is never reused for another event.
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    envelopeId: integer('envelope_id')
      .notNull()
      .references(() => envelopes.id),
    sensor: text('sensor').notNull(),
    /** The event id as Learn sent it (often a bare UUID); null when the event had none. */
    sourceId: text('source_id'),
    type: text('type'),
    action: text('action'),
    eventTime: text('event_time'),
    receivedAt: integer('received_at').notNull(),

    fate: text('fate', { enum: FATES }).notNull(),
    stage: text('stage', { enum: STAGES }),
    /**
     * Machine-readable why for skipped/rejected/dead (e.g. `no-rule`, `http-400`); always set
     * for those fates and null for pending and delivered, which the fate counts rely on.
     */
    reason: text('reason'),
    /** Human-readable detail: validation message, rule's skip reason, or last error. */
    detail: text('detail'),

    /** The id of the mapping rule that matched (unique across all rule files). */
    rule: text('rule'),
    /** The student's Learn id (batch_uid) the rule found, and what TimeBack calls them. */
    studentId: text('student_id'),
    platformId: text('platform_id'),
    /** The id of the Caliper 1.2 event we POST (the event itself is in `event_outputs`). */
    outputId: text('output_id'),

    /** Attempts at the current stage (identity lookups while translating, POSTs while delivering). */
    attempts: integer('attempts').notNull().default(0),
    /** When the event is due at its stage; UNTIL_CONFIGURED while it waits for the gateway's set-up. */
    nextAttemptAt: integer('next_attempt_at'),
    /**
     * When the current stage first tried this event: translation while its student's identity
     * cannot be resolved, then delivery (translation clears it when it hands the event over;
     * a replay resets it). DELIVERY_MAX_AGE counts from here, not from receipt, so a replayed
     * old event gets a fresh budget and an event that waited for credentials is never declared
     * dead before it was tried.
     */
    firstAttemptAt: integer('first_attempt_at'),
    lastAttemptAt: integer('last_attempt_at'),
    lastStatus: integer('last_status'),
    lastResponse: text('last_response'),
    deliveredAt: integer('delivered_at'),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    // A resend of the same event (same sensor, id and eventTime) is stored once. The time is
    // part of the key for two reasons: Learn's ids are not promised unique (its own samples
    // reuse one id for different events), and it keeps the index in time order. Keyed by
    // the random id alone, each new event landed on a random leaf of a large index, and
    // every commit rewrote one 4 KB page per event to the WAL: measured here, half of what
    // intake wrote. Led by the time, new events fill the last few leaves.
    uniqueIndex('events_sensor_time_id').on(t.sensor, t.eventTime, t.sourceId),
    // An event without an eventTime (it is stored as rejected) escapes the unique index above,
    // where NULLs never collide: intake looks for its resend here instead. Not a unique index,
    // so it could be added to databases that already hold such resends.
    index('events_sensor_id_untimed')
      .on(t.sensor, t.sourceId)
      .where(sql`${t.eventTime} IS NULL`),
    // The workers' queue: only pending rows are indexed, so the index stays small.
    index('events_pending_due')
      .on(t.stage, t.nextAttemptAt)
      .where(sql`${t.fate} = 'pending'`),
    // Only the exceptions (skipped, rejected, dead: the rows that carry a reason) are indexed
    // by fate and reason, for the admin's lists, replays and counts. Pending and delivered rows
    // have their own partial indexes, and indexing them here too cost every event an entry at
    // intake and a move when it was delivered.
    index('events_settled_reason')
      .on(t.fate, t.reason)
      .where(sql`${t.reason} IS NOT NULL`),
    // `replay --id` names events by Learn id or output id: without these, naming one read every
    // exception row, 0.7 s on 2 million events. Only the replayable rows (those with a reason)
    // are indexed by them: an entry for every event would cost each one a write to a random
    // leaf at intake (see above). Each skipped, rejected or dead event still pays one such write
    // for its Learn id when it settles, and one to leave when replayed; only dead events and
    // invalid-output ones keep an output id, so few pay for the second.
    index('events_settled_source_id')
      .on(t.sourceId)
      .where(sql`${t.reason} IS NOT NULL AND ${t.sourceId} IS NOT NULL`),
    index('events_settled_output_id')
      .on(t.outputId)
      .where(sql`${t.reason} IS NOT NULL AND ${t.outputId} IS NOT NULL`),
    index('events_delivered_at')
      .on(t.deliveredAt)
      .where(sql`${t.fate} = 'delivered'`),
    // SKIPPED_RETENTION reads the oldest skipped rows from here, as retention reads delivered
    // ones above; the (fate, reason) index has no time in it.
    index('events_skipped_at')
      .on(t.updatedAt)
      .where(sql`${t.fate} = 'skipped'`),
    // Retention deletes envelopes whose events are all pruned: both that check and the
    // foreign-key check on delete look events up by envelope.
    index('events_envelope_id').on(t.envelopeId),
  ],
);

/**
 * The events' JSON as received, compressed together, up to a few hundred events of one
 * envelope a row (input-batches.ts): translation and replays always start from here. The
 * key is the seq of the first event in the batch; `last_seq` the last.
 *
 * One row per event, as text, this was three-quarters of what intake wrote: each event's
 * 2-5 KB went into the WAL, then into the database file at the next checkpoint. Learn's
 * events repeat the same IRIs and contexts, and an envelope's worth compressed together takes
 * a tenth of the room; 25-event intake gained about a tenth (see bench/README.md).
 */
export const eventInputBatches = sqliteTable('event_input_batches', {
  firstSeq: integer('first_seq').primaryKey(),
  lastSeq: integer('last_seq').notNull(),
  // How `data` is compressed (InputCodec). Intake names it on every row; the default is
  // for the rows of the release that only deflated.
  codec: text('codec', { enum: ['deflate-raw', 'brotli'] }).notNull().default('deflate-raw'),
  data: blob('data', { mode: 'buffer' }).notNull(),
});

/**
 * Each event's JSON as received, one row per event: how databases made before
 * event_input_batches kept them. Read for those events until retention prunes them; nothing
 * new is written here.
 */
export const eventInputs = sqliteTable('event_inputs', {
  seq: integer('seq')
    .primaryKey()
    .references(() => events.seq, { onDelete: 'cascade' }),
  raw: text('raw').notNull(),
});

/**
 * The Caliper 1.2 event we POST, as JSON text: the whole request body. Present while the
 * event waits for delivery and after it settled there, so the admin can see what was sent;
 * a new translation replaces it, and a translation that settles the event removes it.
 * In the `events` row, it was rewritten with every delivery result: the writer thread took
 * 6.7-7.3 µs per delivered event instead of 5.1-5.5, and delivery ran about 9% slower.
 */
export const eventOutputs = sqliteTable('event_outputs', {
  seq: integer('seq')
    .primaryKey()
    .references(() => events.seq, { onDelete: 'cascade' }),
  output: text('output').notNull(),
});

export const ROSTER_OUTCOMES = ['found', 'not-found', 'ambiguous'] as const;
export type RosterOutcome = (typeof ROSTER_OUTCOMES)[number];

/** Learn externalId (batch_uid) → TimeBack platform id, or a remembered "not found". */
export const rosterCache = sqliteTable('roster_cache', {
  externalId: text('external_id').primaryKey(),
  /** Null when the roster had no such user (or more than one). */
  platformId: text('platform_id'),
  outcome: text('outcome', { enum: ROSTER_OUTCOMES }).notNull(),
  /** The ROSTER_MATCH strategy that answered (null when none matched). */
  strategy: text('strategy'),
  /** Why, for people: e.g. how many users matched an ambiguous lookup. */
  detail: text('detail'),
  learnedAt: integer('learned_at').notNull(),
});

/** Small facts the gateway keeps about itself (e.g. the hash of a generated ingest key). */
export const meta = sqliteTable('meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export type EventRow = typeof events.$inferSelect;
export type NewEventRow = typeof events.$inferInsert;
export type RosterCacheRow = typeof rosterCache.$inferSelect;
