import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_EXTERNAL_ID_LENGTH } from '../../src/identity/identity-resolver.ts';
import { discoverFixtures, runFixtures, updateFixtures } from '../../src/mapping/fixtures.ts';
import { loadRules } from '../../src/mapping/rule-loader.ts';
import type { RuleSet } from '../../src/mapping/rule-set.ts';
import { BB, envelope, forumPost, STUDENT } from './learn-events.ts';

const RULES_DIR = fileURLToPath(new URL('./rule-sets/blackboard', import.meta.url));

let rules: RuleSet;
let root: string;
beforeAll(async () => {
  rules = await loadRules(RULES_DIR);
});
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'fixtures-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function writeCase(name: string, input: unknown, users: unknown = { [STUDENT.externalId]: STUDENT.platformId }) {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'input.json'), typeof input === 'string' ? input : JSON.stringify(input));
  writeFileSync(join(dir, 'users.json'), JSON.stringify(users));
  return dir;
}

describe('the fixture runner', () => {
  it('discovers <type>/<case>/ folders that hold an input.json, in name order', async () => {
    writeCase('forum-event/post-created', envelope([forumPost()]));
    writeCase('forum-event/a-first', envelope([forumPost()]));
    mkdirSync(join(root, 'forum-event', 'not-a-case'), { recursive: true });
    writeFileSync(join(root, 'README.md'), 'fixtures');
    expect((await discoverFixtures(root)).map((fixture) => fixture.name)).toEqual(['forum-event/a-first', 'forum-event/post-created']);
    expect(await discoverFixtures(join(root, 'missing'))).toEqual([]);
  });

  it('fails on fixture files it would otherwise skip: one folder too high, or a case without input.json', async () => {
    writeCase('forum-event/post-created', envelope([forumPost()]));
    await updateFixtures(root, rules);
    // An admin's new case, one folder short; a case whose input is misspelt; a stray at the top.
    writeCase('my-new-case', envelope([forumPost()]));
    const misspelt = writeCase('forum-event/typo', envelope([forumPost()]));
    renameSync(join(misspelt, 'input.json'), join(misspelt, 'Input.json'));
    writeFileSync(join(root, 'expected.json'), '[]');
    const results = await runFixtures(root, rules);
    expect(results.filter((result) => result.ok).map((result) => result.name)).toEqual(['forum-event/post-created']);
    expect(results.filter((result) => !result.ok).flatMap((result) => result.problems)).toEqual([
      expect.stringMatching(/\/expected\.json: not checked: fixture files go in a case folder, .*\/<event-type>\/<case>\/; move it there$/),
      expect.stringMatching(/\/forum-event\/typo: not checked: a case folder holds input\.json \(the Learn envelope\), and this one has none$/),
      expect.stringMatching(/\/my-new-case\/input\.json: not checked: fixture files go in a case folder, .*\/my-new-case\/<case>\/; move it there$/),
      expect.stringMatching(/\/my-new-case\/users\.json: not checked: /),
    ]);
  });

  it('writes expected.json for review, then passes', async () => {
    const dir = writeCase('forum-event/mixed', envelope([forumPost(), forumPost({ type: `${BB}WikiEvent` }), { ...forumPost(), id: '' }]));
    expect((await runFixtures(root, rules))[0]!.problems).toEqual([expect.stringMatching(/expected\.json: missing \(npm run fixtures:update writes it\)$/)]);
    expect(await updateFixtures(root, rules)).toEqual([
      {
        file: expect.stringMatching(/forum-event\/mixed\/expected\.json$/),
        before: 'missing',
        changes: [
          '[0]: deliver MessageEvent Posted (rule forum-post-created)',
          `[1]: skipped, no-rule: no rule matches ${BB}WikiEvent Created`,
          '[2]: rejected, invalid-event: data[2].id: the event id is empty',
        ],
        withoutUsers: false,
        invalidOutputs: 0,
      },
    ]);
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
    expect(expected.map((entry: { fate: string }) => entry.fate)).toEqual(['deliver', 'skipped', 'rejected']);
    expect(expected[1]).toEqual({ fate: 'skipped', reason: 'no-rule', detail: `no rule matches ${BB}WikiEvent Created` });
    expect(expected[2]).toEqual({ fate: 'rejected', reason: 'invalid-event', detail: 'data[2].id: the event id is empty' });
    expect((await runFixtures(root, rules))[0]).toMatchObject({ ok: true, problems: [] });
    expect(await updateFixtures(root, rules)).toEqual([]);
  });

  it('shows a mismatch as property path: expected vs got', async () => {
    const dir = writeCase('forum-event/post', envelope([forumPost()]));
    await updateFixtures(root, rules);
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
    expected[0].event.object.type = 'Thread';
    delete expected[0].event.extensions.firstPost;
    expected[0].rule = 'forum-post-old';
    writeFileSync(join(dir, 'expected.json'), JSON.stringify(expected));
    const [result] = await runFixtures(root, rules);
    expect(result!.ok).toBe(false);
    expect(result!.problems.map((line) => line.replace(/^.*expected\.json: /, ''))).toEqual([
      '[0].rule: expected "forum-post-old", got "forum-post-created"',
      '[0].event.object.type: expected "Thread", got "Message"',
      '[0].event.extensions.firstPost: expected nothing, got true',
    ]);
  });

  it('reports unreadable inputs and rosters with the file', async () => {
    writeCase('forum-event/bad-json', '{ "sensor": ');
    writeCase('forum-event/bad-version', { ...envelope([forumPost()]), dataVersion: 'http://purl.imsglobal.org/ctx/caliper/v1p2' });
    writeCase('forum-event/bad-users', envelope([forumPost()]), { lmartin07: 42 });
    const results = await runFixtures(root, rules);
    expect(results.flatMap((result) => result.problems).join('\n')).not.toContain('lmartin07');
    expect(results.map((result) => result.problems[0])).toEqual([
      expect.stringMatching(/bad-json\/input\.json: not valid JSON in sensor \(line 1, column 13\): /),
      // By its place, not its id, as users.json's other messages name a key.
      expect.stringMatching(/bad-users\/users\.json: key 1 \(line 1\): the platform id must be a UUID; got a number$/),
      expect.stringMatching(/bad-version\/input\.json: dataVersion: "http:\/\/purl\.imsglobal\.org\/ctx\/caliper\/v1p2" is not Caliper 1\.1/),
    ]);
  });

  it('looks a student up as the gateway does: trimmed, and one over MAX_EXTERNAL_ID_LENGTH is no student', async () => {
    const overlong = { ...STUDENT, externalId: `s${'x'.repeat(MAX_EXTERNAL_ID_LENGTH)}` };
    const padded = { ...STUDENT, externalId: ` ${STUDENT.externalId}\n` };
    writeCase('forum-event/ids', envelope([forumPost({}, overlong), forumPost({}, padded)]), { [STUDENT.externalId]: STUDENT.platformId });
    await updateFixtures(root, rules);
    const [result] = await runFixtures(root, rules);
    expect(result!.actual!.map((entry) => ('reason' in entry ? `${entry.fate}: ${entry.detail}` : entry.fate))).toEqual([
      `skipped: the Learn user id is longer than ${MAX_EXTERNAL_ID_LENGTH} characters`,
      'deliver',
    ]);
  });

  // users.json keys are read as the gateway reads the Learn id they are matched with: a padded
  // key matches, and a key that could never match is refused, named by its place, not its id.
  it('reads users.json keys trimmed, and refuses an overlong key or two keys that are one id', async () => {
    writeCase('forum-event/padded-key', envelope([forumPost()]), { [` ${STUDENT.externalId}\t`]: STUDENT.platformId });
    writeCase('forum-event/overlong-key', envelope([forumPost()]), { [STUDENT.externalId]: STUDENT.platformId, [`s${'x'.repeat(MAX_EXTERNAL_ID_LENGTH)}`]: STUDENT.platformId });
    writeCase('forum-event/twice', envelope([forumPost()]), { [STUDENT.externalId]: STUDENT.platformId, [`${STUDENT.externalId} `]: STUDENT.platformId });
    await updateFixtures(root, rules);
    const results = await runFixtures(root, rules);
    expect(results.map((result) => result.problems[0] ?? result.actual!.map((entry) => entry.fate).join())).toEqual([
      expect.stringMatching(
        new RegExp(`overlong-key/users\\.json: key 2 \\(line 1\\): a Learn externalId is at most ${MAX_EXTERNAL_ID_LENGTH} characters \\(this key has ${MAX_EXTERNAL_ID_LENGTH + 1}\\): the gateway takes a longer one as no student, so it would never match$`),
      ),
      'deliver',
      expect.stringMatching(
        /twice\/users\.json: key 2 \(line 1\): the same Learn externalId as key 1 \(line 1\) \(spaces around an id do not count\): a student is listed once; keep one of the two$/,
      ),
    ]);
    expect(results.flatMap((result) => result.problems).join('\n')).not.toContain(STUDENT.externalId);
  });

  it('lists every problem of a users.json, each by its place, not only the first', async () => {
    writeCase('forum-event/many', envelope([forumPost()]), { [STUDENT.externalId]: 42, ' ': STUDENT.platformId, [` ${STUDENT.externalId}`]: STUDENT.platformId });
    const [result] = await runFixtures(root, rules);
    expect(result!.problems).toEqual([
      expect.stringMatching(/many\/users\.json: key 1 \(line 1\): the platform id must be a UUID; got a number$/),
      expect.stringMatching(/many\/users\.json: key 2 \(line 1\): a Learn externalId must not be empty$/),
      expect.stringMatching(/many\/users\.json: key 3 \(line 1\): the same Learn externalId as key 1 \(line 1\) \(spaces around an id do not count\): a student is listed once; keep one of the two$/),
    ]);
    expect(result!.problems.join('\n')).not.toContain(STUDENT.externalId);
  });

  it('treats a missing users.json as an empty roster', async () => {
    const dir = writeCase('forum-event/nobody', envelope([forumPost()]));
    rmSync(join(dir, 'users.json'));
    await updateFixtures(root, rules);
    const [result] = await runFixtures(root, rules);
    expect(result!.actual).toEqual([{ fate: 'skipped', reason: 'user-not-in-timeback', rule: 'forum-post-created', detail: 'lmartin07 is not in the users file' }]);
  });
});
