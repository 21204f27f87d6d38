import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/command.ts';
import { checkMappingsCommand } from '../../src/cli/check-mappings.ts';
import { makeTempDir, type TempDir } from '../helpers/identity-harness.ts';
import { envelope, forumPost, gradeEvent, USERS } from '../mapping/learn-events.ts';

const RULES_DIR = fileURLToPath(new URL('../mapping/rule-sets/blackboard', import.meta.url));
const BIN = fileURLToPath(new URL('../../src/bin.mjs', import.meta.url));

let temp: TempDir;
let mappings: string;
let fixtures: string;

beforeEach(() => {
  temp = makeTempDir('check-mappings');
  mappings = join(temp.dir, 'mappings');
  fixtures = join(temp.dir, 'fixtures');
  cpSync(RULES_DIR, mappings, { recursive: true });
  for (const [name, events] of [['forum-event/post-created', [forumPost()]], ['grade-event/graded', [gradeEvent()]]] as const) {
    mkdirSync(join(fixtures, name), { recursive: true });
    writeFileSync(join(fixtures, name, 'input.json'), JSON.stringify(envelope([...events])));
    writeFileSync(join(fixtures, name, 'users.json'), JSON.stringify(USERS));
  }
});
afterEach(() => temp.remove());

async function check(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { out: (text) => void (stdout += text), err: (text) => void (stderr += text) };
  const code = await checkMappingsCommand(args, { MAPPINGS_DIR: mappings, FIXTURES_DIR: fixtures, LOG_LEVEL: 'silent', ...env }, io);
  return { code, stdout, stderr };
}

describe('caliper-gateway check-mappings', () => {
  it('--update writes the expected outputs; then every rule file loads and every fixture passes', async () => {
    const first = await check([]);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('forum-event/post-created/expected.json: missing (npm run fixtures:update writes it)');
    expect(first.stderr).toContain('check-mappings: 2 of 2 fixtures fail');

    const updated = await check(['--update']);
    expect(updated.code).toBe(0);
    expect(updated.stdout).toMatch(
      /^Rewrote 2 expected\.json files; review every change below before you commit them:\n.*forum-event\/post-created\/expected\.json \(new\):\n {2}\[0\]: deliver MessageEvent Posted \(rule forum-post-created\)\n.*grade-event\/graded\/expected\.json \(new\):\n {2}\[0\]: deliver GradeEvent Graded \(rule grade-graded\)\n/,
    );
    expect(updated.stdout).toMatch(/check-mappings: 5 rule files, 7 rules, 2 fixtures pass/);
    expect(JSON.parse(readFileSync(join(fixtures, 'grade-event/graded/expected.json'), 'utf8'))[0]).toMatchObject({ fate: 'deliver', rule: 'grade-graded' });

    expect(await check([])).toMatchObject({ code: 0, stderr: '' });
  });

  it('runs with TIMEBACK_CLIENT_SECRET_FILE set to a file it cannot read: it needs no secret', async () => {
    await check(['--update']);
    expect(await check([], { TIMEBACK_CLIENT_SECRET_FILE: join(temp.dir, 'no-such-secret') })).toMatchObject({ code: 0, stderr: '' });
  });

  // MAPPING_DIR ignored, the check would pass on the shipped rules, not the ones the admin meant.
  it('warns on stderr, once, about a variable that looks like a misspelt setting', async () => {
    await check(['--update']);
    const result = await check([], { MAPPING_DIR: join(temp.dir, 'elsewhere') });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('caliper-gateway check-mappings: warning: MAPPING_DIR is not a caliper-gateway setting and is ignored (did you mean MAPPINGS_DIR?)\n');
    expect(result.stdout).toMatch(/^check-mappings: \d+ rule files/);
  });

  it('fails on a rule whose actor TimeBack would not know, before any event is translated', async () => {
    await check(['--update']);
    const rules = join(mappings, 'forum-event.yaml');
    // An admin sends the poster's Learn IRI as the actor: every such event would be rejected.
    writeFileSync(rules, readFileSync(rules, 'utf8').replace('pick: [firstPost, threadId] }', 'pick: [firstPost, threadId] }\n      actor: { from: actor.id }'));
    const { code, stderr } = await check([]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/forum-event\.yaml:29: rule "forum-post-created": output\.actor: TimeBack knows only two actors: the student \(\$student/);
  });

  it('fails with the file, line and property of a bad rule file', async () => {
    await check(['--update']);
    writeFileSync(join(mappings, 'blog-event.yaml'), 'rules:\n  - id: blog\n    match: { type: X }\n    output: { type: MessageEvent, action: Created, profile: ForumProfile, object: x }\n    student: [a]\n');
    const { code, stderr } = await check([]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/blog-event\.yaml:4: rule "blog": output\.action: MessageEvent does not allow Created \(allowed: Posted, MarkedAsRead, MarkedAsUnread\)/);
    expect(stderr).toMatch(/check-mappings: the rules in .* do not load/);
  });

  it('--update prints every change it writes, and says when a new case has no roster', async () => {
    await check(['--update']);
    const rules = join(mappings, 'grade-event.yaml');
    writeFileSync(rules, readFileSync(rules, 'utf8').replace('count: { from: object.count, transform: integer }', 'count: 2'));
    // A new case whose author forgot users.json: its student is "not in TimeBack".
    mkdirSync(join(fixtures, 'forum-event', 'no-roster'));
    writeFileSync(join(fixtures, 'forum-event', 'no-roster', 'input.json'), JSON.stringify(envelope([forumPost()])));
    // A case whose expected.json a merge left broken.
    writeFileSync(join(fixtures, 'forum-event', 'post-created', 'expected.json'), '<<<<<<< HEAD\n');

    const { code, stdout } = await check(['--update']);
    expect(code).toBe(0);
    expect(stdout).toContain('Rewrote 3 expected.json files; review every change below before you commit them:\n');
    expect(stdout).toMatch(
      /forum-event\/no-roster\/expected\.json \(new\):\n {2}note: this case has no users\.json, so every student in it is "not in TimeBack"\n {2}\[0\]: skipped, user-not-in-timeback \(rule forum-post-created\): lmartin07 is not in the users file\n/,
    );
    expect(stdout).toMatch(/forum-event\/post-created\/expected\.json \(replaced: it was not JSON\):\n {2}\[0\]: deliver MessageEvent Posted/);
    expect(stdout).toMatch(/grade-event\/graded\/expected\.json:\n {2}\[0\]\.event\.object\.count: was 1, now 2\n/);
  });

  it('shows a changed output as a readable diff', async () => {
    await check(['--update']);
    const rules = join(mappings, 'grade-event.yaml');
    writeFileSync(rules, readFileSync(rules, 'utf8').replace('count: { from: object.count, transform: integer }', 'count: 2'));
    const { code, stderr } = await check([]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/fixture grade-event\/graded fails:\n {2}.*grade-event\/graded\/expected\.json: \[0\]\.event\.object\.count: expected 1, got 2\n/);
    expect(stderr).toContain('check-mappings: 1 of 2 fixtures fail');
    expect(stderr).toContain('If the new outputs are what you meant, rewrite the expected outputs with --update (npm run fixtures:update) and review what it prints.');
  });

  it('shows an event whose fate changed as one line with the whole reason, and, when the rule now builds what TimeBack refuses, says to fix it rather than --update', async () => {
    await check(['--update']);
    const rules = join(mappings, 'forum-event.yaml');
    // An admin wants the poster's Learn user id in TimeBack too: it may be an e-mail address.
    writeFileSync(rules, readFileSync(rules, 'utf8').replace('pick: [firstPost, threadId] }', 'pick: [firstPost, threadId] }\n      actor: { id: $student, type: Person, email: { from: \'actor.extensions["bb:user.externalId"]\' } }'));
    const { code, stderr } = await check([]);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /forum-event\/post-created\/expected\.json: \[0\]: expected deliver MessageEvent Posted \(rule forum-post-created\), got rejected, invalid-output \(rule forum-post-created\): rule forum-post-created: actor\.email: carries personal data \(email\); list "email" in the rule's allowPii to send it\n/,
    );
    // A typo or a forgotten allowPii is never "what you meant": --update would pin the
    // rejection, and the gateway would take the rule and reject every such event from Learn.
    expect(stderr).toContain(
      '1 fixture event is now rejected as invalid-output: the rules build what Caliper 1.2 or TimeBack refuses (each line above names the rule and the property). Fix the rule; --update would only pin the rejections.\n',
    );
    expect(stderr).not.toContain('--update (npm run fixtures:update)');

    // Run anyway, --update says it again under what it wrote.
    const updated = await check(['--update']);
    expect(updated.code).toBe(0);
    expect(updated.stdout).toContain(
      'warning: 1 of the events written is rejected as invalid-output: the rules build what Caliper 1.2 or TimeBack refuses, and the gateway will reject such events from Learn; fix the rule unless that is meant\n',
    );
  });

  it('suggests --update for a meant change beside a rejection the fixture already expects, not "now rejected"', async () => {
    // A case that pins, on purpose, that the personal-data guard refuses a rule sending an e-mail address.
    const mixed = join(fixtures, 'grade-event/guarded');
    mkdirSync(mixed, { recursive: true });
    writeFileSync(join(mixed, 'input.json'), JSON.stringify(envelope([forumPost(), gradeEvent()])));
    writeFileSync(join(mixed, 'users.json'), JSON.stringify(USERS));
    const forum = join(mappings, 'forum-event.yaml');
    writeFileSync(forum, readFileSync(forum, 'utf8').replace('pick: [firstPost, threadId] }', 'pick: [firstPost, threadId] }\n      actor: { id: $student, type: Person, email: { from: \'actor.extensions["bb:user.externalId"]\' } }'));
    expect((await check(['--update'])).code).toBe(0);
    expect(JSON.parse(readFileSync(join(mixed, 'expected.json'), 'utf8'))[0]).toMatchObject({ fate: 'rejected', reason: 'invalid-output' });

    // Then a meant change to the grade rule: the rejection stays as expected; only the grade differs.
    const grade = join(mappings, 'grade-event.yaml');
    writeFileSync(grade, readFileSync(grade, 'utf8').replace('count: { from: object.count, transform: integer }', 'count: 2'));
    const { code, stderr } = await check([]);
    expect(code).toBe(1);
    expect(stderr).toContain('grade-event/guarded/expected.json: [1].event.object.count: expected 1, got 2');
    expect(stderr).not.toContain('now rejected as invalid-output');
    expect(stderr).toContain('If the new outputs are what you meant, rewrite the expected outputs with --update (npm run fixtures:update) and review what it prints.');
  });

  it('passes, but names the rules no fixture reaches, fallback rules aside', async () => {
    await check(['--update']);
    const { code, stdout } = await check([]);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /note: no fixture reaches these 4 rules, so nothing shows they match what you meant; add a case under .*fixtures\/<event-type>\/<case>\/:\n {2}forum-post-modified \(.*forum-event\.yaml:30\)\n {2}course-group-administration \(.*forum-event\.yaml:45\)\n {2}lti-launch \(.*lti-event\.yaml:2\)\n {2}session-logged-in \(.*session-event\.yaml:2\)\n$/,
    );
  });

  it('fails on a bad user-overrides.yaml, which the gateway would refuse to start with', async () => {
    await check(['--update']);
    writeFileSync(join(mappings, 'user-overrides.yaml'), 'overrides:\n  jstudent9: not-a-uuid\n  kstudent4: 0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05\n  jstudent9: 3c9d1e7a-2b4f-4a6e-8c0d-5f1b9e2a7d36\n');
    const bad = await check([]);
    expect(bad.code).toBe(1);
    // Every problem, one a line, as the rule problems are; the line finds the entry.
    expect(bad.stderr).toMatch(
      /^\S*user-overrides\.yaml:2: an entry under overrides: must be the TimeBack platform id \(a UUID\); got text \(10 characters\) that is not a UUID\n\S*user-overrides\.yaml:4: an entry under overrides: pins the same Learn externalId as line 2: a student is pinned once; keep one of the two\n/m,
    );
    for (const student of ['jstudent9', 'kstudent4']) expect(bad.stderr).not.toContain(student);
    expect(bad.stderr).toContain('check-mappings: user-overrides.yaml is invalid (the gateway will not start with it)');

    writeFileSync(join(mappings, 'user-overrides.yaml'), 'overrides:\n  jstudent9: 0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05\n');
    expect(await check([])).toMatchObject({ code: 0, stderr: '' });
  });

  // The gateway accepts this (one student, two Learn accounts) and logs a warning on each load;
  // check-mappings, which an admin runs after editing the file, says the same on stderr.
  it('passes one platform id pinned to two Learn ids, with the warning the gateway logs, naming lines, not ids', async () => {
    await check(['--update']);
    const shared = '0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05';
    writeFileSync(join(mappings, 'user-overrides.yaml'), `overrides:\n  jstudent9: ${shared}\n  kstudent4: 3c9d1e7a-2b4f-4a6e-8c0d-5f1b9e2a7d36\n  j.student9@school.test: ${shared.toUpperCase()}\n`);
    const { code, stdout, stderr } = await check([]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^check-mappings: 5 rule files, 7 rules, 2 fixtures pass/);
    expect(stderr).toMatch(
      /^caliper-gateway check-mappings: warning: \S*user-overrides\.yaml: user overrides pin one TimeBack platform id to more than one Learn externalId \(lines 2 and 4\): accepted, as one student may have two Learn accounts; if not, one of those lines has the wrong platform id\n$/,
    );
    for (const id of ['jstudent9', 'kstudent4', shared]) expect(stderr).not.toContain(id);
  });

  it('fails on a user-overrides.yml, which the gateway would not read', async () => {
    await check(['--update']);
    writeFileSync(join(mappings, 'user-overrides.yml'), 'overrides:\n  jstudent9: 0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05\n');
    const misnamed = await check([]);
    expect(misnamed.code).toBe(1);
    expect(misnamed.stderr).toMatch(/user-overrides\.yml: not read: the user overrides are read from user-overrides\.yaml only; rename it\n/);
    expect(misnamed.stderr).toContain('check-mappings: the user overrides file is misnamed (the gateway does not read it)');
  });

  it('takes the mappings folder as an argument and the fixtures folder as --fixtures', async () => {
    await check(['--update']);
    const elsewhere = join(temp.dir, 'elsewhere');
    cpSync(mappings, elsewhere, { recursive: true });
    expect((await check([elsewhere, '--fixtures', fixtures], { MAPPINGS_DIR: join(temp.dir, 'missing') })).code).toBe(0);
    expect((await check([], { MAPPINGS_DIR: join(temp.dir, 'missing') })).stderr).toMatch(/cannot read the mappings folder/);
    expect((await check(['a', 'b'])).code).toBe(2);
  });

  it('fails when the fixtures folder is not there, rather than checking nothing', async () => {
    await check(['--update']);
    const nowhere = await check(['--fixtures', join(temp.dir, 'no-such-folder')]);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toContain('no fixtures folder at');
    expect(nowhere.stderr).toContain('check-mappings: no fixtures to check the rules against');
    // An empty folder is a choice: nothing to check, and nothing wrong.
    mkdirSync(join(temp.dir, 'empty'));
    expect((await check(['--fixtures', join(temp.dir, 'empty')])).code).toBe(0);
  });

  // Two runs of the command as a process: each took up to 10 s on a heavily loaded 2-core machine.
  it('runs as `caliper-gateway check-mappings` and exits non-zero on a failure', { timeout: 60_000 }, async () => {
    const run = promisify(execFile);
    const env = { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent' };
    await run(process.execPath, [BIN, 'check-mappings', mappings, '--fixtures', fixtures, '--update'], { env });
    writeFileSync(join(mappings, 'broken.yaml'), 'rules: [\n');
    const failed = await run(process.execPath, [BIN, 'check-mappings', mappings, '--fixtures', fixtures], { env }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/broken\.yaml:\d+:\d+: /);
  });
});
