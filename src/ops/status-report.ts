/**
 * What is in the database, in the words an admin asks: how many events, in which fate and
 * why, what is waiting and for how long, how big the roster cache is, and when Learn last
 * sent something. Read-only queries, so `caliper-gateway status` can run beside the
 * service (WAL lets it read while the service writes).
 */
import { count, eq, max } from 'drizzle-orm';
import { readMappingRules, type MappingRulesRecord } from '../mapping/rules-record.ts';
import type { Store } from '../store/database.ts';
import { describeHolder, isDatabaseServed, readLockHolder, type LockHolder } from '../store/instance-lock.ts';
import { countByFate, countByReason, heldUntilConfigured, oldestPending, pendingByStage } from '../store/event-queries.ts';
import { envelopes, events, FATES, rosterCache, STAGES, UNTIL_CONFIGURED, type Fate, type Stage } from '../store/schema.ts';

/** A retry this late is not just the workers' usual lag behind a due time. */
const OVERDUE_AFTER_MS = 10_000;

/**
 * Whether a gateway serves the database now, from its instance lock (the operating system's
 * word, so a gateway killed with -9 counts as stopped): `serving` null when the lock file
 * cannot be read. `holder` is the serving gateway as it recorded itself, when it did.
 */
export interface GatewayPresence {
  serving: boolean | null;
  holder: LockHolder | null;
}

export interface StatusReport {
  /** When the report was made (ISO 8601). */
  at: string;
  /**
   * Whether a gateway serves this database now. The rows that come from what a gateway records
   * as it runs (the mapping rules, an overdue try) describe the last one when none does.
   */
  gateway: GatewayPresence;
  total: number;
  byFate: Record<Fate, number>;
  /** `fate:reason` → count, for every event that has a reason (skipped, rejected, dead). */
  byReason: Record<string, number>;
  /** Pending events by the stage they wait for. */
  queueDepth: Record<Stage, number>;
  /**
   * Of those, the events held, untried, until the gateway runs with the TimeBack settings they
   * need (TIMEBACK_APP_ID, credentials): a backlog no amount of waiting will move.
   */
  heldUntilConfigured: number;
  /** The pending event received longest ago and why it waits (its last error, or what it is held for), or null when nothing waits. */
  oldestWaiting: {
    seq: number;
    stage: Stage | null;
    receivedAt: string;
    ageSeconds: number;
    detail: string | null;
    /**
     * How long ago its next try was due, when that is more than OVERDUE_AFTER_MS ago: the
     * detail's "next at" is then in the past because the service paused (TimeBack down, no
     * token, roster paused) or is behind. Null when it is not overdue.
     */
    overdueSeconds: number | null;
  } | null;
  rosterCacheEntries: number;
  envelopes: { received: number; lastReceivedAt: string | null };
  /**
   * What the gateway last made of MAPPINGS_DIR: rules active, a change refused (the older rules
   * still run, not the files on disk), or none active. Null before a gateway of this release has
   * loaded rules on this database. As the gateway last recorded it: with none serving
   * (`gateway.serving` false), what the last one ran when it stopped; the next start loads the
   * files afresh.
   */
  mappingRules: MappingRulesRecord | null;
}

export function statusReport(store: Store, now: number = Date.now()): StatusReport {
  const { db } = store;
  // Each fate and reason from an index: no row is read.
  const byFate = countByFate(store);
  const total = FATES.reduce((sum, fate) => sum + byFate[fate], 0);
  const byReason = countByReason(store);

  // Both from the small partial index of pending rows, as the metrics read them: a backlog of
  // a million waiting events costs an index scan, not a read and sort of every row.
  const queueDepth = pendingByStage(store);
  const oldest = oldestPending(store);
  const why =
    oldest && db.select({ detail: events.detail, nextAttemptAt: events.nextAttemptAt }).from(events).where(eq(events.seq, oldest.seq)).get();
  const overdueMs = why?.nextAttemptAt != null && why.nextAttemptAt !== UNTIL_CONFIGURED ? now - why.nextAttemptAt : 0;

  const cache = db.select({ n: count() }).from(rosterCache).get();
  const received = db
    .select({ n: count(), last: max(envelopes.receivedAt) })
    .from(envelopes)
    .get();

  return {
    at: new Date(now).toISOString(),
    gateway: gatewayPresence(store.file),
    total,
    byFate,
    byReason: sortedByKey(byReason),
    queueDepth,
    heldUntilConfigured: heldUntilConfigured(store),
    oldestWaiting: oldest
      ? {
          seq: oldest.seq,
          stage: oldest.stage,
          receivedAt: new Date(oldest.receivedAt).toISOString(),
          ageSeconds: Math.max(0, Math.round((now - oldest.receivedAt) / 1000)),
          detail: why?.detail ?? null,
          overdueSeconds: overdueMs > OVERDUE_AFTER_MS ? Math.round(overdueMs / 1000) : null,
        }
      : null,
    rosterCacheEntries: cache?.n ?? 0,
    envelopes: {
      received: received?.n ?? 0,
      lastReceivedAt: received?.last == null ? null : new Date(received.last).toISOString(),
    },
    mappingRules: readMappingRules(store),
  };
}

/** Read after the lock probe: a stopped gateway's pid stays in the lock file's header, so it is only named while it holds the lock. */
function gatewayPresence(file: string): GatewayPresence {
  const serving = isDatabaseServed(file);
  return { serving: serving ?? null, holder: serving ? (readLockHolder(file) ?? null) : null };
}

/** The report as a compact table for a terminal. */
export function formatStatusReport(report: StatusReport): string {
  const { serving } = report.gateway;
  const rows: Array<[string, string]> = [['gateway', gatewayRow(report.gateway)], ['events', String(report.total)]];
  for (const fate of FATES) {
    rows.push([`  ${fate}`, String(report.byFate[fate])]);
    for (const [key, n] of Object.entries(report.byReason)) {
      if (key.startsWith(`${fate}:`)) rows.push([`    ${key.slice(fate.length + 1)}`, String(n)]);
    }
  }
  const held = report.heldUntilConfigured > 0 ? ` (${report.heldUntilConfigured} held until TimeBack is configured)` : '';
  rows.push(['waiting', STAGES.map((stage) => `${stage} ${report.queueDepth[stage]}`).join(', ') + held]);
  const oldest = report.oldestWaiting;
  rows.push([
    'oldest waiting',
    oldest
      ? `#${oldest.seq} (${oldest.stage ?? 'no stage'}), ${formatAge(oldest.ageSeconds)} old${oldest.detail ? `: ${oldest.detail}` : ''}` +
          (oldest.overdueSeconds === null
            ? ''
            : `; that try is ${formatAge(oldest.overdueSeconds)} overdue: ${
                serving === false ? 'no gateway is serving this database' : 'the gateway has paused (see /readyz) or is behind'
              }`)
      : 'none',
  ]);
  rows.push(['roster cache', `${report.rosterCacheEntries} ${report.rosterCacheEntries === 1 ? 'entry' : 'entries'}`]);
  rows.push([
    'envelopes',
    `${report.envelopes.received} received` +
      (report.envelopes.lastReceivedAt ? `, last at ${report.envelopes.lastReceivedAt}` : ''),
  ]);
  rows.push(...mappingRulesRows(report.mappingRules, serving !== false));
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n') + '\n';
}

function gatewayRow({ serving, holder }: GatewayPresence): string {
  if (serving === null) return 'cannot tell whether a gateway is serving this database (its lock file cannot be read)';
  if (!serving) return 'not running: no gateway is serving this database; the rows below are as the last one left them';
  return holder ? `serving this database: ${describeHolder(holder)}` : 'serving this database';
}

/**
 * The rules row, and under it the problems that keep the files on disk from running. The
 * record is what a running gateway last wrote: with none running it is only what the last one
 * ran, and the next start loads the files afresh, so it is worded in the past.
 */
function mappingRulesRows(record: MappingRulesRecord | null, running: boolean): Array<[string, string]> {
  if (record === null) return [];
  let head: [string, string];
  if (record.state === 'active') {
    head = running
      ? ['mapping rules', `${record.rules} active since ${record.at} (${record.dir})`]
      : ['mapping rules', `none running: the last gateway ran ${record.rules} rules, loaded at ${record.at} from ${record.dir}; the next start loads the files anew`];
    return [head];
  }
  if (running) {
    head =
      record.state === 'change-refused'
        ? ['mapping rules', `a change was refused at ${record.at}: the gateway runs the rules it loaded at ${record.activeSince}, not the files in ${record.dir}; a restart would start with none`]
        : ['mapping rules', `none active (since ${record.at}): the files in ${record.dir} do not load or fail a fixture, and events wait`];
  } else {
    const ran =
      record.state === 'change-refused'
        ? `ran the rules it loaded at ${record.activeSince}, having refused a change at ${record.at}`
        : `had none active (since ${record.at})`;
    head = [
      'mapping rules',
      `none running: the last gateway ${ran}, as the files in ${record.dir} did not load or failed a fixture; started on them unchanged, a gateway has none and events wait (run check-mappings first)`,
    ];
  }
  const problems = record.problems.map((problem): [string, string] => ['', `  ${problem}`]);
  const more: Array<[string, string]> = record.moreProblems > 0 ? [['', `  and ${record.moreProblems} more (check-mappings lists them all)`]] : [];
  return [head, ...problems, ...more];
}

function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} days`;
}

function sortedByKey(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
