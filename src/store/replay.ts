/**
 * Replay: dead, skipped and rejected events go back to the start of the pipeline. They
 * re-resolve the student and re-translate with the current rules (a fixed roster or rule is the
 * usual reason to replay), then deliver as usual. Output ids are deterministic, so an unchanged
 * rule produces the same id and TimeBack sees a repeat, not a new event.
 *
 * Of the rejected, `invalid-output` (a rule built an event Caliper 1.2 does not allow) is what
 * a fixed rule turns into a delivered event. `invalid-event` (Learn sent it malformed) would be
 * rejected again by the same check, so a status-wide replay leaves it out; asking for its
 * reason, or naming the events, still replays them (after an upgrade that accepts the shape).
 *
 * Safe while the server runs: WAL lets this commit from another process, and the server's
 * translate stage polls for due rows. Work is done in chunks so a big replay never holds
 * the write lock long enough to stall intake.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { z } from 'zod';
import { and, eq, gte, inArray, isNotNull, ne, sql, type SQL } from 'drizzle-orm';
import { countEviction } from '../identity/roster-cache.ts';
import { MAX_EVENT_FIELD_CHARS } from '../ingest/envelope-schema.ts';
import { finiteNumber } from '../finite-number.ts';
import { EVENT_NUMBER_RANGE } from '../query-params.ts';
import type { Store } from './database.ts';
import { durably } from './durable-commit.ts';
import { retryWhileBusy, type RetryWhileBusyOptions } from './lock-wait.ts';
import { countByReason } from './event-queries.ts';
import { INVALID_EVENT } from './intake.ts';
import { events, FATES, rosterCache, type FATES_WITH_REASON } from './schema.ts';

// Only fates whose rows carry a reason: replayCondition relies on it to use the (fate, reason) index.
export const REPLAYABLE_FATES = ['dead', 'skipped', 'rejected'] as const satisfies ReadonlyArray<
  (typeof FATES_WITH_REASON)[number]
>;
export type ReplayableFate = (typeof REPLAYABLE_FATES)[number];

/**
 * A replayable fate, by its name in GET /admin/events. Its error says why a fate that is
 * not replayable is refused: "must be one of" alone reads as if `delivered` were misspelt.
 */
const ReplayableFateSchema = z.enum(REPLAYABLE_FATES, {
  error: (issue) =>
    `${typeof issue.input === 'string' && (FATES as readonly string[]).includes(issue.input) ? `${issue.input} events are not replayed; ` : ''}must be one of ${REPLAYABLE_FATES.join(', ')}`,
});

/** Longer than any reason the gateway gives (the longest, `user-not-in-timeback`, has 20). */
export const MAX_REASON_CHARS = 100;

/**
 * A reason asked for, by replay and GET /admin/events alike. The gateway's reasons are short
 * codes (`http-400`, `user-not-in-timeback`): a longer one matches no event. Refused by length,
 * so replay's `unknownReason`, which echoes it, never carries a megabyte the admin pasted by
 * mistake, and the list refuses what replay refuses.
 */
export const ReasonFilterSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_REASON_CHARS, `must be at most ${MAX_REASON_CHARS} characters; reasons are short codes such as http-400`);

/**
 * The longest Learn or output id a replay names: the longest id intake takes. Learn's event
 * ids are UUIDs (36 characters) and the gateway's output ids `urn:uuid:` ones (45). Intake
 * rejects an event with a longer id and keeps a short stand-in for it (eventSummary), and
 * databases from before kept such ids whole: either is named by its event number. Unbounded,
 * an id of half a megabyte inside the body limit was looked up and came back whole in the
 * answer's `notReplayed`.
 */
export const MAX_REPLAY_ID_CHARS = MAX_EVENT_FIELD_CHARS;

const LearnOrOutputIdSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_REPLAY_ID_CHARS, {
    // Its length, never the id: a message names the place in the request, not what was there.
    error: (issue) =>
      `must be at most ${MAX_REPLAY_ID_CHARS} characters (this one has ${String(issue.input).length}); name an event with a longer id by its event number`,
  });

/**
 * An event number among a replay's ids, refused with its range whatever is wrong with it. Past
 * 2^53 - 1 it was zod's "Too big: expected int to be <=9007199254740991", and 1e400 (Infinity
 * to JSON.parse, as 309 digits are to the CLI) "Invalid input": it is read as the largest
 * double of its sign, which the range refuses. Text is left to the id arm of the union.
 */
const EventNumberSchema = z.preprocess(
  (value) => (typeof value === 'number' ? finiteNumber(value) : value),
  // One check, which does not abort: the union reports an arm's own issue only when it did not.
  z.number().refine((number) => number >= 1 && Number.isSafeInteger(number), EVENT_NUMBER_RANGE),
);

/**
 * What to replay. The CLI flags and POST /admin/replay share this shape. The contract names
 * the filter `status` for replay and `fate` for GET /admin/events; either name is taken in
 * both places (once), with the same values.
 */
export const ReplayFilterSchema = z
  .strictObject(
    {
      /**
       * Default: `dead`, or every replayable fate when `ids` or a `reason` are given: naming the
       * events, or why they stopped, is explicit enough (a reason belongs to one fate anyway).
       */
      status: ReplayableFateSchema.optional(),
      fate: ReplayableFateSchema.optional(),
      reason: ReasonFilterSchema.optional(),
      /** Only events received at or after this instant (ISO 8601; a date alone is its midnight UTC). */
      since: z
        .union([z.iso.datetime({ offset: true }), z.iso.date()], {
          error: 'must be an ISO 8601 date-time or date, e.g. 2026-11-01T00:00:00Z or 2026-11-01',
        })
        .optional(),
      /**
       * Event numbers (seq, as the admin list shows them), Learn event ids, or output ids. An
       * empty list is refused, as an empty `reason` is and `roster-cache evict` without an id:
       * it names no event, and comes from a script whose own filter found nothing, which a
       * 200 with `requeued: 0` would let pass as a replay done.
       */
      ids: z
        .array(z.union([EventNumberSchema, LearnOrOutputIdSchema]))
        .min(1, 'give at least one event number or id; an empty list names no event')
        .max(10_000, 'name at most 10,000 events per replay')
        .optional(),
    },
    {
      // POST /admin/replay: `{"id": [4711]}`, after the CLI's --id, must say which key it wants.
      error: (issue) => (issue.code === 'unrecognized_keys' ? 'unknown field; use status (or fate), reason, since, ids' : undefined),
    },
  )
  .superRefine((filter, ctx) => {
    if (filter.status !== undefined && filter.fate !== undefined && filter.status !== filter.fate) {
      ctx.addIssue({ code: 'custom', path: ['fate'], message: 'status and fate are one filter; give one' });
    }
  })
  .transform(({ fate, ...filter }) => (fate === undefined ? filter : { ...filter, status: fate }));

export type ReplayFilter = z.infer<typeof ReplayFilterSchema>;

export interface ReplayedEvent {
  seq: number;
  sourceId: string | null;
  /** The id its last translation had (it keeps it if the rule is unchanged); null when never translated. */
  outputId: string | null;
  previousFate: ReplayableFate;
  previousReason: string | null;
}

const CHUNK = 1_000;

/** Puts matching events back to `pending` at the translate stage, due now. */
export function replayEvents(store: Store, filter: ReplayFilter, now: number): ReplayedEvent[] {
  const replay = startReplay(store, filter, now);
  while (replay.next());
  return replay.replayed;
}

/**
 * Runs `replay` to the end a chunk at a time, for writers that must not hold the event loop or
 * fail on a lock someone else holds a while (POST /admin/replay, and the command beside a
 * running gateway). Each chunk waits for the write lock EVENT_LOOP_LOCK_WAIT_MS at a time, not
 * the connection's 5 s: behind the writer thread's commit of a large envelope, the event loop
 * (and every request) would otherwise wait with it; and a chunk that cannot have the lock is
 * tried again until `options.giveUpAfterMs`, then the SQLITE_BUSY is thrown. The event loop
 * runs between chunks, so Learn's requests are served meanwhile: in one go, replaying 150,000
 * skipped events held every request up for about 8 s. What was replayed before a throw stays
 * replayed, and is in `replay.replayed`.
 */
export async function replayInTurns(store: Store, replay: Replay, options: RetryWhileBusyOptions = {}): Promise<ReplayedEvent[]> {
  while (await retryWhileBusy(store.sqlite, () => replay.next(), options)) await nextTurn();
  return replay.replayed;
}

/**
 * A replay under way: `next()` re-queues one chunk and says whether any is left; `replayed`
 * grows as it goes. A chunk that throws (SQLITE_BUSY) wrote nothing and is tried again by the
 * next call.
 */
export interface Replay {
  next(): boolean;
  readonly replayed: ReplayedEvent[];
}

/** Finds the events `filter` matches; `next()` then re-queues them a chunk at a time. */
export function startReplay(store: Store, filter: ReplayFilter, now: number): Replay {
  const named = filter.ids === undefined ? undefined : namedSeqs(store, filter.ids);
  const where = replayCondition(filter, named);
  // Every match is found in one read, then re-queued a chunk at a time by seq. Each chunk
  // used to look for the next 1,000 matches in seq order: SQLite read and sorted every match
  // left (and every event of the fate that --since left out) for each chunk. Replaying 150,000
  // skipped events spent 5.5 s in those reads (now 1.3 s), and 12,000 of them with --since
  // took 9.8 s in all (now 1.8 s).
  // Named events by rowid (NOT INDEXED: the planner would read the fates' range of the (fate,
  // reason) index instead).
  const found =
    named === undefined
      ? store.db.select({ seq: events.seq }).from(events).where(where).all()
      : store.db.all<{ seq: number }>(sql`SELECT seq FROM ${events} NOT INDEXED WHERE ${where}`);
  const seqs = found.map((row) => row.seq).sort((a, b) => a - b);
  const replayed: ReplayedEvent[] = [];
  const chunk = store.sqlite.transaction((batch: number[]) => {
    // By seq, and only the events that still match: one may have changed since it was found.
    // NOT INDEXED: read by rowid; the planner, which has no statistics, took the (fate, reason)
    // index and read every match again for each chunk.
    const rows = store.db.all<{ seq: number; sourceId: string | null; outputId: string | null; fate: string; reason: string | null; studentId: string | null }>(
      sql`SELECT seq, source_id AS sourceId, output_id AS outputId, fate, reason, student_id AS studentId FROM ${events} NOT INDEXED
           WHERE ${inArray(events.seq, batch)} AND ${where} ORDER BY seq`,
    );
    if (rows.length === 0) return [];
    store.db
      .update(events)
      .set({
        fate: 'pending',
        stage: 'translate',
        reason: null,
        detail: null,
        attempts: 0,
        nextAttemptAt: now,
        firstAttemptAt: null,
        updatedAt: now,
      })
      .where(inArray(events.seq, rows.map((row) => row.seq)))
      .run();
    forgetUnfoundStudents(store, rows, now);
    return rows;
  });
  // Each chunk is its own short transaction, so intake never waits long for the write lock;
  // each is fsynced before the next (durable-commit.ts), so what the admin is told was
  // replayed survives a power cut even on the service's connection, which otherwise runs NORMAL.
  let start = 0;
  return {
    next() {
      if (start >= seqs.length) return false;
      const batch = seqs.slice(start, start + CHUNK);
      const rows = durably(store.sqlite, () => chunk.immediate(batch));
      // Only once it is committed: a chunk that failed is not half counted when tried again.
      start += batch.length;
      for (const row of rows) {
        replayed.push({
          seq: row.seq,
          sourceId: row.sourceId,
          outputId: row.outputId,
          previousFate: row.fate as ReplayableFate,
          previousReason: row.reason,
        });
      }
      return start < seqs.length;
    },
    replayed,
  };
}

/**
 * Replaying is how an admin says "the roster is fixed now". Without this, a student the
 * cache remembers as not found (or ambiguous) would be skipped again until
 * ROSTER_NEGATIVE_TTL ran out. Found answers stay: replaying a dead event is no reason
 * to doubt them (`roster-cache evict` is). It counts as an eviction, so a lookup of one of
 * these students still in flight (with the roster's answer from before the fix) is not
 * cached, nor shared with the replayed events.
 */
function forgetUnfoundStudents(store: Store, rows: ReadonlyArray<{ studentId: string | null }>, now: number) {
  const students = [...new Set(rows.flatMap((row) => (row.studentId ? [row.studentId] : [])))];
  if (students.length === 0) return;
  store.db
    .delete(rosterCache)
    .where(and(inArray(rosterCache.externalId, students), ne(rosterCache.outcome, 'found')))
    .run();
  countEviction(store, now);
}

/** A reason asked for that no replayable event has, and the reasons they have (sorted; empty when none has any). */
export interface UnknownReason {
  reason: string;
  reasons: string[];
}

/**
 * A reason no dead, skipped or rejected event has at all is most likely mistyped (`http400`):
 * "nothing matched" alone reads as if there were none to replay. Says so with the reasons there
 * are (from the index), for the command and POST /admin/replay alike; undefined when the filter
 * names no reason, or one some event has (another filter then left those events out).
 */
export function unknownReason(store: Store, filter: ReplayFilter): UnknownReason | undefined {
  if (filter.reason === undefined) return undefined;
  const reasons = [...new Set(Object.keys(countByReason(store)).map((key) => key.slice(key.indexOf(':') + 1)))].sort();
  return reasons.includes(filter.reason) ? undefined : { reason: filter.reason, reasons };
}

/** A named event that a replay left alone, and where it stands. */
export interface UnreplayedId {
  id: number | string;
  /** The current fates of the events the id names (a Learn id can name more than one); empty when none of `lookedIn`. */
  fates: string[];
  /**
   * The fates the id was looked for in: every fate for an event number; for a Learn or output
   * id, the replayable ones, which alone are indexed by those ids, so one with no fates may
   * still name a pending or delivered event.
   */
  lookedIn: readonly string[];
}

/**
 * The ids of `filter.ids` that named no replayed event, with the fates of the events they do
 * name, so a replay that re-queued less than was named can say why: a delivered or pending
 * event is not replayed, a dead one may be outside --status or --since, and an id may not be
 * there at all.
 */
export function unreplayedIds(store: Store, filter: ReplayFilter, replayed: readonly ReplayedEvent[]): UnreplayedId[] {
  if (filter.ids === undefined) return [];
  const seqs = new Set(replayed.map((event) => event.seq));
  // A replayed event is pending now, out of the indexes below: its ids are known here.
  const names = new Set(replayed.flatMap((event) => [event.sourceId, event.outputId]));
  const rest = [...new Set(filter.ids)].filter((id) => !(typeof id === 'number' ? seqs.has(id) : names.has(id)));
  if (rest.length === 0) return [];
  const numbers = rest.filter((id) => typeof id === 'number');
  const unknownNames = JSON.stringify(rest.filter((id) => typeof id === 'string'));
  type Named = { seq: number; fate: string; source_id: string | null; output_id: string | null };
  // Event numbers by rowid. In one statement with the ids below, `seq IN … OR source_id IN …`
  // read the whole table even when only numbers were named: 0.7 s on 2.5 million events.
  const rows =
    numbers.length === 0
      ? []
      : store.sqlite
          .prepare<[string], Named>(`SELECT seq, fate, source_id, output_id FROM events WHERE seq IN (SELECT value FROM json_each(?))`)
          .all(JSON.stringify(numbers));
  // Learn and output ids among the replayable events, from their partial indexes. Looking
  // for them among all events read the whole table (0.6-0.8 s on 2 million events, on the
  // service's event loop for POST /admin/replay): an index of every event's ids would cost
  // each one at intake (see schema.ts).
  if (unknownNames !== '[]') {
    for (const [column, index] of [
      ['source_id', 'events_settled_source_id'],
      ['output_id', 'events_settled_output_id'],
    ] as const) {
      rows.push(
        ...store.sqlite
          .prepare<[string], Named>(
            `SELECT seq, fate, source_id, output_id FROM events INDEXED BY ${index}
              WHERE ${column} IN (SELECT value FROM json_each(?)) AND reason IS NOT NULL`,
          )
          .all(unknownNames),
      );
    }
  }
  const unreplayed: UnreplayedId[] = [];
  for (const id of rest) {
    const named = rows.filter((row) => (typeof id === 'number' ? row.seq === id : row.source_id === id || row.output_id === id));
    // A Learn or output id that also named a replayed event is done.
    if (named.some((row) => seqs.has(row.seq))) continue;
    unreplayed.push({ id, fates: [...new Set(named.map((row) => row.fate))], lookedIn: typeof id === 'number' ? FATES : REPLAYABLE_FATES });
  }
  return unreplayed;
}

/**
 * The events `ids` name that a replay could take: event numbers as they are, and the
 * replayable events with one of the Learn or output ids, each kind of id found in its own
 * partial index. In one OR with the rest of the filter, SQLite used neither index and read
 * every exception row (0.7 s on 2 million events) to replay one event named by Learn id.
 */
function namedSeqs(store: Store, ids: NonNullable<ReplayFilter['ids']>): number[] {
  const seqs = ids.filter((id): id is number => typeof id === 'number');
  const names = JSON.stringify(ids.filter((id): id is string => typeof id === 'string'));
  if (names === '[]') return seqs;
  for (const [column, index] of [
    ['source_id', 'events_settled_source_id'],
    ['output_id', 'events_settled_output_id'],
  ] as const) {
    seqs.push(
      ...store.sqlite
        .prepare<[string], number>(
          `SELECT seq FROM events INDEXED BY ${index} WHERE ${column} IN (SELECT value FROM json_each(?)) AND reason IS NOT NULL`,
        )
        .pluck()
        .all(names),
    );
  }
  return [...new Set(seqs)];
}

function replayCondition(filter: ReplayFilter, named: readonly number[] | undefined): SQL {
  const explicit = filter.ids !== undefined || filter.reason !== undefined;
  const fates = filter.status ? [filter.status] : explicit ? [...REPLAYABLE_FATES] : ['dead' as const];
  // Every replayable fate carries a reason (see REPLAYABLE_FATES): saying so lets the planner use the index.
  const conditions: SQL[] = [inArray(events.fate, fates), isNotNull(events.reason)];
  if (filter.reason !== undefined) conditions.push(eq(events.reason, filter.reason));
  // Malformed input is rejected again however often it is replayed: only by reason or id.
  else if (filter.status === 'rejected' && filter.ids === undefined) conditions.push(ne(events.reason, INVALID_EVENT));
  if (filter.since !== undefined) conditions.push(gte(events.receivedAt, Date.parse(filter.since)));
  // By rowid, from a list in one parameter: a Learn id may name several events, and each
  // would otherwise take one of SQLite's host parameters.
  if (named !== undefined) conditions.push(sql`${events.seq} IN (SELECT value FROM json_each(${JSON.stringify(named)}))`);
  return and(...conditions) as SQL;
}
