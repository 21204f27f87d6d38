import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { updateFixtures } from '../../src/mapping/fixtures.ts';
import { createMappingReloader, type MappingReloader, type ReloadResult } from '../../src/mapping/mapping-reloader.ts';
import { loadRules } from '../../src/mapping/rule-loader.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { captureLog, makeTempDir, type CapturedLog, type TempDir } from '../helpers/identity-harness.ts';
import { metricValue } from '../helpers/metric-value.ts';
import { envelope, forumPost, STUDENT } from './learn-events.ts';

const RULES_DIR = fileURLToPath(new URL('./rule-sets/blackboard', import.meta.url));

let temp: TempDir;
let mappingsDir: string;
let fixturesDir: string;
let metrics: Metrics;
let logs: CapturedLog;
let reloader: MappingReloader | undefined;
/** Reload results not yet taken by a test, and tests waiting for the next one. */
let results: ReloadResult[];
let waiters: Array<(result: ReloadResult) => void>;

const nextReload = () =>
  new Promise<ReloadResult>((resolve) => {
    const ready = results.shift();
    if (ready) resolve(ready);
    else waiters.push(resolve);
  });

/** The next reload that fits: a folder copied or removed may report its files in more than one burst. */
async function reloadWhere(fits: (result: ReloadResult) => boolean): Promise<ReloadResult> {
  for (;;) {
    const result = await nextReload();
    if (fits(result)) return result;
  }
}

beforeEach(async () => {
  temp = makeTempDir('mapping-reload');
  mappingsDir = join(temp.dir, 'mappings');
  fixturesDir = join(temp.dir, 'fixtures');
  cpSync(RULES_DIR, mappingsDir, { recursive: true });
  const caseDir = join(fixturesDir, 'forum-event', 'post-created');
  mkdirSync(caseDir, { recursive: true });
  writeFileSync(join(caseDir, 'input.json'), JSON.stringify(envelope([forumPost()])));
  writeFileSync(join(caseDir, 'users.json'), JSON.stringify({ [STUDENT.externalId]: STUDENT.platformId }));
  await updateFixtures(fixturesDir, await loadRules(mappingsDir));
  metrics = createMetrics();
  logs = captureLog();
  results = [];
  waiters = [];
});

afterEach(async () => {
  await reloader?.stop();
  reloader = undefined;
  temp.remove();
});

async function startReloader(watch = true): Promise<MappingReloader> {
  reloader = createMappingReloader({
    mappingsDir,
    fixturesDir,
    log: logs.log,
    metrics,
    debounceMs: 20,
    watch,
    onReload: (result) => {
      const waiter = waiters.shift();
      if (waiter) waiter(result);
      else results.push(result);
    },
  });
  await reloader.start();
  return reloader;
}

const ruleFile = (id: string) => `rules:\n  - id: ${id}\n    match: { type: "http://caliper.blackboard.com/caliper/v1/BlogEvent" }\n    skip: Blog posts stay in Learn.\n`;

describe('hot reload of mapping rules', () => {
  it('activates the rules at start when they load and every fixture passes', async () => {
    const active = await startReloader();
    expect(await nextReload()).toEqual({ ok: true, files: 5, rules: 7, fixtures: 1 });
    expect(active.current()?.rules.map((rule) => rule.id)).toContain('forum-post-created');
    expect(active.problems()).toEqual([]);
    expect(await metricValue(metrics.mappingReloads, { result: 'success' })).toBe(1);
  });

  it('shows both reload results from the start, at 0, so increase() sees the first refused change', async () => {
    await startReloader();
    await nextReload();
    const text = await metrics.render();
    expect(text).toMatch(/^caliper_gateway_mapping_reloads_total\{result="failure"\} 0$/m);
    expect(text).toMatch(/^caliper_gateway_mapping_reloads_total\{result="success"\} 1$/m);
  });

  it('keeps the old rules on a bad change, logs and counts it, and swaps on a good one', async () => {
    const active = await startReloader();
    await nextReload();
    const before = active.current();

    writeFileSync(join(mappingsDir, 'blog-event.yaml'), 'rules:\n  - id: blog\n    match: { type: X }\n    skip: s\n    skpi: t\n');
    const refused = await nextReload();
    expect(refused).toEqual({ ok: false, problems: [expect.stringMatching(/blog-event\.yaml:5: rule "blog": skpi: unknown key; did you mean "skip"\?/)] });
    expect(active.current()).toBe(before);
    expect(await metricValue(metrics.mappingReloads, { result: 'failure' })).toBe(1);
    const logged = logs.lines().find((line) => line.msg === 'mapping change refused; the rules that were active stay active');
    expect(logged?.level).toBe('error');
    expect(JSON.stringify(logged?.problems)).toContain('skpi');
    expect(active.refusedChange()).toEqual({ at: expect.any(String), problems: !refused.ok ? refused.problems : [], activeSince: expect.any(String) });
    // A gauge, not only the counter: an alert holds for as long as the files on disk are not what runs.
    expect(await metrics.render()).toMatch(/^caliper_gateway_mapping_change_refused 1$/m);
    expect(await metrics.render()).toMatch(/^caliper_gateway_mapping_rules_active 7$/m);

    writeFileSync(join(mappingsDir, 'blog-event.yaml'), ruleFile('blog-entry'));
    expect(await nextReload()).toMatchObject({ ok: true, rules: 8 });
    expect(active.current()).not.toBe(before);
    expect(active.current()?.rules.map((rule) => rule.id)).toContain('blog-entry');
    expect(await metricValue(metrics.mappingReloads, { result: 'success' })).toBe(2);
    expect(active.refusedChange()).toBeUndefined();
    expect(await metrics.render()).toMatch(/^caliper_gateway_mapping_change_refused 0$/m);
    expect(await metrics.render()).toMatch(/^caliper_gateway_mapping_rules_active 8$/m);
  });

  it('refuses a change that loads but breaks a fixture, naming the fixture and the property', async () => {
    const active = await startReloader();
    await nextReload();
    const before = active.current();
    const file = join(mappingsDir, 'forum-event.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('name: { from: object.name }', 'name: { from: object.description }'));
    const refused = await nextReload();
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.problems).toEqual([
      'fixture forum-event/post-created fails:',
      expect.stringMatching(/expected\.json: \[0\]\.event\.object\.isPartOf\.name: expected "Week 3: photosynthesis", got nothing$/),
    ]);
    expect(active.current()).toBe(before);
  });

  it('follows editors that save by renaming a new file over the old one', async () => {
    const active = await startReloader();
    await nextReload();
    const staged = join(mappingsDir, '.blog-event.yaml.swp');
    writeFileSync(staged, ruleFile('blog-entry'));
    renameSync(staged, join(mappingsDir, 'blog-event.yaml'));
    expect(await nextReload()).toMatchObject({ ok: true, rules: 8 });
    expect(active.current()?.rules.map((rule) => rule.id)).toContain('blog-entry');
  });

  it('refuses a rule file saved as .yml instead of reading the folder without it', async () => {
    const active = await startReloader();
    await nextReload();
    const before = active.current();
    writeFileSync(join(mappingsDir, 'blog-event.yml'), ruleFile('blog-entry'));
    const refused = await nextReload();
    expect(refused).toEqual({ ok: false, problems: [expect.stringMatching(/blog-event\.yml: not read: only files ending in \.yaml hold rules; rename it blog-event\.yaml/)] });
    expect(active.current()).toBe(before);
  });

  it('re-checks the rules when lists.yaml changes, refusing a change that leaves a rule naming no list', async () => {
    const active = await startReloader();
    await nextReload();
    writeFileSync(join(mappingsDir, 'lists.yaml'), 'lists:\n  staff-roles: [Instructor]\n');
    writeFileSync(
      join(mappingsDir, 'blog-event.yaml'),
      'rules:\n  - id: blog-by-staff\n    match:\n      type: "http://caliper.blackboard.com/caliper/v1/BlogEvent"\n      where: { membership.roles: $lists.staff-roles }\n    skip: Staff blog posts stay in Learn.\n',
    );
    await reloadWhere((result) => result.ok && result.rules === 8);
    const before = active.current();

    // Only lists.yaml changes: the rule that names the list is checked again all the same.
    writeFileSync(join(mappingsDir, 'lists.yaml'), 'lists:\n  teacher-roles: [Instructor]\n');
    expect(await nextReload()).toEqual({
      ok: false,
      problems: [expect.stringMatching(/blog-event\.yaml:5: rule "blog-by-staff": match\.where\["membership\.roles"\]: names the list "\$lists\.staff-roles", but .*lists\.yaml defines no list "staff-roles" \(lists there: teacher-roles\)$/)],
    });
    expect(active.current()).toBe(before);
  });

  it('refuses a rule whose actor TimeBack would not know, keeping the rules it had', async () => {
    const active = await startReloader();
    await nextReload();
    const before = active.current();
    const file = join(mappingsDir, 'forum-event.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('pick: [firstPost, threadId] }', 'pick: [firstPost, threadId] }\n      actor: $edApp'));
    expect(await nextReload()).toEqual({
      ok: false,
      problems: [expect.stringMatching(/forum-event\.yaml:29: rule "forum-post-created": output\.actor: \$edApp cannot be the actor of a MessageEvent/)],
    });
    expect(active.current()).toBe(before);
  });

  it('ignores files that are not rule files', async () => {
    await startReloader();
    await nextReload();
    writeFileSync(join(mappingsDir, 'user-overrides.yaml'), 'overrides: {}\n');
    writeFileSync(join(mappingsDir, 'notes.txt'), 'x');
    // Ten debounce windows with no reload (one right after would hide theirs, coalesced).
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(results).toEqual([]);
    // A rule-file change after them is the next reload.
    writeFileSync(join(mappingsDir, 'blog-event.yaml'), ruleFile('blog-entry'));
    expect(await nextReload()).toMatchObject({ ok: true, rules: 8 });
    expect(await metricValue(metrics.mappingReloads, { result: 'success' })).toBe(2);
  });

  it('re-runs the gate when a fixture changes, is added or is removed', async () => {
    const active = await startReloader();
    await nextReload();
    const rules = active.current();
    const expectedFile = join(fixturesDir, 'forum-event', 'post-created', 'expected.json');
    const expected = readFileSync(expectedFile, 'utf8');

    // An expectation the active rules do not meet is reported at once, naming the fixture.
    writeFileSync(expectedFile, expected.replace('Week 3: photosynthesis', 'Week 4: respiration'));
    const refused = await nextReload();
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.problems[0]).toBe('fixture forum-event/post-created fails:');
    expect(active.current()).toBe(rules);

    writeFileSync(expectedFile, expected);
    expect(await nextReload()).toMatchObject({ ok: true, fixtures: 1 });

    // A new case: its folder, then its files.
    const newCase = join(fixturesDir, 'forum-event', 'post-created-again');
    cpSync(join(fixturesDir, 'forum-event', 'post-created'), newCase, { recursive: true });
    expect(await reloadWhere((result) => result.ok && result.fixtures === 2)).toMatchObject({ ok: true });

    rmSync(newCase, { recursive: true });
    expect(await reloadWhere((result) => result.ok && result.fixtures === 1)).toMatchObject({ ok: true });
  });

  it('ignores editor files in the fixtures folder', async () => {
    await startReloader();
    await nextReload();
    writeFileSync(join(fixturesDir, 'forum-event', 'post-created', '.expected.json.swp'), 'x');
    // Emacs's lock file: a hidden name that still ends in .json.
    writeFileSync(join(fixturesDir, 'forum-event', 'post-created', '.#users.json'), 'x');
    writeFileSync(join(fixturesDir, 'forum-event', 'post-created', 'notes.txt~'), 'x');
    // A backup of a file without an extension: no extension, so not told apart by one.
    writeFileSync(join(fixturesDir, 'forum-event', 'post-created', 'NOTES~'), 'x');
    writeFileSync(join(fixturesDir, 'forum-event', 'post-created', 'README.md'), 'A forum post.');
    // Ten debounce windows (20 ms) with no reload: a change written straight after would be
    // coalesced with theirs, and hide one they caused.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(results).toEqual([]);
    expect(await metricValue(metrics.mappingReloads, { result: 'success' })).toBe(1);
    // A fixture change after them is the next reload.
    writeFileSync(join(fixturesDir, 'forum-event', 'post-created', 'users.json'), JSON.stringify({ [STUDENT.externalId]: STUDENT.platformId }, null, 2));
    expect(await nextReload()).toMatchObject({ ok: true });
    expect(await metricValue(metrics.mappingReloads, { result: 'success' })).toBe(2);
  });

  it('starts with no active rules when they do not pass, and activates them once fixed', async () => {
    writeFileSync(join(mappingsDir, 'broken.yaml'), 'rules: [\n');
    const active = await startReloader();
    expect((await nextReload()).ok).toBe(false);
    expect(active.current()).toBeUndefined();
    expect(active.problems()[0]).toMatch(/broken\.yaml:\d+:\d+: /);
    expect(await metrics.render()).toMatch(/^caliper_gateway_mapping_rules_active 0$/m);
    // Nothing runs at all: not a refused change, which leaves older rules running.
    expect(await metrics.render()).toMatch(/^caliper_gateway_mapping_change_refused 0$/m);
    rmSync(join(mappingsDir, 'broken.yaml'));
    expect((await nextReload()).ok).toBe(true);
    expect(active.current()).toBeDefined();
    expect(active.problems()).toEqual([]);
  });

  it('coalesces a burst of changes into one reload', async () => {
    await startReloader();
    await nextReload();
    for (let i = 0; i < 5; i++) writeFileSync(join(mappingsDir, 'blog-event.yaml'), ruleFile(`blog-entry-${i}`));
    expect(await nextReload()).toMatchObject({ ok: true, rules: 8 });
    await reloader!.reload();
    // The explicit reload above is the only other one: the burst made exactly one.
    expect(await metricValue(metrics.mappingReloads, { result: 'success' })).toBe(3);
  });
});
