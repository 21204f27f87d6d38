/**
 * What the running gateway last made of MAPPINGS_DIR, kept in the database's `meta` table so
 * that `caliper-gateway status`, another process, can say when the rules that run are not
 * the files on disk: a refused change leaves the older rules active, and until now only the
 * log and /readyz said so.
 */
import type { Logger } from '../log.ts';
import type { Store } from '../store/database.ts';
import { EVENT_LOOP_LOCK_WAIT_MS, isBusy, withLockWait } from '../store/lock-wait.ts';

/** As many problems as /readyz shows; the rest are counted. */
const LISTED_PROBLEMS = 5;

const KEY = 'mapping-rules';

export type MappingRulesRecord =
  /** The last load passed: `rules` are active since `at`. */
  | { state: 'active'; at: string; dir: string; rules: number }
  /** A change was refused at `at`; the rules loaded at `activeSince` still run. */
  | { state: 'change-refused'; at: string; dir: string; activeSince: string; problems: string[]; moreProblems: number }
  /** No rule set has passed since the gateway started: events wait, pending. */
  | { state: 'none-active'; at: string; dir: string; problems: string[]; moreProblems: number };

/** A load's outcome as the reloader knows it; the problems are cut to a few here. */
export type MappingRulesState =
  | { state: 'active'; at: string; rules: number }
  | { state: 'change-refused'; at: string; activeSince: string; problems: readonly string[] }
  | { state: 'none-active'; at: string; problems: readonly string[] };

/** Records the outcome of a load (replacing the last one), on `store`'s connection. */
export function recordMappingRules(store: Store, dir: string, outcome: MappingRulesState): void {
  let record: MappingRulesRecord;
  if (outcome.state === 'active') {
    record = { state: 'active', at: outcome.at, dir, rules: outcome.rules };
  } else {
    const problems = outcome.problems.slice(0, LISTED_PROBLEMS);
    const moreProblems = outcome.problems.length - problems.length;
    record =
      outcome.state === 'change-refused'
        ? { state: 'change-refused', at: outcome.at, dir, activeSince: outcome.activeSince, problems, moreProblems }
        : { state: 'none-active', at: outcome.at, dir, problems, moreProblems };
  }
  store.sqlite
    .prepare<[string, string, number]>(
      `INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    )
    .run(KEY, JSON.stringify(record), Date.parse(outcome.at));
}

export interface MappingRulesRecorder {
  /** Records `outcome` now, or when busy a little later (unless a newer one came meanwhile). */
  note(outcome: MappingRulesState): void;
  /** No record is made after this. */
  stop(): void;
}

/**
 * The service's recorder of each load's outcome, on its own connection, on the event loop. So
 * a record waits for the write lock EVENT_LOOP_LOCK_WAIT_MS at most: with the connection's
 * 5 s, behind the writer thread's commit of a large envelope, every request waited with it.
 * When the lock is busy the latest outcome is tried again `retryMs` later, until it lands.
 * Only `status` reads it; the log and /readyz say the same at once.
 */
export function createMappingRulesRecorder(options: { store: Store; dir: string; log: Logger; retryMs?: number }): MappingRulesRecorder {
  const { store, dir, log, retryMs = 1_000 } = options;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;

  function note(outcome: MappingRulesState): void {
    clearTimeout(retry);
    retry = undefined;
    if (stopped) return;
    try {
      withLockWait(store.sqlite, EVENT_LOOP_LOCK_WAIT_MS, () => recordMappingRules(store, dir, outcome));
    } catch (err) {
      if (isBusy(err)) {
        log.debug({ retryMs }, 'the database is busy; the state of the mapping rules is recorded for caliper-gateway status later');
        retry = setTimeout(() => note(outcome), retryMs);
        retry.unref();
        return;
      }
      // Only status loses sight of it; the log line and /readyz still say it.
      log.error({ err }, 'could not record the state of the mapping rules for caliper-gateway status');
    }
  }

  return {
    note,
    stop() {
      stopped = true;
      clearTimeout(retry);
    },
  };
}

/** The last load's outcome, or null when no gateway of this release has loaded rules on this database. */
export function readMappingRules(store: Store): MappingRulesRecord | null {
  const row = store.sqlite.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(KEY);
  if (!row) return null;
  try {
    return JSON.parse(row.value) as MappingRulesRecord;
  } catch {
    return null;
  }
}
