/**
 * `caliper-gateway roster-cache [list|evict EXTERNAL_ID…|clear] [--outcome O] [--limit N] [--json]`
 *
 * Reads and edits the roster cache in DB_PATH directly, so it works whether or not the
 * gateway is running (WAL lets both use the file at once). Its evictions are written on the
 * command's own connection, taking their turn for the write lock with the gateway's writer
 * thread: the admin waits for them anyway, as DELETE /admin/roster-cache waits (up to 30 s, a
 * short while at a time), not the connection's 5 s busy timeout that ended in a stack trace.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { shown } from '../errors.ts';
import { jsonText } from '../json-text.ts';
import { readAdminExternalId } from '../identity/identity-resolver.ts';
import { createRosterCache, viewOf, type RosterCacheView } from '../identity/roster-cache.ts';
import { loadUserOverrides, UserOverridesError } from '../identity/user-overrides.ts';
import { openStoreForCommand } from '../store/database.ts';
import { isBusy, retryWhileBusy, type RetryWhileBusyOptions } from '../store/lock-wait.ts';
import { ROSTER_OUTCOMES, type RosterOutcome } from '../store/schema.ts';
import { cliCommand, commandConfig, lockGaveUp, UsageError, type CliIo } from './command.ts';

const USAGE = `Usage: caliper-gateway roster-cache [list|evict EXTERNAL_ID…|clear] [options]

  list                  what the gateway knows about each student (newest first)
  evict EXTERNAL_ID…    forget these students; their next event looks them up again (ids read
                        trimmed, as the gateway reads Learn ids)
  clear                 forget every entry (or, with --outcome, every entry with that outcome)

Options:
  --outcome O           only entries whose outcome is O (${ROSTER_OUTCOMES.join(', ')})
  --limit N             list at most N entries (default 100)
  --json                print JSON for scripts
`;

export const rosterCacheCommand = cliCommand(
  'roster-cache',
  USAGE,
  async (args, env, io, now: () => number = Date.now, lockRetry?: RetryWhileBusyOptions) => {
    const parsed = parseArguments(args);
    // The cache is in the database; the roster itself is never asked, so no secret is needed.
    const config = commandConfig('roster-cache', env, io, { readSecretFile: false });
    // Opening a path that is not there would create an empty database and report an empty
    // cache: run from the wrong folder, that reads as "nothing cached" and leaves a stray file.
    if (config.dbPath !== ':memory:' && !existsSync(config.dbPath)) {
      io.err(`caliper-gateway roster-cache: no database at ${config.dbPath} (set DB_PATH to the gateway's database)\n`);
      return 1;
    }
    const store = openStoreForCommand(config.dbPath);
    try {
      const cache = createRosterCache(store, now);
      const { action, ids, outcome, limit, json } = parsed;
      if (action === 'list') {
        const { total, entries } = cache.list({ outcome, limit });
        const at = now();
        const views = entries.map((entry) => viewOf(entry, config.roster, at));
        io.out(json ? `${jsonText({ total, entries: views }, 2)}\n` : renderTable(total, views));
        return 0;
      }
      const change = action === 'evict' ? 'evicted' : 'cleared';
      const waited = async <T>(write: () => T): Promise<T | undefined> => {
        try {
          return await retryWhileBusy(store.sqlite, write, lockRetry);
        } catch (err) {
          if (!isBusy(err)) throw err;
          io.err(
            `${lockGaveUp('roster-cache')}: nothing was ${change}. Run it again\n`,
          );
          return undefined;
        }
      };
      if (action === 'evict') {
        const evicted = await waited(() => cache.evict(ids));
        if (evicted === undefined) return 1;
        const notCached = ids.filter((id) => !evicted.includes(id));
        const pinned = pinnedAmong(ids, config.overridesFile, io);
        if (json) io.out(`${jsonText({ evicted, notCached, pinned }, 2)}\n`);
        else {
          // The pin wins over the cache and the roster: without a word, an admin would wonder why
          // an evicted student keeps their platform id.
          const pinNote = `pinned in ${config.overridesFile}, and the pin decides for this student: edit that file to change their platform id`;
          io.out(`evicted ${evicted.length} ${plural(evicted.length, 'entry', 'entries')}\n`);
          for (const id of evicted.filter((id) => pinned.includes(id))) io.out(`evicted: ${shown(id)}, but ${pinNote}\n`);
          for (const id of notCached) io.out(`not cached: ${shown(id)}${pinned.includes(id) ? `; ${pinNote}` : ''}\n`);
        }
      } else {
        const cleared = await waited(() => cache.clear(outcome));
        if (cleared === undefined) return 1;
        io.out(json ? `${jsonText({ cleared })}\n` : `cleared ${cleared} ${plural(cleared, 'entry', 'entries')}\n`);
      }
      return 0;
    } finally {
      store.close();
    }
  },
);

/**
 * The ids user-overrides.yaml pins, as the file stands. One that cannot be read or is invalid
 * does not undo the eviction: a warning on stderr says the pins were not checked (the running
 * gateway keeps the last good table then, so they may still decide).
 */
function pinnedAmong(ids: string[], file: string, io: CliIo): string[] {
  try {
    const pins = loadUserOverrides(file);
    return ids.filter((id) => pins.has(id));
  } catch (err) {
    const why = err instanceof UserOverridesError ? 'it is invalid (check-mappings lists its problems)' : `it cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
    io.err(`caliper-gateway roster-cache: warning: could not check ${file} for pinned students: ${why}\n`);
    return [];
  }
}

const LIMIT_RANGE = `--limit must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}`;

/**
 * `--limit -5` as `--limit=-5`: parseArgs takes a value starting with "-" for an option and
 * refused it as "argument is ambiguous", which says nothing of the range a negative number is
 * out of. Only a number is joined, so `--limit --json` is still a flag without its value.
 */
function joinNegativeLimit(args: string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    if (args[i] === '--') return [...joined, ...args.slice(i)];
    const next = args[i + 1];
    if (args[i] === '--limit' && next !== undefined && /^-\d/.test(next)) {
      joined.push(`--limit=${next}`);
      i += 1;
    } else {
      joined.push(args[i]!);
    }
  }
  return joined;
}

function parseArguments(typedArgs: string[]) {
  const args = joinNegativeLimit(typedArgs);
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      outcome: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const [action = 'list', ...typed] = positionals;
  if (action !== 'list' && action !== 'evict' && action !== 'clear') {
    throw new UsageError(`unknown action "${action}"`);
  }
  if (action === 'evict' && typed.length === 0) throw new UsageError('evict needs at least one EXTERNAL_ID');
  if (action !== 'evict' && typed.length > 0) throw new UsageError(`unexpected argument "${typed[0]}"`);
  const ids = [...new Set(typed.map(readEvicted))];
  const outcome = values.outcome;
  if (outcome !== undefined && !(ROSTER_OUTCOMES as readonly string[]).includes(outcome)) {
    throw new UsageError(`--outcome must be one of ${ROSTER_OUTCOMES.join(', ')}`);
  }
  if (action === 'evict' && outcome !== undefined) throw new UsageError('--outcome does not apply to evict');
  let limit = 100;
  if (values.limit !== undefined) {
    // Past 2^53 - 1, SQLite refuses the LIMIT (datatype mismatch) and the command died with a stack trace.
    if (!/^\d+$/.test(values.limit) || Number(values.limit) < 1 || Number(values.limit) > Number.MAX_SAFE_INTEGER) throw new UsageError(LIMIT_RANGE);
    limit = Number(values.limit);
  }
  return { action, ids, outcome: outcome as RosterOutcome | undefined, limit, json: values.json } as const;
}

/**
 * Trimmed, as the cache's ids were: a pasted " jstudent9\n" is jstudent9, not "not cached". One
 * that no entry can have is refused before anything is evicted.
 */
function readEvicted(typed: string, index: number): string {
  const read = readAdminExternalId(typed);
  if (!read.ok) throw new UsageError(`EXTERNAL_ID ${index + 1}: ${read.problem}; nothing was evicted`);
  return read.externalId;
}

function renderTable(total: number, views: RosterCacheView[]): string {
  if (views.length === 0) return total === 0 ? 'The roster cache is empty.\n' : `${total} entries; none on this page.\n`;
  const rows = [
    ['EXTERNAL ID', 'OUTCOME', 'PLATFORM ID', 'STRATEGY', 'LEARNED', 'EXPIRES'],
    ...views.map((view) => [
      // As Learn sent it, bar the spaces around it: an escape sequence must not reach the
      // terminal as written, nor one id of 1,024 characters widen every row.
      shown(view.externalId),
      view.outcome,
      view.platformId ?? '-',
      view.strategy ?? '-',
      view.learnedAt,
      view.expired ? `${view.expiresAt} (expired)` : view.expiresAt,
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const lines = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
  const heading = views.length < total ? `${total} entries, showing the newest ${views.length}\n` : `${total} ${plural(total, 'entry', 'entries')}\n`;
  return `${heading}${lines.join('\n')}\n`;
}

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}
