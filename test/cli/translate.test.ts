import { execFile } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import type { CliIo } from '../../src/cli/command.ts';
import { translateCommand } from '../../src/cli/translate.ts';
import { startTimebackEmulator } from '../../src/dev/timeback-emulator.ts';
import { createRosterCache } from '../../src/identity/roster-cache.ts';
import { validateCaliperEvent } from '../../src/mapping/caliper-validator.ts';
import { openStore } from '../../src/store/database.ts';
import { makeTempDir, type TempDir } from '../helpers/identity-harness.ts';
import { APP_ID, BB, envelope, forumPost, gradeEvent, ltiLaunch, OTHER_STUDENT, STUDENT, USERS } from '../mapping/learn-events.ts';

const RULES_DIR = fileURLToPath(new URL('../mapping/rule-sets/blackboard', import.meta.url));
const BIN = fileURLToPath(new URL('../../src/bin.mjs', import.meta.url));

let temp: TempDir;
beforeEach(() => {
  temp = makeTempDir('translate-cli');
});
afterEach(() => temp.remove());

function write(name: string, content: unknown): string {
  const file = join(temp.dir, name);
  writeFileSync(file, typeof content === 'string' || Buffer.isBuffer(content) ? content : JSON.stringify(content));
  return file;
}

async function translateCli(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { out: (text) => void (stdout += text), err: (text) => void (stderr += text) };
  const code = await translateCommand(args, { MAPPINGS_DIR: RULES_DIR, TIMEBACK_APP_ID: APP_ID, LOG_LEVEL: 'silent', ...env }, io);
  return { code, stdout, stderr };
}

describe('caliper-gateway translate', () => {
  it('prints the 1.2 events as pure JSON in order, and every event it would not send on stderr', async () => {
    const input = write('envelope.json', envelope([forumPost(), forumPost({ type: `${BB}WikiEvent` }), gradeEvent(), { ...forumPost(), eventTime: 'later' }]));
    const users = write('users.json', USERS);
    const { code, stdout, stderr } = await translateCli([input, '--users', users]);
    expect(code).toBe(0);
    const events = JSON.parse(stdout) as Array<Record<string, unknown>>;
    expect(events.map((event) => event.type)).toEqual(['MessageEvent', 'GradeEvent']);
    for (const event of events) expect(validateCaliperEvent(event)).toEqual({ ok: true });
    expect(stderr).toBe(
      `data[1]: skipped (no-rule): no rule matches ${BB}WikiEvent Created\n` +
        'data[3]: rejected (invalid-event): data[3].eventTime: expected an ISO 8601 date-time with a time zone, like 2024-05-01T12:00:00.000Z\n',
    );
  });

  // The skip line names the student, as the users file does, but the id is the sender's text.
  it('names a student not in the users file quoted when the id is not plain text, as --explain does', async () => {
    const odd = { ...STUDENT, externalId: 'lmartin\u001b[2J\n07' };
    const input = write('envelope.json', envelope([forumPost({}, odd), forumPost()]));
    const { code, stdout, stderr } = await translateCli([input, '--users', write('users.json', {})]);
    expect({ code, stdout }).toEqual({ code: 0, stdout: '[]\n' });
    expect(stderr).toBe(
      'data[0]: skipped (user-not-in-timeback, rule forum-post-created): "lmartin\\u001b[2J\\n07" is not in the users file\n' +
        `data[1]: skipped (user-not-in-timeback, rule forum-post-created): ${STUDENT.externalId} is not in the users file\n`,
    );
  });

  it('--explain writes a student id that is not plain text quoted, so no escape sequence of the sender reaches the terminal', async () => {
    const odd = { ...STUDENT, externalId: 'lmartin\u001b[2J\n07' };
    const input = write('envelope.json', envelope([forumPost({}, odd)]));
    const { code, stdout, stderr } = await translateCli([input, '--users', write('users.json', { [odd.externalId]: odd.platformId }), '--explain']);
    expect(code).toBe(0);
    const [post] = JSON.parse(stdout) as Array<{ id: string }>;
    expect(stderr).toBe(`data[0]: rule forum-post-created → MessageEvent Posted ${post!.id} (student "lmartin\\u001b[2J\\n07")\n`);
  });

  it('--explain says which rule produced each event', async () => {
    const input = write('envelope.json', envelope([forumPost(), gradeEvent()]));
    const { code, stdout, stderr } = await translateCli([input, '--users', write('users.json', USERS), '--explain']);
    expect(code).toBe(0);
    const [post, grade] = JSON.parse(stdout) as Array<{ id: string }>;
    expect(stderr.split('\n').filter(Boolean)).toEqual([
      `data[0]: rule forum-post-created → MessageEvent Posted ${post!.id} (student ${STUDENT.externalId})`,
      `data[1]: rule grade-graded → GradeEvent Graded ${grade!.id} (student ${STUDENT.externalId})`,
    ]);
  });

  it('prints a resent event once, as the gateway stores and sends it once, and says which it left out', async () => {
    const post = forumPost();
    const sameIdLater = { ...post, eventTime: '2024-03-04T10:15:00.000Z' };
    const input = write('envelope.json', envelope([post, gradeEvent(), post, sameIdLater]));
    const { code, stdout, stderr } = await translateCli([input, '--users', write('users.json', USERS)]);
    expect(code).toBe(0);
    const events = JSON.parse(stdout) as Array<{ id: string; type: string }>;
    // Intake keys a resend by sensor, id and eventTime: the same id at another time is another event.
    expect(events.map((event) => event.type)).toEqual(['MessageEvent', 'GradeEvent', 'MessageEvent']);
    expect(new Set(events.map((event) => event.id)).size).toBe(3);
    expect(stderr).toBe('data[2]: a resend of data[0] (same id and eventTime): the gateway stores and sends it once\n');
  });

  it('translates a single event, and a student missing from --users is skipped as not in TimeBack', async () => {
    const input = write('event.json', forumPost());
    const { code, stdout, stderr } = await translateCli([input, '--users', write('users.json', {})]);
    expect(code).toBe(0);
    expect(stdout).toBe('[]\n');
    expect(stderr).toBe(`event: skipped (user-not-in-timeback, rule forum-post-created): ${STUDENT.externalId} is not in the users file\n`);
  });

  it('warns on stderr, once and first, about a variable that looks like a misspelt setting; stdout stays pure JSON', async () => {
    const input = write('event.json', forumPost());
    const { code, stdout, stderr } = await translateCli([input, '--users', write('users.json', USERS)], { MAPPING_DIR: join(temp.dir, 'rules') });
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as unknown[]).length).toBe(1);
    const warning = 'caliper-gateway translate: warning: MAPPING_DIR is not a caliper-gateway setting and is ignored (did you mean MAPPINGS_DIR?)\n';
    expect(stderr.startsWith(warning)).toBe(true);
    expect(stderr.split(warning)).toHaveLength(2);
  });

  it('with --users, a student pinned in user-overrides.yaml is still the pinned id, as the gateway sends it', { timeout: 20_000 }, async () => {
    // The overrides win over the roster in the gateway, and --users only stands in for the roster.
    const pinned = '7c9e4b1a-2d3f-4e5a-8b6c-0d1e2f3a4b5c';
    const mappings = makeTempDir('translate-cli-overrides');
    try {
      cpSync(RULES_DIR, mappings.dir, { recursive: true });
      writeFileSync(join(mappings.dir, 'user-overrides.yaml'), `overrides:\n  ${STUDENT.externalId}: ${pinned.toUpperCase()}\n  ${OTHER_STUDENT.externalId}: ${pinned}\n`);
      const input = write('envelope.json', envelope([forumPost(), forumPost({}, OTHER_STUDENT)]));
      // kpatel22 is pinned but not in the users file: the gateway never asks the roster about them.
      const withUsers = await translateCli([input, '--users', write('users.json', { [STUDENT.externalId]: STUDENT.platformId })], { MAPPINGS_DIR: mappings.dir });
      // Two students pinned to one platform id: accepted, with the warning the gateway logs (by
      // line, not by id); with --users there is no logger, so it is printed as other warnings are.
      expect(withUsers.stderr).toBe(
        `caliper-gateway translate: warning: ${join(mappings.dir, 'user-overrides.yaml')}: user overrides pin one TimeBack platform id to more than one Learn externalId (lines 2 and 3): accepted, as one student may have two Learn accounts; if not, one of those lines has the wrong platform id\n`,
      );
      expect(withUsers.code).toBe(0);
      const actors = (JSON.parse(withUsers.stdout) as Array<{ actor: string }>).map((event) => event.actor);
      expect(actors).toEqual([`urn:uuid:${pinned}`, `urn:uuid:${pinned}`]);

      // The same answer as without --users, from a roster that knows the students by other ids.
      const emulator = await startTimebackEmulator({ users: [{ sourcedId: STUDENT.platformId, identifier: STUDENT.externalId }] });
      try {
        const fromRoster = await translateCli([input], {
          MAPPINGS_DIR: mappings.dir,
          DB_PATH: join(temp.dir, 'no-database-yet.db'),
          TIMEBACK_BASE_URL: emulator.url,
          TIMEBACK_CLIENT_ID: emulator.clientId,
          TIMEBACK_CLIENT_SECRET: emulator.clientSecret,
          ROSTER_MATCH: 'identifier',
        });
        expect(fromRoster.stdout).toBe(withUsers.stdout);
      } finally {
        await emulator.close();
      }
    } finally {
      mappings.remove();
    }
  });

  // The gateway's resolver takes an id longer than it accepts as no student before it looks at
  // the overrides or the roster, so --users, standing in for the roster, must not find one.
  it('with --users, answers for a padded or overlong Learn id as the gateway does', async () => {
    const pinned = '7c9e4b1a-2d3f-4e5a-8b6c-0d1e2f3a4b5c';
    const overlong = { ...STUDENT, externalId: `s${'7'.repeat(1024)}` };
    const mappings = makeTempDir('translate-cli-ids');
    try {
      cpSync(RULES_DIR, mappings.dir, { recursive: true });
      writeFileSync(join(mappings.dir, 'user-overrides.yaml'), `overrides:\n  ${STUDENT.externalId}: ${pinned}\n`);
      const input = write('envelope.json', envelope([forumPost({}, { ...STUDENT, externalId: ` ${STUDENT.externalId}\n` }), forumPost({}, overlong)]));
      const { code, stdout, stderr } = await translateCli([input, '--users', write('users.json', {})], { MAPPINGS_DIR: mappings.dir });
      expect(code).toBe(0);
      expect((JSON.parse(stdout) as Array<{ actor: string }>).map((event) => event.actor)).toEqual([`urn:uuid:${pinned}`]);
      expect(stderr).toBe('data[1]: skipped (user-not-in-timeback, rule forum-post-created): the Learn user id is longer than 1024 characters\n');
    } finally {
      mappings.remove();
    }
  });

  it('exits 1 listing every problem of a bad user-overrides.yaml by line, naming no student, with or without --users', async () => {
    const mappings = makeTempDir('translate-cli-bad-overrides');
    try {
      cpSync(RULES_DIR, mappings.dir, { recursive: true });
      writeFileSync(join(mappings.dir, 'user-overrides.yaml'), `overrides:\n  ${STUDENT.externalId}: not-a-uuid\n  ${OTHER_STUDENT.externalId}: 42\n`);
      const input = write('envelope.json', envelope([forumPost()]));
      for (const args of [[input, '--users', write('users.json', USERS)], [input]]) {
        const { code, stdout, stderr } = await translateCli(args, { MAPPINGS_DIR: mappings.dir, DB_PATH: join(temp.dir, 'none.db') });
        expect(code).toBe(1);
        expect(stdout).toBe('');
        // Every problem at once, by line; the line finds the entry, as in the gateway's log.
        expect(stderr).toMatch(
          /user overrides not loaded:\n {2}\S*user-overrides\.yaml:2: an entry under overrides: must be the TimeBack platform id \(a UUID\); got text \(10 characters\) that is not a UUID\n {2}\S*user-overrides\.yaml:3: .*; got a number\n$/,
        );
        expect(stderr).not.toContain(STUDENT.externalId);
        expect(stderr).not.toContain(OTHER_STUDENT.externalId);
        // --users answers for the roster, not for the overrides: no hint to use it.
        expect(stderr).not.toContain('--users');
      }
    } finally {
      mappings.remove();
    }
  });

  it('with --users, which stands in for the roster, a TIMEBACK_CLIENT_SECRET_FILE it cannot read does not stop it; without, it does', async () => {
    const input = write('event.json', forumPost());
    const env = { TIMEBACK_CLIENT_ID: 'client', TIMEBACK_CLIENT_SECRET_FILE: join(temp.dir, 'no-such-secret') };
    const withUsers = await translateCli([input, '--users', write('users.json', USERS)], env);
    expect(withUsers).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(withUsers.stdout)).toHaveLength(1);

    const withoutUsers = await translateCli([input], env);
    expect(withoutUsers).toEqual({ code: 2, stdout: '', stderr: `caliper-gateway: Invalid configuration:\n  - TIMEBACK_CLIENT_SECRET_FILE: cannot read ${join(temp.dir, 'no-such-secret')} (ENOENT)\n` });
  });

  it('without --users, asks the configured roster as the gateway would', { timeout: 20_000 }, async () => {
    const emulator = await startTimebackEmulator({ users: [{ sourcedId: STUDENT.platformId, identifier: STUDENT.externalId }] });
    try {
      const input = write('envelope.json', envelope([forumPost(), ltiLaunch()]));
      const { code, stdout } = await translateCli([input], {
        DB_PATH: join(temp.dir, 'no-database-yet.db'),
        TIMEBACK_BASE_URL: emulator.url,
        TIMEBACK_CLIENT_ID: emulator.clientId,
        TIMEBACK_CLIENT_SECRET: emulator.clientSecret,
        ROSTER_MATCH: 'identifier',
      });
      expect(code).toBe(0);
      const events = JSON.parse(stdout) as Array<{ actor: string }>;
      expect(events.map((event) => event.actor)).toEqual([`urn:uuid:${STUDENT.platformId}`, `urn:uuid:${STUDENT.platformId}`]);
    } finally {
      await emulator.close();
    }
  });

  // The two tests below look both students up in the emulator's roster, with a database whose
  // roster cache cannot be written, and print the same events.
  const BOTH_STUDENTS = [
    { sourcedId: STUDENT.platformId, identifier: STUDENT.externalId },
    { sourcedId: OTHER_STUDENT.platformId, identifier: OTHER_STUDENT.externalId },
  ];
  const rosterEnv = (emulator: { url: string; clientId: string; clientSecret: string }, dbPath: string) => ({
    DB_PATH: dbPath,
    TIMEBACK_BASE_URL: emulator.url,
    TIMEBACK_CLIENT_ID: emulator.clientId,
    TIMEBACK_CLIENT_SECRET: emulator.clientSecret,
    ROSTER_MATCH: 'identifier',
    LOG_LEVEL: 'info',
  });
  /** The actors of forumPost(), ltiLaunch() and forumPost({}, OTHER_STUDENT), translated. */
  const BOTH_STUDENTS_ACTORS = [`urn:uuid:${STUDENT.platformId}`, `urn:uuid:${STUDENT.platformId}`, `urn:uuid:${OTHER_STUDENT.platformId}`];
  const actorsOf = (stdout: string) => (JSON.parse(stdout) as Array<{ actor: string }>).map((event) => event.actor);
  const TWO_ANSWERS_NOT_KEPT =
    "2 roster answers were not kept in the gateway's roster cache (the translation is complete; the gateway asks the roster for these students itself)\n";

  // A running gateway's writer thread holds the write lock while it commits a large envelope.
  // The answers used to wait for it on the event loop (5 s each), so the roster requests in
  // flight timed out and students were reported unreachable, with SQLITE_BUSY's stack on stderr.
  it('without --users, beside a gateway holding the write lock, prints the translation and says once that the cache was not written', { timeout: 30_000 }, async () => {
    const emulator = await startTimebackEmulator({ users: BOTH_STUDENTS });
    const dbPath = join(temp.dir, 'gateway.db');
    openStore(dbPath).close();
    const env = rosterEnv(emulator, dbPath);
    const input = write('envelope.json', envelope([forumPost(), ltiLaunch(), forumPost({}, OTHER_STUDENT)]));
    const cached = () => {
      const store = openStore(dbPath);
      try {
        return createRosterCache(store)
          .list()
          .entries.map((entry) => entry.externalId)
          .sort();
      } finally {
        store.close();
      }
    };
    const locker = new Database(dbPath);
    try {
      locker.exec('BEGIN IMMEDIATE');
      const busy = await translateCli([input], env);
      locker.exec('ROLLBACK');
      expect(busy).toMatchObject({
        code: 0,
        stderr:
          'caliper-gateway translate: the database stayed busy with other writes (a gateway committing a large envelope or a checkpoint, or another command); gave up: ' +
          TWO_ANSWERS_NOT_KEPT,
      });
      expect(actorsOf(busy.stdout)).toEqual(BOTH_STUDENTS_ACTORS);
      expect(cached()).toEqual([]);

      // Once the lock is free, the answers are kept, as the gateway keeps them.
      const free = await translateCli([input], env);
      expect({ code: free.code, stderr: free.stderr, stdout: free.stdout }).toEqual({ code: 0, stderr: '', stdout: busy.stdout });
      expect(cached()).toEqual([OTHER_STUDENT.externalId, STUDENT.externalId].sort());
    } finally {
      if (locker.inTransaction) locker.exec('ROLLBACK');
      locker.close();
      await emulator.close();
    }
  });

  // A read-only database file, a full disk: any write that fails for a reason other than the lock.
  // It used to be one error log line per answer, each with SQLite's stack, on stderr.
  it('without --users, when the roster cache cannot be written, prints the translation and says once, on one line, why the cache was not written', { timeout: 30_000 }, async () => {
    const emulator = await startTimebackEmulator({ users: BOTH_STUDENTS });
    const dbPath = join(temp.dir, 'gateway.db');
    openStore(dbPath).close();
    // The tests may run as root, for whom a read-only file is writable: the write is refused by SQLite instead.
    const setUp = new Database(dbPath);
    setUp.exec("CREATE TRIGGER refuse_roster_answers BEFORE INSERT ON roster_cache BEGIN SELECT RAISE(ABORT, 'attempt to write a readonly database'); END");
    setUp.close();
    try {
      const input = write('envelope.json', envelope([forumPost(), ltiLaunch(), forumPost({}, OTHER_STUDENT)]));
      const result = await translateCli([input], rosterEnv(emulator, dbPath));
      expect(result).toMatchObject({
        code: 0,
        stderr:
          'caliper-gateway translate: the database refused the write (attempt to write a readonly database); gave up: ' +
          TWO_ANSWERS_NOT_KEPT,
      });
      expect(actorsOf(result.stdout)).toEqual(BOTH_STUDENTS_ACTORS);
    } finally {
      await emulator.close();
    }
  });

  it('exits 1 and says so when the roster cannot answer', { timeout: 20_000 }, async () => {
    const input = write('envelope.json', envelope([forumPost()]));
    const { code, stdout, stderr } = await translateCli([input], { DB_PATH: join(temp.dir, 'none.db'), TIMEBACK_BASE_URL: 'http://127.0.0.1:9' });
    expect(code).toBe(1);
    expect(stdout).toBe('[]\n');
    expect(stderr).toMatch(new RegExp(`^data\\[0\\]: not translated \\(rule forum-post-created\\): the roster could not say who ${STUDENT.externalId} is: `, 'm'));
    expect(stderr).toMatch(/^hint: --users USERS\.json answers from a file/m);
  });

  it.each([
    ['not JSON', '{"sensor": "s",\n "data": [\n  {"id": }\n]}', /envelope\.json: not valid JSON in data\[0\]\.id \(line 3, column 10\): expected a value, found "}"$/m],
    ['an empty file', '', /envelope\.json: the file is empty/],
    ['bytes that are not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), /envelope\.json: not valid UTF-8/],
    ['an envelope missing a field', { sensor: 'site', dataVersion: 'http://purl.imsglobal.org/ctx/caliper/v1p1', data: [forumPost()] }, /envelope\.json: sendTime: /],
    ['another Caliper version', { ...envelope([forumPost()]), dataVersion: 'http://purl.imsglobal.org/ctx/caliper/v1p2' }, /dataVersion: "http:\/\/purl\.imsglobal\.org\/ctx\/caliper\/v1p2" is not Caliper 1\.1/],
    ['an event missing its actor', { ...forumPost(), actor: undefined }, /envelope\.json: actor: expected the actor as an IRI or an object/],
    ['a list', [forumPost()], /expected a Caliper envelope/],
  ])('exits 2 for %s, naming the problem', async (_what, content, message) => {
    const { code, stdout, stderr } = await translateCli([write('envelope.json', content), '--users', write('users.json', USERS)]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
  });

  it('accepts files that start with a UTF-8 byte order mark, as POST /caliper does', async () => {
    const posted = envelope([forumPost(), gradeEvent()]);
    const plain = await translateCli([write('plain.json', posted), '--users', write('users.json', USERS)]);
    const bom = await translateCli([write('bom.json', `\uFEFF${JSON.stringify(posted)}`), '--users', write('users-bom.json', `\uFEFF${JSON.stringify(USERS)}`)]);
    expect(bom).toEqual(plain);
    expect((JSON.parse(bom.stdout) as unknown[]).length).toBe(2);
  });

  // Learn ids are looked up trimmed, so the --users keys are read the same way: a padded key
  // matches as the gateway would match it, rather than never.
  it('with --users, reads a key with spaces around it as the Learn id without them', async () => {
    const input = write('envelope.json', envelope([forumPost(), forumPost({}, OTHER_STUDENT)]));
    const users = write('users.json', `{\n  " ${STUDENT.externalId}\\n": "${STUDENT.platformId}",\n  "${OTHER_STUDENT.externalId}\\t": "${OTHER_STUDENT.platformId}"\n}\n`);
    const { code, stdout, stderr } = await translateCli([input, '--users', users]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect((JSON.parse(stdout) as Array<{ actor: string }>).map((event) => event.actor)).toEqual([`urn:uuid:${STUDENT.platformId}`, `urn:uuid:${OTHER_STUDENT.platformId}`]);
  });

  // Named by place (key and line), never by id, as user-overrides.yaml names its entries.
  it.each([
    ['two keys that are one id once trimmed', (id: string) => `{\n  "${id}": "${STUDENT.platformId}",\n  "x": "${OTHER_STUDENT.platformId}",\n  "${id} ": "${OTHER_STUDENT.platformId}"\n}\n`,
      'key 3 (line 4): the same Learn externalId as key 1 (line 2) (spaces around an id do not count): a student is listed once; keep one of the two'],
    ['a key written twice', (id: string) => `{ "${id}": "${STUDENT.platformId}", "${id}": "${OTHER_STUDENT.platformId}" }`,
      'key 2 (line 1): the same Learn externalId as key 1 (line 1): a student is listed once; keep one of the two'],
    ['an overlong key', (id: string) => `{\n  "${id}": "${STUDENT.platformId}",\n  "${id}${'7'.repeat(1024)}": "${OTHER_STUDENT.platformId}"\n}\n`,
      `key 2 (line 3): a Learn externalId is at most 1024 characters (this key has ${STUDENT.externalId.length + 1024}): the gateway takes a longer one as no student, so it would never match`],
    ['an empty key', (id: string) => `{ "${id}": "${STUDENT.platformId}", " ": "${OTHER_STUDENT.platformId}" }`, 'key 2 (line 1): a Learn externalId must not be empty'],
    ['a platform id that is not text', (id: string) => `{
  "x": "${OTHER_STUDENT.platformId}",
  "${id}": 7
}
`, 'key 2 (line 3): the platform id must be a UUID; got a number'],
    ['a platform id that is an object', (id: string) => `{
  "${id}": { "id": "${STUDENT.platformId}" }
}
`, 'key 1 (line 2): the platform id must be a UUID; got an object'],
    // The gateway takes a roster user whose sourcedId is no UUID as no student; listed here, it
    // used to make an actor TimeBack refuses (rejected invalid-output). The value is not quoted.
    ['a platform id that is not a UUID', (id: string) => `{ "${id}": "${OTHER_STUDENT.externalId}" }`,
      `key 1 (line 1): the platform id must be a UUID; got text (${OTHER_STUDENT.externalId.length} characters) that is not a UUID`],
    ['an empty platform id', (id: string) => `{ "${id}": "" }`, 'key 1 (line 1): the platform id must be a UUID; got empty text'],
    ['an entry written the wrong way round', (id: string) => `{\n  "${STUDENT.platformId}": "${id}"\n}`,
      `key 1 (line 2): the platform id must be a UUID; got text (${STUDENT.externalId.length} characters) that is not a UUID (the key is a UUID: are the Learn externalId and the platform id swapped?)`],
    // JSON.parse keeps the value written last: the first key's UUID is not a problem, the repeat's value is one too.
    ['a key written twice, the second time with text that is no UUID', (id: string) => `{ "${id}": "${STUDENT.platformId}", "${id}": "x" }`, [
      'key 2 (line 1): the same Learn externalId as key 1 (line 1): a student is listed once; keep one of the two',
      'key 2 (line 1): the platform id must be a UUID; got text (1 character) that is not a UUID',
    ]],
    // JSON.parse keeps the number written last; the text written first is not a problem.
    ['a key written twice, the second time with a number', (id: string) => `{ "${id}": "${STUDENT.platformId}", "${id}": 7 }`, [
      'key 2 (line 1): the same Learn externalId as key 1 (line 1): a student is listed once; keep one of the two',
      'key 2 (line 1): the platform id must be a UUID; got a number',
    ]],
    // Every problem, in the order of the file, each on its own line, not only the first.
    ['several problems', (id: string) => `{
  "${id}": 7,
  "": "${STUDENT.platformId}",
  "${OTHER_STUDENT.externalId}": "${OTHER_STUDENT.platformId}",
  " ${OTHER_STUDENT.externalId}": "${id}",
  "${'7'.repeat(1025)}": "${STUDENT.platformId}"
}
`, [
      'key 1 (line 2): the platform id must be a UUID; got a number',
      'key 2 (line 3): a Learn externalId must not be empty',
      'key 4 (line 5): the same Learn externalId as key 3 (line 4) (spaces around an id do not count): a student is listed once; keep one of the two',
      `key 4 (line 5): the platform id must be a UUID; got text (${STUDENT.externalId.length} characters) that is not a UUID`,
      'key 5 (line 6): a Learn externalId is at most 1024 characters (this key has 1025): the gateway takes a longer one as no student, so it would never match',
    ]],
    // A file made the wrong way (a script's output, every value a number) is not listed whole.
    ['more problems than are listed', () => `{\n${Array.from({ length: 25 }, (_, i) => `  "s${i}": ${i}`).join(',\n')}\n}\n`, [
      ...Array.from({ length: 20 }, (_, i) => `key ${i + 1} (line ${i + 2}): the platform id must be a UUID; got a number`),
      '… and 5 more problems',
    ]],
  ])('with --users, exits 2 for %s, naming its place and not the student', async (_what, users, problem) => {
    const input = write('envelope.json', envelope([forumPost()]));
    const file = write('users.json', users(STUDENT.externalId));
    const { code, stdout, stderr } = await translateCli([input, '--users', file]);
    const lines = (Array.isArray(problem) ? problem : [problem]).map((line) => `caliper-gateway translate: ${file}: ${line}\n`).join('');
    expect({ code, stdout, stderr }).toEqual({ code: 2, stdout: '', stderr: lines });
    expect(stderr).not.toContain(STUDENT.externalId);
    expect(stderr).not.toContain(OTHER_STUDENT.externalId);
  });

  it('exits 2 for a missing file, a bad users file, or no FILE at all', async () => {
    expect((await translateCli([join(temp.dir, 'missing.json')])).stderr).toMatch(/cannot read .*missing\.json: no such file/);
    const input = write('envelope.json', envelope([forumPost()]));
    const badUsers = await translateCli([input, '--users', write('users.json', { lmartin07: 7 })]);
    expect(badUsers).toMatchObject({ code: 2, stdout: '' });
    // By its place, not its id, as every other users.json message (the id used to be quoted).
    expect(badUsers.stderr).toMatch(/users\.json: key 1 \(line 1\): the platform id must be a UUID; got a number\n/);
    expect(badUsers.stderr).not.toContain('lmartin07');
    // A mistyped --users path is not an empty roster: that would skip every student and exit 0.
    const missingUsers = await translateCli([input, '--users', join(temp.dir, 'userz.json')]);
    expect(missingUsers).toMatchObject({ code: 2, stdout: '' });
    expect(missingUsers.stderr).toMatch(/cannot read .*userz\.json: no such file/);
    expect((await translateCli([])).code).toBe(2);
    expect((await translateCli([input, '--nope'])).code).toBe(2);
  });

  it('exits 1 and lists the problems when the mapping rules do not load', async () => {
    const mappings = makeTempDir('translate-cli-rules');
    try {
      writeFileSync(join(mappings.dir, 'bad.yaml'), 'rules:\n  - id: x\n    match: { type: X }\n');
      const { code, stderr } = await translateCli([write('envelope.json', envelope([forumPost()])), '--users', write('users.json', USERS)], { MAPPINGS_DIR: mappings.dir });
      expect(code).toBe(1);
      expect(stderr).toMatch(/bad\.yaml:2: rule "x": output: a rule needs an output, or a skip saying why it sends nothing/);
    } finally {
      mappings.remove();
    }
  });

  it('runs as `caliper-gateway translate` with stdout that is only JSON', { timeout: 20_000 }, async () => {
    const input = write('envelope.json', envelope([forumPost(), forumPost({ type: `${BB}WikiEvent` })]));
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, 'translate', input, '--users', write('users.json', USERS)], {
      env: { PATH: process.env.PATH ?? '', MAPPINGS_DIR: RULES_DIR, FIXTURE_DIR: temp.dir },
    });
    expect((JSON.parse(stdout) as unknown[]).length).toBe(1);
    expect(stderr).toMatch(/^caliper-gateway translate: warning: FIXTURE_DIR is not a caliper-gateway setting and is ignored \(did you mean FIXTURES_DIR\?\)\n/);
    expect(stderr).toContain('note: TIMEBACK_APP_ID is not set');
    expect(stderr).toContain('data[1]: skipped (no-rule)');
  });
});
