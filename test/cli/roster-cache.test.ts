import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rosterCacheCommand } from '../../src/cli/roster-cache.ts';
import { MAX_EXTERNAL_ID_LENGTH } from '../../src/identity/identity-resolver.ts';
import { createRosterCache } from '../../src/identity/roster-cache.ts';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/database.ts';
import { makeTempDir, type TempDir } from '../helpers/identity-harness.ts';
import { firstUnshown, UNSHOWN_SAMPLE } from '../helpers/unshown.ts';

const BIN = fileURLToPath(new URL('../../src/bin.mjs', import.meta.url));
const NOW = Date.parse('2026-03-02T10:00:00.000Z');
const HOUR = 3_600_000;
const ADA_ID = randomUUID();

let temp: TempDir;
let env: Record<string, string>;

beforeEach(() => {
  temp = makeTempDir('roster-cli');
  env = { DB_PATH: join(temp.dir, 'gateway.db'), MAPPINGS_DIR: temp.dir };
  const store = openStore(env.DB_PATH!);
  const cache = createRosterCache(store);
  cache.put({ externalId: 'ada.l', platformId: ADA_ID, outcome: 'found', strategy: 'identifier', detail: null, learnedAt: NOW - HOUR });
  cache.put({ externalId: 'kid@school.test', platformId: null, outcome: 'not-found', strategy: null, detail: 'no match', learnedAt: NOW - 2 * HOUR });
  cache.put({ externalId: 'twin', platformId: null, outcome: 'ambiguous', strategy: 'identifier', detail: '2 match', learnedAt: NOW - 3 * HOUR });
  store.close();
});

afterEach(() => temp.remove());

async function run(...args: string[]) {
  return runWith(undefined, ...args);
}

async function runWith(lockRetry: { giveUpAfterMs: number } | undefined, ...args: string[]) {
  let out = '';
  let err = '';
  const code = await rosterCacheCommand(args, env, { out: (text) => void (out += text), err: (text) => void (err += text) }, () => NOW, lockRetry);
  return { code, out, err };
}

function cachedIds(): string[] {
  const store = openStore(env.DB_PATH!);
  try {
    return createRosterCache(store)
      .list()
      .entries.map((entry) => entry.externalId);
  } finally {
    store.close();
  }
}

describe('caliper-gateway roster-cache', () => {
  it('Should give up on a write lock held past its wait with a message, evicting and clearing nothing', async () => {
    // A gateway's writer thread committing a large envelope holds the lock. The 5 s busy
    // timeout alone ended the command in SQLITE_BUSY's stack trace.
    const locker = new Database(env.DB_PATH!);
    try {
      locker.exec('BEGIN IMMEDIATE');
      const busy = (change: string) => ({
        code: 1,
        out: '',
        err: `caliper-gateway roster-cache: the database stayed busy with other writes (a gateway committing a large envelope or a checkpoint, or another command); gave up: nothing was ${change}. Run it again\n`,
      });
      expect(await runWith({ giveUpAfterMs: 300 }, 'evict', 'ada.l')).toEqual(busy('evicted'));
      expect(await runWith({ giveUpAfterMs: 300 }, 'clear')).toEqual(busy('cleared'));
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    expect(cachedIds()).toEqual(['ada.l', 'kid@school.test', 'twin']);
  });

  it('Should list entries as a table by default', async () => {
    const { code, out } = await run();
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toBe('3 entries');
    expect(lines[1]).toMatch(/^EXTERNAL ID\s+OUTCOME\s+PLATFORM ID\s+STRATEGY\s+LEARNED\s+EXPIRES$/);
    expect(lines[2]).toContain('ada.l');
    expect(lines[2]).toContain(ADA_ID);
    expect(lines[3]).toMatch(/kid@school\.test\s+not-found\s+-\s+-\s+.*\(expired\)$/);
  });

  it('Should list an id holding a control character quoted, and a long one cut, as messages show ids', async () => {
    // Learn's ids reach the cache as Learn sent them (trimmed): its escape sequences must not
    // reach the admin's terminal as written, nor one id of 1,024 characters widen every row.
    const store = openStore(env.DB_PATH!);
    const cache = createRosterCache(store);
    cache.put({ externalId: 'kid\u001b[31m\u0007', platformId: null, outcome: 'not-found', strategy: null, detail: null, learnedAt: NOW - 4 * HOUR });
    cache.put({ externalId: `long${'g'.repeat(1_020)}`, platformId: null, outcome: 'not-found', strategy: null, detail: null, learnedAt: NOW - 5 * HOUR });
    store.close();
    const { code, out } = await run();
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines[5]).toMatch(/^"kid\\u001b\[31m\\u0007"\s+not-found\s/);
    expect(lines[6]).toMatch(new RegExp(`^"long${'g'.repeat(96)}"… \\(1024 characters\\)\\s+not-found\\s`));
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThan(250);
  });

  it('Should print JSON with --json, filtered by --outcome and capped by --limit', async () => {
    const filtered = await run('list', '--outcome', 'found', '--json');
    expect(JSON.parse(filtered.out)).toEqual({
      total: 1,
      entries: [
        {
          externalId: 'ada.l',
          outcome: 'found',
          platformId: ADA_ID,
          strategy: 'identifier',
          detail: null,
          learnedAt: new Date(NOW - HOUR).toISOString(),
          expiresAt: new Date(NOW - HOUR + 86_400_000).toISOString(),
          expired: false,
        },
      ],
    });
    const capped = JSON.parse((await run('list', '--limit', '2', '--json')).out);
    expect(capped.total).toBe(3);
    expect(capped.entries).toHaveLength(2);
  });

  it('Should list entries trusted past the last date JavaScript holds, as trusted until then', async () => {
    // ROSTER_CACHE_TTL and ROSTER_NEGATIVE_TTL take up to 2^53 - 1 s ("for good"); an expiry past
    // 8.64e15 ms made toISOString throw, and the command died with a stack trace.
    env = { ...env, ROSTER_CACHE_TTL: '99999999999999', ROSTER_NEGATIVE_TTL: '9007199254740991' };
    const { code, out } = await run('list', '--json');
    expect(code).toBe(0);
    const entries = JSON.parse(out).entries as Array<{ expiresAt: string; expired: boolean }>;
    expect(entries.map(({ expiresAt, expired }) => ({ expiresAt, expired }))).toEqual(
      Array.from({ length: 3 }, () => ({ expiresAt: '+275760-09-13T00:00:00.000Z', expired: false })),
    );
  });

  it('Should print --json with bidi overrides and C1 controls of an id escaped, parsing to the id as cached', async () => {
    // The table quotes such an id; the JSON gives it whole, and wrote it raw to the terminal.
    const tricky = `kid${UNSHOWN_SAMPLE}@school.test`;
    const store = openStore(env.DB_PATH!);
    createRosterCache(store).put({ externalId: tricky, platformId: null, outcome: 'not-found', strategy: null, detail: null, learnedAt: NOW });
    store.close();
    const listed = await run('list', '--outcome', 'not-found', '--json');
    expect(firstUnshown(listed.out)).toBeUndefined();
    expect((JSON.parse(listed.out) as { entries: Array<{ externalId: string }> }).entries.map((entry) => entry.externalId)).toContain(tricky);
    const evicted = await run('evict', tricky, `${tricky}-not-cached`, '--json');
    expect(firstUnshown(evicted.out)).toBeUndefined();
    expect(JSON.parse(evicted.out)).toEqual({ evicted: [tricky], notCached: [`${tricky}-not-cached`], pinned: [] });
  });

  it('Should evict the named entries and say which were not cached', async () => {
    const { code, out } = await run('evict', 'ada.l', 'twin', 'stranger');
    expect(code).toBe(0);
    expect(out).toBe('evicted 2 entries\nnot cached: stranger\n');
    expect(cachedIds()).toEqual(['kid@school.test']);
  });

  it('Should say which of the named students user-overrides.yaml pins, evicted or not cached, as the pin decides for them', async () => {
    const file = join(temp.dir, 'user-overrides.yaml');
    writeFileSync(file, `overrides:\n  ada.l: ${randomUUID()}\n  pat.lee: ${randomUUID()}\n`);
    const pinNote = `pinned in ${file}, and the pin decides for this student: edit that file to change their platform id`;
    const { code, out, err } = await run('evict', 'ada.l', 'twin', 'pat.lee', 'stranger');
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out).toBe(`evicted 2 entries\nevicted: ada.l, but ${pinNote}\nnot cached: pat.lee; ${pinNote}\nnot cached: stranger\n`);
    expect(cachedIds()).toEqual(['kid@school.test']);
    expect(JSON.parse((await run('evict', 'pat.lee', 'kid@school.test', '--json')).out)).toEqual({
      evicted: ['kid@school.test'],
      notCached: ['pat.lee'],
      pinned: ['pat.lee'],
    });
  });

  it('Should evict all the same when user-overrides.yaml is invalid, warning that the pins were not checked', async () => {
    const file = join(temp.dir, 'user-overrides.yaml');
    writeFileSync(file, 'overrides:\n  ada.l: not-a-uuid\n');
    const { code, out, err } = await run('evict', 'ada.l');
    expect(code).toBe(0);
    expect(out).toBe('evicted 1 entry\n');
    expect(err).toBe(`caliper-gateway roster-cache: warning: could not check ${file} for pinned students: it is invalid (check-mappings lists its problems)\n`);
    expect(cachedIds()).not.toContain('ada.l');
  });

  it('Should evict an id of . or .., which DELETE /admin/roster-cache/<externalId> cannot name as it is', async () => {
    const store = openStore(env.DB_PATH!);
    for (const externalId of ['.', '..']) {
      createRosterCache(store).put({ externalId, platformId: null, outcome: 'not-found', strategy: null, detail: null, learnedAt: NOW });
    }
    store.close();
    const { code, out, err } = await run('evict', '..', '.');
    expect({ code, out, err }).toEqual({ code: 0, out: 'evicted 2 entries\n', err: '' });
    expect(cachedIds().sort()).toEqual(['ada.l', 'kid@school.test', 'twin']);
  });

  it('Should report evictions as JSON', async () => {
    const { out } = await run('evict', 'twin', 'stranger', '--json');
    expect(JSON.parse(out)).toEqual({ evicted: ['twin'], notCached: ['stranger'], pinned: [] });
  });

  it('Should evict an id pasted with whitespace around it, as the cache holds ids trimmed', async () => {
    const { code, out, err } = await run('evict', ' ada.l\n', '\tkid@school.test ', 'ada.l', ' stranger ');
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out).toBe('evicted 2 entries\nnot cached: stranger\n');
    expect(cachedIds()).toEqual(['twin']);
    expect(JSON.parse((await run('evict', '  twin\r\n', '--json')).out)).toEqual({ evicted: ['twin'], notCached: [], pinned: [] });
    expect(cachedIds()).toEqual([]);
  });

  it.each([
    ['a blank', ' \n', 'EXTERNAL_ID 2: a Learn externalId must not be empty; nothing was evicted'],
    ['an empty', '', 'EXTERNAL_ID 2: a Learn externalId must not be empty; nothing was evicted'],
    [
      'an overlong',
      ` ${'x'.repeat(MAX_EXTERNAL_ID_LENGTH + 1)}\n`,
      `EXTERNAL_ID 2: a Learn externalId is at most ${MAX_EXTERNAL_ID_LENGTH} characters (this one has ${MAX_EXTERNAL_ID_LENGTH + 1}): the gateway takes a longer one as no student, so it is never cached; nothing was evicted`,
    ],
  ])('Should exit 2 with usage for %s EXTERNAL_ID, evicting none of the others', async (_, id, message) => {
    const { code, out, err } = await run('evict', 'ada.l', id, 'twin');
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain(`caliper-gateway roster-cache: ${message}\n`);
    expect(err).toContain('Usage: caliper-gateway roster-cache');
    expect(cachedIds()).toHaveLength(3);
  });

  it('Should clear by outcome, or everything', async () => {
    expect((await run('clear', '--outcome', 'not-found')).out).toBe('cleared 1 entry\n');
    expect(cachedIds()).toEqual(['ada.l', 'twin']);
    expect(JSON.parse((await run('clear', '--json')).out)).toEqual({ cleared: 2 });
    expect((await run()).out).toBe('The roster cache is empty.\n');
  });

  it('Should run with TIMEBACK_CLIENT_SECRET_FILE set to a file it cannot read, as it needs no secret', async () => {
    env = { ...env, TIMEBACK_CLIENT_SECRET_FILE: join(temp.dir, 'no-such-secret') };
    const { code, out, err } = await run('evict', 'ada.l');
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out).toBe('evicted 1 entry\n');
    expect(cachedIds()).not.toContain('ada.l');
  });

  it('Should warn on stderr, once and before its output, about a variable that looks like a misspelt setting', async () => {
    env = { ...env, ROSTER_CACHE_TTLS: '60' };
    const printed: string[] = [];
    const io = { out: (text: string) => void printed.push(`out:${text}`), err: (text: string) => void printed.push(`err:${text}`) };
    const code = await rosterCacheCommand(['--json'], env, io, () => NOW);
    expect(code).toBe(0);
    expect(printed).toHaveLength(2);
    expect(printed[0]).toBe('err:caliper-gateway roster-cache: warning: ROSTER_CACHE_TTLS is not a caliper-gateway setting and is ignored (did you mean ROSTER_CACHE_TTL?)\n');
    expect(JSON.parse(printed[1]!.slice('out:'.length))).toMatchObject({ total: 3 });
  });

  it('Should warn on stderr, before its output, that a ROSTER_MATCH strategy named twice is tried once', async () => {
    env = { ...env, ROSTER_MATCH: 'email,email' };
    const printed: string[] = [];
    const io = { out: (text: string) => void printed.push(`out:${text}`), err: (text: string) => void printed.push(`err:${text}`) };
    expect(await rosterCacheCommand(['--json'], env, io, () => NOW)).toBe(0);
    expect(printed).toHaveLength(2);
    expect(printed[0]).toBe('err:caliper-gateway roster-cache: warning: ROSTER_MATCH names email more than once; each strategy is tried once, where first named\n');
    expect(JSON.parse(printed[1]!.slice('out:'.length))).toMatchObject({ total: 3 });
  });

  it('Should refuse a DB_PATH with no database rather than create an empty one', async () => {
    const missing = join(temp.dir, 'elsewhere', 'gateway.db');
    for (const args of [[], ['clear']]) {
      let err = '';
      const code = await rosterCacheCommand(args, { ...env, DB_PATH: missing }, { out: () => undefined, err: (text) => void (err += text) });
      expect(code).toBe(1);
      expect(err).toContain(`no database at ${missing}`);
    }
    expect(existsSync(join(temp.dir, 'elsewhere'))).toBe(false);
  });

  it.each([
    [['evict'], 'evict needs at least one EXTERNAL_ID'],
    [['list', '--outcome', 'maybe'], '--outcome must be one of found, not-found, ambiguous'],
    // One message, with the range, for every value that is not in it: it said "must be a positive
    // whole number" for some and "must be at most …" for others, and parseArgs' "argument is
    // ambiguous" for a negative one.
    ...['ten', '0', '1.5', 'Infinity', '', ' 5', '-5', `-${'9'.repeat(400)}`, '9007199254740992', '9'.repeat(400)].flatMap((limit) => [
      [['list', '--limit', limit], '--limit must be a whole number from 1 to 9007199254740991'],
      [['list', `--limit=${limit}`], '--limit must be a whole number from 1 to 9007199254740991'],
    ]),
    // Past what SQLite takes as a LIMIT: it failed with a stack trace (datatype mismatch), exit 1.
    [['list', '--limit', '99999999999999999999'], '--limit must be a whole number from 1 to 9007199254740991'],
    [['purge'], 'unknown action "purge"'],
    [['list', '--colour'], 'unknown option --colour'],
  ])('Should exit 2 with usage for %j', async (args, message) => {
    const { code, err } = await run(...args);
    expect(code).toBe(2);
    expect(err).toContain(message);
    expect(err).toContain('Usage: caliper-gateway roster-cache');
    expect(cachedIds()).toHaveLength(3);
  });

  it('Should be registered in the caliper-gateway command', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'roster-cache', 'list', '--outcome', 'ambiguous', '--json'], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    expect(JSON.parse(stdout).entries).toEqual([expect.objectContaining({ externalId: 'twin', outcome: 'ambiguous' })]);
  }, 20_000);
});
