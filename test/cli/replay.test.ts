import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_LISTED, parseReplayArgs, replayCommand } from '../../src/cli/replay.ts';
import { lockDatabase } from '../../src/store/instance-lock.ts';
import type { RetryWhileBusyOptions } from '../../src/store/lock-wait.ts';
import { makeTempDir } from '../helpers/identity-harness.ts';
import { OLD_SCHEMAS, seedEveryFate } from '../helpers/old-databases.ts';
import { lockAfterFirstChunk } from '../helpers/lock-after-first-chunk.ts';
import { tempStore } from '../helpers/temp-store.ts';
import { eventStates, fateCounts, insertTranslatedEvents } from '../helpers/translated-events.ts';
import { eventLoopTurns } from '../helpers/wait-for.ts';

const BIN = fileURLToPath(new URL('../../src/bin.mjs', import.meta.url));
const run = promisify(execFile);

async function cli(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, 'replay', ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

let db: ReturnType<typeof tempStore>;
beforeEach(() => {
  db = tempStore('replay-cli-');
});
afterEach(() => db.cleanup());

describe('caliper-gateway replay', () => {
  // Each test runs the command twice as a process, up to 10 s each on a heavily loaded 2-core machine.
  it('re-queues dead events and prints what it re-queued', { timeout: 40_000 }, async () => {
    const dead = insertTranslatedEvents(db.store.sqlite, 2, { fate: 'dead', reason: 'http-400' });
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'skipped', reason: 'no-rule' });

    const result = await cli([], { DB_PATH: db.file, LOG_LEVEL: 'silent' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Re-queued 2 events for translation and delivery:');
    for (const event of dead) expect(result.stdout).toMatch(new RegExp(`\\b${event.seq}  ${event.sourceId}  was dead \\(http-400\\)`));
    expect(eventStates(db.store.sqlite).map((row) => `${row.fate}/${row.stage}`)).toEqual([
      'pending/translate',
      'pending/translate',
      'skipped/null',
    ]);

    const again = await cli(['--status', 'dead'], { DB_PATH: db.file, LOG_LEVEL: 'silent' });
    expect(again.stdout).toBe('No events matched; nothing re-queued.\n');
  });

  it('says which events it looked for when none matched the default or --status rejected', { timeout: 40_000 }, async () => {
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'skipped', reason: 'no-rule' });
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'rejected', reason: 'invalid-event' });

    const [bare, rejected] = await Promise.all([
      cli([], { DB_PATH: db.file, LOG_LEVEL: 'silent' }),
      cli(['--status', 'rejected'], { DB_PATH: db.file, LOG_LEVEL: 'silent' }),
    ]);
    expect(bare.stdout).toBe(
      'No dead events matched (without --status, --reason or --id, replay takes dead events only); nothing re-queued.\n',
    );
    // Not `--reason invalid-event`: translation would reject Learn's malformed events again.
    expect(rejected.stdout).toBe(
      'No rejected events matched (--status rejected takes invalid-output events, once their rule is fixed; invalid-event ones, which Learn sent malformed, are left out as they would only be rejected again: GET /admin/events?fate=rejected&reason=invalid-event shows them); nothing re-queued.\n',
    );
    expect(rejected.stdout).not.toContain('--reason invalid-event');
    expect(eventStates(db.store.sqlite).map((row) => row.fate)).toEqual(['skipped', 'rejected']);
  });

  it('lists the first events, then counts the rest by what they were, when it re-queues many', { timeout: 20_000 }, async () => {
    const dead = insertTranslatedEvents(db.store.sqlite, 25, { fate: 'dead', reason: 'http-400' });
    insertTranslatedEvents(db.store.sqlite, 5, { fate: 'dead', reason: 'max-age' });

    const result = await cli([], { DB_PATH: db.file, LOG_LEVEL: 'silent' });
    expect(result.code).toBe(0);
    // The last line says who delivers them (see 'says whether a gateway serves the database').
    const lines = result.stdout.trimEnd().split('\n').slice(0, -1);
    expect(lines[0]).toBe('Re-queued 30 events for translation and delivery:');
    expect(lines.slice(1, -1)).toEqual(dead.slice(0, MAX_LISTED).map((event) => `  ${String(event.seq).padStart(8)}  ${event.sourceId}  was dead (http-400)`));
    expect(lines.at(-1)).toBe('  … and 10 more (in all: 25 dead (http-400), 5 dead (max-age)); GET /admin/events lists them');
  });

  it('says why a named event was not re-queued', { timeout: 40_000 }, async () => {
    const [dead] = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    const [delivered, deliveredToo] = insertTranslatedEvents(db.store.sqlite, 2, { fate: 'delivered', deliveredAt: Date.now() });
    const [skipped] = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'skipped', reason: 'no-rule' });

    const result = await cli(['--status', 'dead', '--id', String(dead!.seq), String(delivered!.seq), skipped!.sourceId, deliveredToo!.sourceId, 'nope', '999999'], {
      DB_PATH: db.file,
      LOG_LEVEL: 'silent',
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Re-queued 1 event for translation and delivery:');
    const notReplayed = result.stdout.slice(result.stdout.indexOf('Not re-queued:\n'));
    expect(notReplayed.split('\n').map((line) => line.trim())).toEqual([
      'Not re-queued:',
      `${delivered!.seq}  delivered: only dead, skipped, rejected events are replayed`,
      `${skipped!.sourceId}  skipped, but left out by --status, --reason or --since`,
      `${deliveredToo!.sourceId}  not dead, skipped or rejected: nothing to replay (pending, delivered, or no such event)`,
      'nope  not dead, skipped or rejected: nothing to replay (pending, delivered, or no such event)',
      '999999  no such event',
      'No gateway is serving this database now: they wait, pending, until `caliper-gateway serve` starts on it.',
      '',
    ]);

    const again = await cli(['--id', String(dead!.seq)], { DB_PATH: db.file, LOG_LEVEL: 'silent' });
    expect(again.stdout).toBe(`No events matched; nothing re-queued.\nNot re-queued:\n  ${String(dead!.seq).padStart(8)}  pending: already waiting in the queue\n`);
  });

  it('runs with TIMEBACK_CLIENT_SECRET_FILE set to a file it cannot read: it needs no secret', async () => {
    const dead = insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    let out = '';
    let err = '';
    const io = { out: (text: string) => void (out += text), err: (text: string) => void (err += text) };
    const code = await replayCommand([], { DB_PATH: db.file, TIMEBACK_CLIENT_SECRET_FILE: join(db.dir, 'no-such-secret') }, io);
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out).toContain(`${dead[0]!.seq}  ${dead[0]!.sourceId}  was dead (http-400)`);
    expect(eventStates(db.store.sqlite).map((row) => row.fate)).toEqual(['pending']);
  });

  it('prints a Learn id as a message shows a value: quoted and cut when it holds a control character or is long', async () => {
    // Anyone with an ingest key chooses an event's id; an admin's terminal must not run its escape sequences.
    const [hostile, long] = insertTranslatedEvents(db.store.sqlite, 2, { fate: 'dead', reason: 'http-400' });
    const setSourceId = db.store.sqlite.prepare('UPDATE events SET source_id = ? WHERE seq = ?');
    setSourceId.run('evt-\u001b]0;owned\u0007\u001b[2K', hostile!.seq);
    setSourceId.run(`evt-${'l'.repeat(5_000)}`, long!.seq);
    let out = '';
    const io = { out: (text: string) => void (out += text), err: (text: string) => void (out += text) };
    expect(await replayCommand(['--id', `${hostile!.seq},${long!.seq},nope\r\u001b[2K`], { DB_PATH: db.file, LOG_LEVEL: 'silent' }, io)).toBe(0);
    const lines = out.split('\n');
    expect(lines).toContain(`  ${String(hostile!.seq).padStart(8)}  "evt-\\u001b]0;owned\\u0007\\u001b[2K"  was dead (http-400)`);
    expect(lines).toContain(`  ${String(long!.seq).padStart(8)}  "evt-${'l'.repeat(96)}"… (5004 characters)  was dead (http-400)`);
    expect(lines).toContain('  "nope\\r\\u001b[2K"  not dead, skipped or rejected: nothing to replay (pending, delivered, or no such event)');
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });

  it('refuses an event number out of range with its range and usage, exit 2, replaying nothing', async () => {
    // Past 2^53 it said zod's "Too big: expected int to be <=9007199254740991", and past 308
    // digits (Infinity) "Invalid input", with nothing about event numbers.
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    for (const id of ['0', '9007199254740992', '99999999999999999999', '9'.repeat(400)]) {
      const { code, out, err } = await inProcess(['--id', `1,${id}`]);
      expect({ code, out }).toEqual({ code: 2, out: '' });
      expect(err).toMatch(/^caliper-gateway replay: --id\[1\]: must be an event number from 1 to 9007199254740991\n\nUsage: caliper-gateway replay /);
    }
    expect(eventStates(db.store.sqlite).map((row) => row.fate)).toEqual(['dead']);
  });

  /** Runs the command in this process (its own connection to the file), with what it prints. */
  function inProcess(args: string[], lockRetry?: RetryWhileBusyOptions) {
    const printed = { out: '', err: '' };
    const io = { out: (text: string) => void (printed.out += text), err: (text: string) => void (printed.err += text) };
    const finished = replayCommand(args, { DB_PATH: db.file, LOG_LEVEL: 'silent' }, io, lockRetry).then((code) => ({ code, ...printed }));
    return finished;
  }

  it('waits for a write lock a running gateway holds past the 5 s busy timeout, as POST /admin/replay does, then re-queues', async () => {
    const dead = insertTranslatedEvents(db.store.sqlite, 3, { fate: 'dead', reason: 'http-400' });
    // The gateway's writer thread committing a large envelope, or a checkpoint, holds the lock.
    const locker = new Database(db.file);
    try {
      locker.exec('BEGIN IMMEDIATE');
      let finished = false;
      const running = inProcess([]).then((result) => {
        finished = true;
        return result;
      });
      // With the connection's 5 s busy timeout the loop would not turn until the command failed.
      await eventLoopTurns();
      expect(finished).toBe(false);
      expect(fateCounts(db.store.sqlite)).toEqual({ dead: dead.length });

      locker.exec('ROLLBACK');
      const result = await running;
      expect(result).toMatchObject({ code: 0, err: '' });
      expect(result.out).toContain(`Re-queued ${dead.length} events for translation and delivery:`);
      expect(fateCounts(db.store.sqlite)).toEqual({ pending: dead.length });
    } finally {
      if (locker.inTransaction) locker.exec('ROLLBACK');
      locker.close();
    }
  });

  it('gives up when the lock stays held, saying how many it re-queued before, and exits non-zero', async () => {
    // Two chunks' worth (a replay re-queues 1,000 events at a time).
    const dead = insertTranslatedEvents(db.store.sqlite, 1_200, { fate: 'dead', reason: 'http-400' });
    const giveUp = { giveUpAfterMs: 300 };

    // Held from the start: nothing re-queued.
    const locker = new Database(db.file);
    try {
      locker.exec('BEGIN IMMEDIATE');
      expect(await inProcess([], giveUp)).toEqual({
        code: 1,
        out: '',
        err: 'caliper-gateway replay: the database stayed busy with other writes (a gateway committing a large envelope or a checkpoint, or another command); gave up: nothing was re-queued. Run the replay again\n',
      });
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    expect(fateCounts(db.store.sqlite)).toEqual({ dead: dead.length });

    // Taken after the first chunk: that chunk stays re-queued.
    const lock = lockAfterFirstChunk(db.file);
    try {
      const result = await inProcess([], giveUp);
      expect(lock.locked()).toBe(true);
      expect(result).toEqual({
        code: 1,
        out: '',
        err: 'caliper-gateway replay: the database stayed busy with other writes (a gateway committing a large envelope or a checkpoint, or another command); gave up: 1000 events were re-queued before that and stay re-queued. Run the same replay again for the rest\n',
      });
    } finally {
      lock.release();
    }
    const fates = eventStates(db.store.sqlite);
    expect(fates.filter((row) => row.fate === 'pending').map((row) => row.seq)).toEqual(dead.slice(0, 1_000).map((event) => event.seq));

    // Run again once the lock is free: the rest.
    const again = await inProcess([]);
    expect(again).toMatchObject({ code: 0, err: '' });
    expect(again.out).toContain('Re-queued 200 events for translation and delivery:');
    expect(fateCounts(db.store.sqlite)).toEqual({ pending: dead.length });
  });

  it('warns on stderr, once and before its output, about a variable that looks like a misspelt setting', async () => {
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    const printed: string[] = [];
    const io = { out: (text: string) => void printed.push(`out:${text}`), err: (text: string) => void printed.push(`err:${text}`) };
    const code = await replayCommand([], { DB_PATH: db.file, DELIVERY_CONCURENCY: '4' }, io);
    expect(code).toBe(0);
    expect(printed[0]).toBe('err:caliper-gateway replay: warning: DELIVERY_CONCURENCY is not a caliper-gateway setting and is ignored (did you mean DELIVERY_CONCURRENCY?)\n');
    expect(printed.slice(1).every((line) => line.startsWith('out:'))).toBe(true);
    expect(printed.join('')).toContain('Re-queued 1 event');
  });

  it('takes --fate for --status, as GET /admin/events says fate, and names the flag given in an error', () => {
    expect(parseReplayArgs(['--fate', 'rejected'])).toEqual({ status: 'rejected' });
    expect(parseReplayArgs(['--status', 'rejected'])).toEqual({ status: 'rejected' });
    expect(() => parseReplayArgs(['--fate', 'delivered'])).toThrow('--fate: delivered events are not replayed; must be one of dead, skipped, rejected');
    expect(() => parseReplayArgs(['--status', 'Dead'])).toThrow(/^--status: must be one of dead, skipped, rejected$/);
    expect(() => parseReplayArgs(['--status', 'dead', '--fate', 'skipped'])).toThrow('--fate: --status and --fate are one filter; give one');
  });

  it('says whether a gateway serves the database, which is what delivers the events it re-queued', { timeout: 40_000 }, async () => {
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    const idle = await cli([], { DB_PATH: db.file, LOG_LEVEL: 'silent' });
    expect(idle.stdout).toContain('Re-queued 1 event');
    expect(idle.stdout.trimEnd().split('\n').at(-1)).toBe(
      'No gateway is serving this database now: they wait, pending, until `caliper-gateway serve` starts on it.',
    );

    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });
    // The lock `serve` holds while it runs (instance-lock.ts), held here as a running gateway would.
    const lock = await lockDatabase(db.file);
    try {
      const served = await cli([], { DB_PATH: db.file, LOG_LEVEL: 'silent' });
      expect(served.stdout).toContain('Re-queued 1 event');
      expect(served.stdout.trimEnd().split('\n').at(-1)).toBe(
        'The gateway serving this database takes them up within seconds; `caliper-gateway status` shows where they stand.',
      );
    } finally {
      lock.release();
    }
  });

  it('says which reasons there are when a --reason matches no event at all, as a typo would', { timeout: 40_000 }, async () => {
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'dead', reason: 'http-400' });
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'skipped', reason: 'no-rule' });
    const typo = await cli(['--reason', 'http400'], { DB_PATH: db.file, LOG_LEVEL: 'silent' });
    expect(typo.code).toBe(0);
    expect(typo.stdout).toBe(
      'No events matched; nothing re-queued.\nNo dead, skipped or rejected event has the reason "http400"; theirs are: http-400, no-rule\n',
    );
    // The operator's text is quoted escaped: a bidi override in it must not reorder the line.
    const hidden = await cli(['--reason', 'http\u202e400'], { DB_PATH: db.file, LOG_LEVEL: 'silent' });
    expect(hidden.stdout).toBe(
      'No events matched; nothing re-queued.\nNo dead, skipped or rejected event has the reason "http\\u202e400"; theirs are: http-400, no-rule\n',
    );
    // A reason that exists, left out by another filter, needs no such line.
    const elsewhere = await cli(['--reason', 'no-rule', '--status', 'dead'], { DB_PATH: db.file, LOG_LEVEL: 'silent' });
    expect(elsewhere.stdout).toBe('No events matched; nothing re-queued.\n');
  });

  it('explains bad flags and a missing database, and exits non-zero', { timeout: 40_000 }, async () => {
    // Two separate runs, at once: each spends its time starting node and tsx.
    const [bad, missing] = await Promise.all([
      cli(['--status', 'delivered'], { DB_PATH: db.file }),
      cli([], { DB_PATH: `${db.dir}/nope/gateway.db` }),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--status: delivered events are not replayed; must be one of dead, skipped, rejected');

    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no database at ${db.dir}/nope/gateway.db`);
  });
});

describe('caliper-gateway replay on a database an older release still serves', () => {
  it('refuses to upgrade it, saying to start serve, and leaves it in the old schema', { timeout: 20_000 }, async () => {
    const temp = makeTempDir('replay-old-schema');
    try {
      const file = join(temp.dir, 'gateway.db');
      const previous = OLD_SCHEMAS.at(-1)!;
      previous.create(file);
      const { dead } = seedEveryFate(file);
      const migrations = () => {
        const sqlite = new Database(file, { readonly: true });
        try {
          return sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get();
        } finally {
          sqlite.close();
        }
      };
      const before = migrations();

      const result = await cli([], { DB_PATH: file, LOG_LEVEL: 'silent' });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`caliper-gateway replay: the database at ${file} (DB_PATH) is still in an older caliper-gateway release's schema`);
      expect(result.stderr).toContain("start this release's serve on it once");
      expect(migrations()).toEqual(before);
      const sqlite = new Database(file, { readonly: true });
      expect(sqlite.prepare('SELECT fate FROM events WHERE seq = ?').pluck().get(dead.seq)).toBe('dead');
      sqlite.close();
    } finally {
      temp.remove();
    }
  });
});

describe('parseReplayArgs', () => {
  it('reads every flag; --id takes several ids, numbers as event numbers', () => {
    expect(
      parseReplayArgs(['--status', 'skipped', '--reason', 'user-not-in-timeback', '--since', '2026-11-01T00:00:00Z', '--id', '12', 'abc', '--id', '13,urn:uuid:x']),
    ).toEqual({
      status: 'skipped',
      reason: 'user-not-in-timeback',
      since: '2026-11-01T00:00:00Z',
      ids: [12, 13, 'urn:uuid:x', 'abc'],
    });
    expect(parseReplayArgs([])).toEqual({});
  });

  it('rejects stray arguments and unknown flags', () => {
    expect(() => parseReplayArgs(['12'])).toThrow('ids go after --id');
    expect(() => parseReplayArgs(['--colour', 'red'])).toThrow(/colour/);
    expect(() => parseReplayArgs(['--since', 'yesterday'])).toThrow(/^--since: /);
    // Event numbers start at 1; in zod's words this was "Too small: expected number to be >0".
    expect(() => parseReplayArgs(['--id', '0'])).toThrow(/^--id\[0\]: must be an event number from 1 to 9007199254740991$/);
    expect(parseReplayArgs(['--id', '9007199254740991'])).toEqual({ ids: [9007199254740991] });
    expect(() => parseReplayArgs(['--reason', 'r'.repeat(101)])).toThrow(/^--reason: must be at most 100 characters; reasons are short codes such as http-400$/);
    expect(() => parseReplayArgs(['--id', `12,${'i'.repeat(1025)}`])).toThrow(
      /^--id\[1\]: must be at most 1024 characters \(this one has 1025\); name an event with a longer id by its event number$/,
    );
    // --id with only blanks or commas (a script's empty list) names no event, as POST /admin/replay's `ids: []`.
    for (const empty of ['', ' , ,']) {
      expect(() => parseReplayArgs(['--id', empty])).toThrow(/^--id: give at least one event number or id; an empty list names no event$/);
    }
  });
});
