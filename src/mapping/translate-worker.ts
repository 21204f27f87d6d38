/**
 * The translate stage inside the service: takes stored events waiting at `stage = 'translate'`,
 * translates them with the active rules, and records every outcome of a batch in one
 * transaction: deliverable events move on to `stage = 'deliver'`, the rest get their fate.
 *
 * Woken when intake stores events, by a timer for the earliest due retry, and by a slow safety
 * poll (a replay from the CLI writes from another process). A few batches run at once, so
 * one slow roster lookup delays its own batch, not every event behind it.
 *
 * It runs before the gateway is configured for TimeBack too: an admin setting it up sees at
 * once which events no rule takes, which a rule skips and which Learn sent malformed. An
 * event that needs the student's TimeBack id (credentials) or the app id is held until the
 * gateway runs with them (UNTIL_CONFIGURED), untried: its retry budget has not begun.
 */
import type { Config } from '../config.ts';
import type { BackoffPolicy } from '../deliver/backoff.ts';
import { DEFAULT_BACKOFF } from '../deliver/backoff.ts';
import type { IdentityResolver } from '../identity/identity-resolver.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Store } from '../store/database.ts';
import { createInputReader } from '../store/input-batches.ts';
import { UNTIL_CONFIGURED } from '../store/schema.ts';
import { createStoreWriter, type StoreWriter } from '../store/writer.ts';
import type { RuleSet } from './rule-set.ts';
import { REJECT_REASONS, SKIP_REASONS, translate, WAITING_FOR_APP_ID, type TranslateItem } from './translate.ts';
import { outcomeWrite, ROSTER_UNAVAILABLE, type RetryPolicy } from './outcome-writes.ts';
import { TRANSLATION_WRITE_SQL, type TranslationWrite } from './translation-writes.ts';
import { createWakeTimer, untilDoneOrDeadline } from '../worker-timers.ts';
import { errorMessage } from '../errors.ts';
import { createLogTally } from '../log-tally.ts';

export interface TranslateTuning {
  /** Events per batch (one transaction of results per batch). */
  batchSize: number;
  /** Batches in flight at once. */
  concurrency: number;
  /** Safety poll for rows no one told us about. */
  pollIntervalMs: number;
  /** Backoff for events whose student the roster could not answer for. */
  backoff: BackoffPolicy;
  /**
   * Input batches a claim may decompress, on the event loop (see store/input-batches.ts): the
   * rows whose inputs lie in further batches wait for the next claim.
   */
  inputBatchesPerClaim: number;
}

export interface TranslateWorkerDeps {
  config: Config;
  store: Store;
  log: Logger;
  metrics: Metrics;
  identity: IdentityResolver;
  /** The rules to use now (hot reload swaps them); undefined while none are active. */
  rules: () => RuleSet | undefined;
  /** Commits each batch's results (default: on `store`'s connection, on the event loop). */
  writer?: StoreWriter;
  /** Called after a batch made events deliverable (wakes delivery). */
  onTranslated?: () => void;
  now?: () => number;
  /** Random source for jitter, in [0, 1). */
  random?: () => number;
  tuning?: Partial<TranslateTuning>;
}

export interface TranslateWorker {
  readonly name: 'translate';
  start(): void;
  /** Events were stored (or became due): look now instead of at the next poll. */
  wake(): void;
  /** Takes no new batches; waits for those in flight until `deadline` (Date.now() time), then leaves the rest pending. */
  stop(deadline: number): Promise<void>;
  /** Why translation is failing (its results cannot be committed), for /readyz; empty when fine. */
  problems(): string[];
}

interface DueRow {
  seq: number;
  sensor: string;
  attempts: number;
  firstAttemptAt: number | null;
  /** The event as received (read once the row is claimed); undefined when it is missing. */
  raw?: string | undefined;
}

const DUE_COLUMNS = `e.seq, e.sensor, e.attempts, e.first_attempt_at AS firstAttemptAt`;
const DUE_FROM = `events AS e INDEXED BY events_pending_due`;

/** The statements, exported so a test can check their query plans. */
export const TRANSLATE_SQL = {
  // Same shape as delivery's: rows stored without a time first (NULL would fail `<= ?`),
  // then rows whose time has come, both read from the partial index of pending rows. Then the
  // rows held until the gateway was configured, once it is (`released` is UNTIL_CONFIGURED
  // then, else a time no row has): read as due, not updated one by one, as a school may have
  // sent weeks of events before anyone set the credentials.
  due: `
    SELECT ${DUE_COLUMNS} FROM ${DUE_FROM}
     WHERE e.fate = 'pending' AND e.stage = 'translate' AND e.next_attempt_at IS NULL
    UNION ALL
    SELECT ${DUE_COLUMNS} FROM ${DUE_FROM}
     WHERE e.fate = 'pending' AND e.stage = 'translate' AND e.next_attempt_at <= @now
    UNION ALL
    SELECT ${DUE_COLUMNS} FROM ${DUE_FROM}
     WHERE e.fate = 'pending' AND e.stage = 'translate' AND e.next_attempt_at = @released
    LIMIT @limit`,
  nextDue: `
    SELECT MIN(next_attempt_at) AS at FROM events INDEXED BY events_pending_due
     WHERE fate = 'pending' AND stage = 'translate' AND next_attempt_at > ? AND next_attempt_at < ${UNTIL_CONFIGURED}`,
  // After a commit of results whose outcome is unknown: which of the batch's rows it moved on.
  // By rowid (NOT INDEXED), as delivery loads its rows.
  movedOn: `
    SELECT seq FROM events NOT INDEXED
     WHERE seq IN (SELECT value FROM json_each(?)) AND updated_at = ? AND NOT (fate = 'pending' AND stage = 'translate')`,
  ...TRANSLATION_WRITE_SQL,
};

export function createTranslateWorker(deps: TranslateWorkerDeps): TranslateWorker {
  const { config, store, log, metrics, identity } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const tuning: TranslateTuning = {
    batchSize: 256,
    inputBatchesPerClaim: 16,
    concurrency: 4,
    pollIntervalMs: 2_000,
    backoff: { baseMs: DEFAULT_BACKOFF.baseMs, capMs: config.delivery.backoffCapMs },
    ...deps.tuning,
  };
  const appId = config.timeback.appId;
  const retryPolicy: RetryPolicy = { backoff: tuning.backoff, maxAgeMs: config.delivery.maxAgeMs, random };

  // Every reason this stage can give exists from the start, at 0: a series that first appears
  // at 1 has no earlier sample, so rate() and increase() miss the first skip or rejection.
  for (const reason of SKIP_REASONS) metrics.eventsSkipped.inc({ reason }, 0);
  for (const reason of REJECT_REASONS) metrics.eventsRejected.inc({ reason }, 0);
  metrics.eventsDead.inc({ reason: ROSTER_UNAVAILABLE }, 0);

  const { sqlite } = store;
  const dueStatement = sqlite.prepare<[{ now: number; released: number; limit: number }], DueRow>(TRANSLATE_SQL.due);
  const nextDueStatement = sqlite.prepare<[number], { at: number | null }>(TRANSLATE_SQL.nextDue);
  const movedOnStatement = sqlite.prepare<[string, number], number>(TRANSLATE_SQL.movedOn).pluck();
  const readInputs = createInputReader(sqlite);
  const writer = deps.writer ?? createStoreWriter(store);
  // Said as delivery says its dead events (one example a minute, then counts): an event the
  // roster never answered for is as lost to TimeBack as one TimeBack refused.
  const deaths = createLogTally(log, { summary: 'more events are dead; counted, not logged one by one' });

  /** Seqs in a batch in flight: never translated twice at once. */
  const claimed = new Set<number>();
  const batches = new Set<Promise<void>>();
  /** Set when the last read found fewer rows than asked: nothing more is due until something changes. */
  let exhausted = false;
  let running = false;
  let stopping = false;
  /** After the stop deadline, results are not written: the rows simply stay pending. */
  let abandoned = false;
  const wakeTimer = createWakeTimer(tuning.pollIntervalMs, now, () => {
    exhausted = false;
    pump();
  });
  let lastTold: string | undefined;
  /**
   * Set while resting after a batch failed (its results could not be committed: a full disk):
   * no batch starts until it fires, or until intake stores events again. Each try looks the
   * batch's students up again, from the roster when the cache cannot be written either, so the
   * rests double (from the poll interval up to the backoff cap) rather than every poll sending
   * a lookup per student for as long as the disk stays full.
   */
  let resting: NodeJS.Timeout | undefined;
  /** Rests in a row; reset by a batch whose results were committed. */
  let rests = 0;
  /** Why the last batch failed, until one is committed (for /readyz). */
  let failure: string | undefined;

  /** What the gateway is not configured with that events for TimeBack need, if anything. */
  function missingSetup(): string | undefined {
    const credentials = identity.waitingFor?.();
    if (!appId) return credentials ? `${credentials}; ${WAITING_FOR_APP_ID}` : WAITING_FOR_APP_ID;
    return credentials;
  }

  /** Said once per cause: why translation cannot run now, or what it holds events for. */
  function tell(message: string | undefined): void {
    if (message !== undefined && lastTold !== message) log.warn(message);
    lastTold = message;
  }

  function pump(): void {
    if (!running || stopping || resting !== undefined) return;
    if (!deps.rules()) {
      tell('Translation waits for mapping rules that load and pass their fixtures; events stay pending until then');
      // Rules may become active through a reload; look again at the next poll.
      armWake(undefined);
      return;
    }
    const missing = missingSetup();
    tell(
      missing &&
        `Translation settles what needs no TimeBack set-up (no rule, a rule that skips, malformed events) and holds the events to send: ${missing}`,
    );
    while (batches.size < tuning.concurrency && !exhausted) {
      const rows = claim();
      if (rows.length === 0) break;
      const batch = runBatch(rows).catch((err: unknown) => {
        log.error({ err, events: rows.length }, 'translation batch failed; its events stay pending and are tried again');
        failure = errorMessage(err);
        rest();
      });
      batches.add(batch);
      void batch.finally(() => {
        for (const row of rows) claimed.delete(row.seq);
        batches.delete(batch);
        pump();
      });
    }
    if (batches.size === 0) armWake(exhausted ? nextDue() : undefined);
  }

  function claim(): DueRow[] {
    const limit = tuning.batchSize + claimed.size;
    let rows: DueRow[];
    try {
      rows = dueStatement.all({ now: now(), released: missingSetup() === undefined ? UNTIL_CONFIGURED : -1, limit });
    } catch (err) {
      log.error({ err }, 'could not read events waiting for translation; trying again shortly');
      exhausted = true;
      return [];
    }
    exhausted = rows.length < limit;
    const fresh: DueRow[] = [];
    for (const row of rows) {
      if (claimed.has(row.seq) || fresh.length >= tuning.batchSize) continue;
      claimed.add(row.seq);
      fresh.push(row);
    }
    let inputs: Map<number, string | undefined>;
    try {
      inputs = readInputs(
        fresh.map((row) => row.seq),
        tuning.inputBatchesPerClaim,
      );
    } catch (err) {
      for (const row of fresh) claimed.delete(row.seq);
      log.error({ err }, 'could not read events waiting for translation; trying again shortly');
      exhausted = true;
      return [];
    }
    const read: DueRow[] = [];
    for (const row of fresh) {
      if (inputs.has(row.seq)) {
        row.raw = inputs.get(row.seq);
        read.push(row);
      } else {
        claimed.delete(row.seq);
        exhausted = false;
      }
    }
    return read;
  }

  function nextDue(): number | undefined {
    try {
      return nextDueStatement.get(now())?.at ?? undefined;
    } catch {
      return undefined;
    }
  }

  async function runBatch(rows: readonly DueRow[]): Promise<void> {
    const rules = deps.rules();
    if (!rules) return;
    const items: TranslateItem[] = [];
    /** Why a row's stored input cannot be translated, by seq. */
    const unreadable = new Map<number, string>();
    for (const row of rows) {
      // Intake stores only what parsed, with its input: a row without either is damaged, not retryable.
      let event: unknown;
      if (row.raw === undefined) unreadable.set(row.seq, 'the stored event is missing');
      else {
        try {
          event = JSON.parse(row.raw);
        } catch {
          unreadable.set(row.seq, 'the stored event is not JSON');
        }
      }
      items.push({ sensor: row.sensor, event });
    }
    const outcomes = await translate(items, { rules, identity, appId });
    if (abandoned) return;

    const at = now();
    const writes: TranslationWrite[] = [];
    const died: Array<{ seq: number; attempts: number; problem: string }> = [];
    let delivered = 0;
    let earliestRetry: number | undefined;
    outcomes.forEach((outcome, i) => {
      const row = rows[i]!;
      const damage = unreadable.get(row.seq);
      if (damage !== undefined) {
        writes.push({ kind: 'settle', seq: row.seq, fate: 'rejected', reason: 'invalid-event', detail: damage, rule: null, studentId: null });
        return;
      }
      const write = outcomeWrite(row, outcome, at, retryPolicy);
      if (write.kind === 'deliver') delivered++;
      // The detail names the student; the log gets the seq and the roster's last answer only.
      if (write.kind === 'settle' && write.fate === 'dead' && outcome.fate === 'retry') {
        died.push({ seq: row.seq, attempts: row.attempts + 1, problem: outcome.detail });
      }
      if ((write.kind === 'retry' || write.kind === 'hold') && (earliestRetry === undefined || write.nextAttemptAt < earliestRetry)) {
        earliestRetry = write.nextAttemptAt;
      }
      writes.push(write);
    });

    let changed: readonly boolean[];
    try {
      changed = await writer.recordTranslations({ writes, at });
    } catch (err) {
      // The commit may have landed all the same (the writer thread stopped before saying so):
      // those events have moved on and are not translated again, so this is their one count.
      const landed = movedOnAt(rows, at);
      if (landed.size > 0) counted(writes.filter((write) => landed.has(write.seq)), died);
      throw err;
    }
    rests = 0;
    failure = undefined;
    // Only the writes that changed their row are fates: one whose row changed hands is not.
    counted(writes.filter((_, i) => changed[i]), died);
    if (delivered > 0) deps.onTranslated?.();
    if (earliestRetry !== undefined) armWake(earliestRetry);
  }

  /** Counts the fates `writes` gave their events (all committed), and logs the dead among `died`. */
  function counted(writes: readonly TranslationWrite[], died: ReadonlyArray<{ seq: number; attempts: number; problem: string }>): void {
    const dead = new Set<number>();
    for (const write of writes) {
      if (write.kind === 'deliver') metrics.eventsTranslated.inc({ rule: write.rule });
      else if (write.kind === 'settle' && write.fate === 'skipped') metrics.eventsSkipped.inc({ reason: write.reason });
      else if (write.kind === 'settle' && write.fate === 'rejected') metrics.eventsRejected.inc({ reason: write.reason });
      else if (write.kind === 'settle') {
        metrics.eventsDead.inc({ reason: write.reason });
        dead.add(write.seq);
      }
    }
    for (const { seq, attempts, problem } of died) {
      if (!dead.has(seq)) continue;
      deaths.note(
        ROSTER_UNAVAILABLE,
        { seq, reason: ROSTER_UNAVAILABLE, attempts, problem },
        'event is dead: the roster could not say who its student is within DELIVERY_MAX_AGE',
      );
    }
  }

  /**
   * The seqs among `rows` that a commit of results written `at` moved on (handed to delivery,
   * or settled): claimed by this batch, nothing else moves them. Empty when they cannot be read.
   */
  function movedOnAt(rows: readonly DueRow[], at: number): Set<number> {
    try {
      return new Set(movedOnStatement.all(JSON.stringify(rows.map((row) => row.seq)), at));
    } catch {
      return new Set();
    }
  }

  function rest(): void {
    if (!running || stopping || resting !== undefined) return;
    rests += 1;
    const longest = Math.max(tuning.backoff.capMs, tuning.pollIntervalMs);
    resting = setTimeout(endRest, Math.min(longest, tuning.pollIntervalMs * 2 ** (rests - 1)));
    resting.unref();
  }

  function endRest(): void {
    clearTimeout(resting);
    resting = undefined;
    exhausted = false;
    pump();
  }

  /** (Re)arms the one wake-up timer: the earliest of `at` and the safety poll. */
  function armWake(at: number | undefined): void {
    if (running && !stopping) wakeTimer.arm(at);
  }

  return {
    name: 'translate',

    start() {
      if (running || stopping) return;
      running = true;
      pump();
    },

    wake() {
      // Events were just committed (stored or replayed): the store writes again, so no need to rest on.
      if (resting !== undefined) return endRest();
      exhausted = false;
      pump();
    },

    problems() {
      return failure === undefined ? [] : [`translation results cannot be recorded (${failure}); events wait, pending, until they can`];
    },

    async stop(deadline) {
      stopping = true;
      wakeTimer.cancel();
      clearTimeout(resting);
      if (batches.size > 0) {
        await untilDoneOrDeadline(Promise.allSettled([...batches]), deadline);
        if (batches.size > 0) {
          abandoned = true;
          log.warn({ batches: batches.size }, 'shutdown deadline reached; events still being translated stay pending for the next start');
        }
      }
      deaths.flush();
      running = false;
    },
  };
}
