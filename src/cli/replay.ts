/**
 * `caliper-gateway replay [--status dead|skipped|rejected] [--reason R] [--since ISO] [--id ID …]`
 *
 * Puts matching events back at the start of the pipeline (identity, translation, delivery)
 * and prints what it re-queued. Works while the server runs: the server picks them up on
 * its next poll. It waits for the write lock as POST /admin/replay does (lock-wait.ts): a
 * gateway committing a large envelope, or checkpointing, holds it longer than the
 * connection's 5 s busy timeout, and with that timeout the command failed with SQLITE_BUSY
 * where the admin route would have waited.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { describeZodError, quote, shown } from '../errors.ts';
import { openStoreForCommand, type Store } from '../store/database.ts';
import { isDatabaseServed } from '../store/instance-lock.ts';
import { isBusy, type RetryWhileBusyOptions } from '../store/lock-wait.ts';
import {
  REPLAYABLE_FATES,
  ReplayFilterSchema,
  replayInTurns,
  startReplay,
  unknownReason,
  unreplayedIds,
  type ReplayFilter,
  type UnreplayedId,
} from '../store/replay.ts';
import { FATES } from '../store/schema.ts';
import { cliCommand, commandConfig, lockGaveUp, UsageError } from './command.ts';

/**
 * Events listed one by one. A replay after a roster import or an outage re-queues thousands;
 * a line each would scroll the summary and the "not re-queued" lines out of sight.
 */
export const MAX_LISTED = 20;

const REPLAY_USAGE = `Usage: caliper-gateway replay [--status dead|skipped|rejected] [--reason R] [--since ISO] [--id ID …]

Puts events back in the queue: they re-resolve the student, re-translate with the current
mapping rules and are delivered again. Without filters: every dead event.

  --status S     which events, by fate: dead (the default), skipped or rejected; with --reason
                 or --id, any of them. --fate S is the same (GET /admin/events says fate)
  --reason R     only events with this reason (e.g. http-400, user-not-in-timeback, invalid-output)
  --since ISO    only events received at or after this time (2026-11-01T00:00:00Z, or 2026-11-01)
  --id ID …      only these events: event numbers (seq), Learn event ids or output ids

--status rejected replays invalid-output events: a mapping rule built an event Caliper 1.2
does not allow; replay them once the rule is fixed. Events Learn sent malformed
(invalid-event) are left out: the same check would only reject them again.
GET /admin/events?fate=rejected&reason=invalid-event lists them; GET /admin/events/<seq> shows
what was wrong with one (its detail).
`;

/** `lockRetry`: how long to keep trying while the write lock is busy (default: lock-wait.ts's; tests shorten it). */
export const replayCommand = cliCommand<[lockRetry?: RetryWhileBusyOptions]>('replay', REPLAY_USAGE, async (args, env, io, lockRetry) => {
  const filter = parseReplayArgs(args);
  // Writes to the database only: no TimeBack secret needed, so an unreadable secret file is no matter.
  const { dbPath } = commandConfig('replay', env, io, { readSecretFile: false });
  if (dbPath !== ':memory:' && !existsSync(dbPath)) {
    io.err(`caliper-gateway replay: no database at ${dbPath} (set DB_PATH to the gateway's database)\n`);
    return 1;
  }

  const store = openStoreForCommand(dbPath);
  try {
    const replay = startReplay(store, filter, Date.now());
    let replayed;
    try {
      replayed = await replayInTurns(store, replay, lockRetry);
    } catch (err) {
      if (!isBusy(err)) throw err;
      const done = replay.replayed.length;
      io.err(
        `${lockGaveUp('replay')}: ${
          done === 0
            ? 'nothing was re-queued. Run the replay again'
            : `${done} event${done === 1 ? ' was' : 's were'} re-queued before that and stay re-queued. Run the same replay again for the rest`
        }\n`,
      );
      return 1;
    }
    const leftAlone = unreplayedIds(store, filter, replayed).map(describeUnreplayed);
    const notReplayed = leftAlone.length > 0 ? `Not re-queued:\n${leftAlone.join('\n')}\n` : '';
    if (replayed.length === 0) {
      io.out(`No ${describeUnmatched(filter)}; nothing re-queued.\n${describeUnknownReason(store, filter)}${notReplayed}`);
      return 0;
    }
    const was = (event: (typeof replayed)[number]) => `${event.previousFate}${event.previousReason ? ` (${event.previousReason})` : ''}`;
    const lines = replayed
      .slice(0, MAX_LISTED)
      // Learn's id as any message shows a value of the sender's (errors.ts): whoever holds an
      // ingest key chooses it, escape sequences and length included.
      .map((event) => `  ${String(event.seq).padStart(8)}  ${event.sourceId === null ? '(no id)' : shown(event.sourceId)}  was ${was(event)}`);
    if (replayed.length > MAX_LISTED) {
      const byWas = new Map<string, number>();
      for (const event of replayed) byWas.set(was(event), (byWas.get(was(event)) ?? 0) + 1);
      const counts = [...byWas].map(([previously, n]) => `${n} ${previously}`).join(', ');
      lines.push(`  … and ${replayed.length - MAX_LISTED} more (in all: ${counts}); GET /admin/events lists them`);
    }
    io.out(
      `Re-queued ${replayed.length} event${replayed.length === 1 ? '' : 's'} for translation and delivery:\n${lines.join('\n')}\n${notReplayed}${whoDelivers(dbPath)}`,
    );
    return 0;
  } finally {
    store.close();
  }
});

/**
 * The command only re-queues: a running gateway translates and delivers. "Re-queued" alone
 * read as done to an admin whose gateway was stopped, and the events waited unseen.
 */
function whoDelivers(dbPath: string): string {
  const served = isDatabaseServed(dbPath);
  if (served === undefined) return '';
  return served
    ? 'The gateway serving this database takes them up within seconds; `caliper-gateway status` shows where they stand.\n'
    : 'No gateway is serving this database now: they wait, pending, until `caliper-gateway serve` starts on it.\n';
}

/** A --reason no event has at all (a typo, most likely), with the reasons there are; '' otherwise. */
function describeUnknownReason(store: Store, filter: ReplayFilter): string {
  const unknown = unknownReason(store, filter);
  if (unknown === undefined) return '';
  return `No ${listed(REPLAYABLE_FATES)} event has the reason ${quote(unknown.reason)}; ${
    unknown.reasons.length === 0 ? 'there are none' : `theirs are: ${unknown.reasons.join(', ')}`
  }\n`;
}

/**
 * What found nothing, where the filter left something out unasked: with no filter at all
 * only dead events are looked at, and --status rejected alone leaves out Learn's malformed
 * input. `status` may count events of those fates that this replay did not take.
 *
 * It once suggested `--reason invalid-event` here: that re-queues Learn's malformed events,
 * and translation rejects them again, the same check on the same input. Where to look is
 * advice that works; the reason still replays them for whoever knows the check has changed.
 */
function describeUnmatched(filter: ReplayFilter): string {
  if (filter.reason !== undefined || filter.ids !== undefined) return 'events matched';
  if (filter.status === undefined) return 'dead events matched (without --status, --reason or --id, replay takes dead events only)';
  if (filter.status === 'rejected') {
    return 'rejected events matched (--status rejected takes invalid-output events, once their rule is fixed; invalid-event ones, which Learn sent malformed, are left out as they would only be rejected again: GET /admin/events?fate=rejected&reason=invalid-event shows them)';
  }
  return 'events matched';
}

/** Why a named event was not re-queued, as a line under the summary. */
function describeUnreplayed({ id, fates, lookedIn }: UnreplayedId): string {
  const replayable = fates.filter((fate) => (REPLAYABLE_FATES as readonly string[]).includes(fate));
  const why =
    fates.length === 0
      ? lookedIn.length === FATES.length
        ? 'no such event'
        : // A Learn or output id is looked for among the replayable events alone (unreplayedIds).
          `not ${listed(lookedIn)}: nothing to replay (pending, delivered, or no such event)`
      : replayable.length > 0
        ? `${fates.join(' and ')}, but left out by --status, --reason or --since`
        : fates.every((fate) => fate === 'pending')
          ? 'pending: already waiting in the queue'
          : `${fates.join(' and ')}: only ${REPLAYABLE_FATES.join(', ')} events are replayed`;
  return `  ${(typeof id === 'number' ? String(id) : shown(id)).padStart(8)}  ${why}`;
}

/** `dead, skipped or rejected` */
function listed(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/** The filter the flags describe; throws UsageError (or parseArgs' error) naming the bad flag. */
export function parseReplayArgs(args: string[]): ReplayFilter {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      status: { type: 'string' },
      fate: { type: 'string' },
      reason: { type: 'string' },
      since: { type: 'string' },
      id: { type: 'string', multiple: true },
    },
  });
  // `--id 12 13 14` reads as one flag with several ids: the extra ones arrive as positionals.
  if (positionals.length > 0 && values.id === undefined) {
    throw new UsageError(`unexpected argument "${positionals[0]}" (ids go after --id)`);
  }
  const ids =
    values.id === undefined
      ? undefined
      : [...values.id, ...positionals]
          .flatMap((value) => value.split(','))
          .map((value) => value.trim())
          .filter((value) => value !== '')
          .map((value) => (/^\d+$/.test(value) ? Number(value) : value));
  const result = ReplayFilterSchema.safeParse({
    status: values.status,
    fate: values.fate,
    reason: values.reason,
    since: values.since,
    ids,
  });
  if (!result.success) {
    throw new UsageError(`--${describeZodError(result.error).replace(/^ids/, 'id').replace('status and fate are', '--status and --fate are')}`);
  }
  return result.data;
}
