import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_EXTERNAL_ID_LENGTH } from '../../src/identity/identity-resolver.ts';
import { createUserOverrides, loadUserOverrides, UserOverridesError } from '../../src/identity/user-overrides.ts';
import { captureLog, makeTempDir, type TempDir } from '../helpers/identity-harness.ts';
import { thrownBy } from '../helpers/thrown.ts';
import { waitFor } from '../helpers/wait-for.ts';

const PLATFORM_ID = '0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05';
const OTHER_ID = '3c9d1e7a-2b4f-4a6e-8c0d-5f1b9e2a7d36';

let temp: TempDir;
let file: string;

beforeEach(() => {
  temp = makeTempDir('overrides');
  file = join(temp.dir, 'user-overrides.yaml');
});

afterEach(() => temp.remove());

function loadError(text: string): UserOverridesError {
  writeFileSync(file, text);
  return thrownBy(UserOverridesError, () => loadUserOverrides(file));
}

/** The problems a file is refused with, the file name dropped: `3: …`. */
function problemsOf(text: string): string[] {
  return loadError(text).problems.map((problem) => {
    expect(problem.startsWith(`${file}:`)).toBe(true);
    return problem.slice(file.length + 1);
  });
}

const NOT_UUID = 'an entry under overrides: must be the TimeBack platform id (a UUID)';

describe('user-overrides.yaml', () => {
  it('Should read the documented shape, lowercasing platform ids', () => {
    writeFileSync(
      file,
      `# pinned by the admin\noverrides:\n  jstudent9: ${PLATFORM_ID.toUpperCase()}   # Learn batch_uid: TimeBack id\n  "a.b@school.test": ${PLATFORM_ID}\n  4711: ${PLATFORM_ID}\n`,
    );
    expect(loadUserOverrides(file)).toEqual(
      new Map([
        ['jstudent9', PLATFORM_ID],
        ['a.b@school.test', PLATFORM_ID],
        ['4711', PLATFORM_ID],
      ]),
    );
  });

  it('Should read an id that looks like a number as written, since Learn sends it as text', () => {
    // YAML reads 00123 as 123 and 0x1F as 31: those pinned ids no student has.
    writeFileSync(file, `overrides:\n  00123: ${PLATFORM_ID}\n  0x1F: ${PLATFORM_ID}\n  1e3: ${PLATFORM_ID}\n  "007": ${PLATFORM_ID}\n`);
    expect([...loadUserOverrides(file).keys()]).toEqual(['00123', '0x1F', '1e3', '007']);
    // So 00123 and 123 are two students, not one pinned twice.
    writeFileSync(file, `overrides:\n  00123: ${PLATFORM_ID}\n  123: ${OTHER_ID}\n`);
    expect(loadUserOverrides(file).size).toBe(2);
  });

  it('Should treat an absent, empty or entry-less file as no overrides', () => {
    expect(loadUserOverrides(file).size).toBe(0);
    writeFileSync(file, '# nothing yet\n');
    expect(loadUserOverrides(file).size).toBe(0);
    writeFileSync(file, 'overrides:\n');
    expect(loadUserOverrides(file).size).toBe(0);
  });

  it('Should name the file and line, not the student, whose platform id is not a UUID', () => {
    const err = loadError(`overrides:\n  ok: ${PLATFORM_ID}\n  jstudent9@school.test: 5tmupnc4d06v62bs3kildccjrd\n`);
    expect(err.problems).toEqual([`${file}:3: ${NOT_UUID}; got text (26 characters) that is not a UUID`]);
    expect(err.message).toBe(`user overrides not loaded:\n  ${file}:3: ${NOT_UUID}; got text (26 characters) that is not a UUID`);
  });

  it('Should refuse unknown top-level keys (a misspelt "overrides" would silently pin nobody)', () => {
    expect(problemsOf(`override:\n  jstudent9: ${PLATFORM_ID}\n`)).toEqual(['1: override: unknown key; did you mean "overrides"? (the file has one key, "overrides")']);
    expect(problemsOf(`Overrides:\n  jstudent9: ${PLATFORM_ID}\n`)).toEqual(['1: Overrides: unknown key; keys are case-sensitive: did you mean "overrides"? (the file has one key, "overrides")']);
    // Any other unknown key is not named: it may be a student's id with a mapping under it.
    expect(problemsOf(`overrides: {}\njstudent9@school.test:\n  platformId: ${PLATFORM_ID}\n`)).toEqual(['2: unknown key; the file has one key, "overrides"']);
  });

  it('Should name the line, not the student, of an entry that lost its indentation', () => {
    // `overrides:` is then empty, and the entry a top-level key: a student's id.
    expect(problemsOf(`overrides:\n  ok: ${PLATFORM_ID}\njstudent9@school.test: ${PLATFORM_ID}\n`)).toEqual(['3: an entry outside overrides: indent it under "overrides:"']);
    // With no value, or a list, the entry was named before: the student's id in the log.
    expect(problemsOf(`overrides:\n  ok: ${PLATFORM_ID}\njstudent9@school.test:\n`)).toEqual(['3: an entry outside overrides: indent it under "overrides:"']);
    expect(problemsOf(`overrides:\n  ok: ${PLATFORM_ID}\njstudent9@school.test: [${PLATFORM_ID}]\n`)).toEqual(['3: unknown key; the file has one key, "overrides"']);

    writeFileSync(file, `overrides:\n  ok: ${PLATFORM_ID}\n`);
    const { log, text } = captureLog();
    const overrides = createUserOverrides({ file, log, watch: false });
    try {
      writeFileSync(file, `overrides:\njstudent9@school.test: ${PLATFORM_ID}\n`);
      expect(overrides.reload()).toBe(false);
      expect(overrides.get('ok')).toBe(PLATFORM_ID);
      expect(text()).toContain(`${file}:2: an entry outside overrides`);
      expect(text()).not.toContain('jstudent9');
    } finally {
      overrides.close();
    }
  });

  it('Should refuse a YAML syntax error with its file, line and column, as the rule loader does', () => {
    // Only the first: the parser's later errors mostly follow from it.
    const problems = problemsOf(`overrides:\n  jstudent9@school.test: [unclosed\n  ok: ${PLATFORM_ID}\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^3:3: Flow sequence in block collection must be sufficiently indented and end with a \]\. /);
    expect(problems[0]).not.toContain('jstudent9');
  });

  it('Should read a file YAML only warns about (an unknown tag or directive), as it always has', () => {
    // The parser still reads these values as text; refused, a gateway that started with the
    // file before would not start with it now.
    writeFileSync(file, `%SCHOOL district-9\n---\noverrides:\n  jstudent9: !uuid ${PLATFORM_ID}\n  !learn ada.l: ${OTHER_ID}\n`);
    expect(loadUserOverrides(file)).toEqual(
      new Map([
        ['jstudent9', PLATFORM_ID],
        ['ada.l', OTHER_ID],
      ]),
    );
  });

  it('Should refuse a student pinned twice, naming the line of each repeat and of the first', () => {
    expect(problemsOf(`overrides:\n  jstudent9: ${PLATFORM_ID}\n  ok: ${OTHER_ID}\n  jstudent9: ${OTHER_ID}\n  jstudent9: ${PLATFORM_ID}\n`)).toEqual([
      '4: an entry under overrides: pins the same Learn externalId as line 2: a student is pinned once; keep one of the two',
      '5: an entry under overrides: pins the same Learn externalId as line 2: a student is pinned once; keep one of the two',
    ]);
    // The resolver trims the id it looks up, so these are one student too (the last used to win).
    expect(problemsOf(`overrides:\n  jstudent9: ${PLATFORM_ID}\n  " jstudent9 ": ${OTHER_ID}\n`)).toEqual([
      '3: an entry under overrides: pins the same Learn externalId as line 2 (spaces around an id do not count): a student is pinned once; keep one of the two',
    ]);
    expect(problemsOf(`overrides:\n  a: ${PLATFORM_ID}\noverrides:\n  b: ${OTHER_ID}\n`)).toEqual(['3: overrides: written twice (also on line 1); keep one']);
  });

  // The resolver takes an id over MAX_EXTERNAL_ID_LENGTH as no student before it reads the
  // overrides. YAML itself refuses a plain key that long; `? key` and `{key: …}` get through.
  it('Should refuse, by line and length, a key longer than the resolver accepts: it could never match', () => {
    const longest = `jst${'9'.repeat(MAX_EXTERNAL_ID_LENGTH - 3)}`;
    const overlong = `${longest}7`;
    const tooLong = `an entry under overrides: a Learn externalId is at most ${MAX_EXTERNAL_ID_LENGTH} characters (this key has ${MAX_EXTERNAL_ID_LENGTH + 1}): the gateway takes a longer one as no student, so it would never match`;
    const err = loadError(`overrides:\n  ok: ${PLATFORM_ID}\n  ? ${overlong}\n  : ${OTHER_ID}\n  ? " ${longest} "\n  : ${OTHER_ID}\n`);
    expect(err.problems.map((problem) => problem.slice(file.length + 1))).toEqual([`3: ${tooLong}`]);
    expect(problemsOf(`overrides: {ok: ${PLATFORM_ID}, "${overlong}": ${OTHER_ID}}\n`)).toEqual([`1: ${tooLong}`]);
    expect(problemsOf(`overrides:\n  ${overlong}: ${OTHER_ID}\n`)).toHaveLength(1);
    for (const text of [err.message, loadError(`overrides:\n  ${overlong}: ${OTHER_ID}\n`).message]) expect(text).not.toContain('jst99');

    // The longest id the resolver accepts can be pinned, spaces around it aside.
    writeFileSync(file, `overrides:\n  ? " ${longest} "\n  : ${OTHER_ID}\n`);
    expect([...loadUserOverrides(file).keys()]).toEqual([longest]);
  });

  // One student may have two Learn accounts, so this is no error; but it may be a line copied
  // and left unchanged, crediting one student with another's work, so it is said once a load.
  it('Should accept one platform id pinned to two Learn ids, with one warning a load naming the lines, not the ids', () => {
    writeFileSync(file, `overrides:\n  jstudent9: ${PLATFORM_ID}\n  ada.l: ${OTHER_ID}\n  j.student9@school.test: ${PLATFORM_ID.toUpperCase()}\n  ada.lovelace: ${OTHER_ID}\n  ada: ${OTHER_ID}\n`);
    const { log, lines, text } = captureLog();
    const overrides = createUserOverrides({ file, log, watch: false });
    try {
      expect([overrides.get('jstudent9'), overrides.get('j.student9@school.test'), overrides.get('ada')]).toEqual([PLATFORM_ID, PLATFORM_ID, OTHER_ID]);
      expect(lines().filter((line) => line.level === 'warn')).toEqual([
        expect.objectContaining({
          file,
          lines: [[2, 4], [3, 5, 6]],
          msg: 'user overrides pin one TimeBack platform id to more than one Learn externalId (lines 2 and 4; lines 3, 5 and 6): accepted, as one student may have two Learn accounts; if not, one of those lines has the wrong platform id',
        }),
      ]);
      for (const id of ['jstudent9', 'ada.l', PLATFORM_ID, OTHER_ID]) expect(text()).not.toContain(id);

      // Said again when an edit is loaded, not when the file is reread unchanged.
      expect(overrides.reload()).toBe(true);
      expect(lines().filter((line) => line.level === 'warn')).toHaveLength(1);
      writeFileSync(file, `overrides:\n  jstudent9: ${PLATFORM_ID}\n  ada.l: ${OTHER_ID}\n  ada: ${OTHER_ID}\n`);
      expect(overrides.reload()).toBe(true);
      expect(lines().filter((line) => line.level === 'warn').map((line) => line.lines)).toEqual([[[2, 4], [3, 5, 6]], [[3, 4]]]);
      // Each student pinned to a platform id of their own: no warning.
      writeFileSync(file, `overrides:\n  jstudent9: ${PLATFORM_ID}\n  ada.l: ${OTHER_ID}\n`);
      expect(overrides.reload()).toBe(true);
      expect(lines().filter((line) => line.level === 'warn')).toHaveLength(2);
    } finally {
      overrides.close();
    }
  });

  it('Should keep ids that differ only in case apart, as the resolver looks them up', () => {
    writeFileSync(file, `overrides:\n  JStudent9: ${PLATFORM_ID}\n  jstudent9: ${OTHER_ID}\n`);
    expect(loadUserOverrides(file)).toEqual(
      new Map([
        ['JStudent9', PLATFORM_ID],
        ['jstudent9', OTHER_ID],
      ]),
    );
  });

  it('Should list every problem of the file at once, by line', () => {
    const text = [
      'overrides:',
      `  a.one@school.test: nope`,
      `  ok: ${PLATFORM_ID}`,
      `  b.two@school.test: 12345`,
      `  "": ${PLATFORM_ID}`,
      `  c.three@school.test:`,
      `  d.four@school.test: [${PLATFORM_ID}]`,
      `  ${PLATFORM_ID}: e.five@school.test`,
      `  ? [f.six]`,
      `  : ${PLATFORM_ID}`,
      `  g.seven@school.test: true`,
      `h.eight@school.test: ${PLATFORM_ID}`,
      '',
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      `2: ${NOT_UUID}; got text (4 characters) that is not a UUID`,
      `4: ${NOT_UUID}; got a number`,
      '5: an entry under overrides: a Learn externalId must not be empty',
      `6: ${NOT_UUID}; the value is empty`,
      `7: ${NOT_UUID}; got a list`,
      `8: ${NOT_UUID}; got text (18 characters) that is not a UUID (the key is a UUID: are the Learn externalId and the platform id swapped?)`,
      '9: an entry under overrides: the key must be a Learn externalId (text), not a list',
      `11: ${NOT_UUID}; got true or false`,
      '12: an entry outside overrides: indent it under "overrides:"',
    ]);
  });

  it('Should name no student, key or value, in any message', () => {
    const students = ['a.one@school.test', 'b.two@school.test', 'c.three@school.test', 'd.four@school.test', 'e.five@school.test', 'f.six@school.test'];
    const [a, b, c, d, e, f] = students;
    const text = `overrides:\n  ${a}: nope\n  ${b}: ${PLATFORM_ID}\n  " ${b}": ${OTHER_ID}\n  ${c}:\n  ${PLATFORM_ID}: ${d}\n${e}:\n${f}: ${PLATFORM_ID}\n`;
    const err = loadError(text);
    expect(err.problems).toHaveLength(6);
    for (const student of [...students, 'nope']) expect(err.message).not.toContain(student);
  });

  it('Should refuse a list where a map belongs', () => {
    expect(problemsOf(`# pinned\noverrides:\n  - ${PLATFORM_ID}\n`)).toEqual(['2: overrides: must map each Learn externalId to a TimeBack platform id']);
    expect(problemsOf(`- ${PLATFORM_ID}\n`)).toEqual(['1: (root): must be a map with one key, "overrides"']);
  });

  it('Should accept the file shipped in mappings/', () => {
    const shipped = fileURLToPath(new URL('../../mappings/user-overrides.yaml', import.meta.url));
    expect(() => loadUserOverrides(shipped)).not.toThrow();
  });

  it('Should keep the last good table when a reload finds a bad file', () => {
    writeFileSync(file, `overrides:\n  jstudent9: ${PLATFORM_ID}\n`);
    const { log, text } = captureLog();
    const overrides = createUserOverrides({ file, log, watch: false });
    try {
      writeFileSync(file, 'overrides:\n  jstudent9: nope\n');
      expect(overrides.reload()).toBe(false);
      expect(overrides.get('jstudent9')).toBe(PLATFORM_ID);
      expect(text()).toContain(`${file}:2: an entry under overrides`);
      expect(text()).not.toContain('jstudent9');

      writeFileSync(file, 'overrides: {}\n');
      expect(overrides.reload()).toBe(true);
      expect(overrides.get('jstudent9')).toBeUndefined();
      expect(overrides.size).toBe(0);
    } finally {
      overrides.close();
    }
  });

  it('Should drop every override when the file is removed, and read it again once it is back', () => {
    writeFileSync(file, `overrides:\n  jstudent9: ${PLATFORM_ID}\n`);
    const { log, text } = captureLog();
    const overrides = createUserOverrides({ file, log, watch: false });
    try {
      rmSync(file);
      expect(overrides.reload()).toBe(true);
      expect(overrides.get('jstudent9')).toBeUndefined();
      expect(overrides.size).toBe(0);
      expect(text()).toContain('user overrides file removed');

      writeFileSync(file, `overrides:\n  jstudent9: ${PLATFORM_ID}\n`);
      expect(overrides.reload()).toBe(true);
      expect(overrides.get('jstudent9')).toBe(PLATFORM_ID);
    } finally {
      overrides.close();
    }
  });

  it('Should not look up keys inherited from Object.prototype', () => {
    writeFileSync(file, `overrides:\n  jstudent9: ${PLATFORM_ID}\n`);
    const overrides = createUserOverrides({ file, log: captureLog().log, watch: false });
    try {
      expect(overrides.get('constructor')).toBeUndefined();
      expect(overrides.get('__proto__')).toBeUndefined();
    } finally {
      overrides.close();
    }
  });

  it('Should log every problem of a bad edit found by the folder watch, naming no student, and keep the last good table', async () => {
    writeFileSync(file, `overrides:\n  jstudent9@school.test: ${PLATFORM_ID}\n`);
    const captured = captureLog();
    const overrides = createUserOverrides({ file, log: captured.log });
    try {
      writeFileSync(`${file}.tmp`, `overrides:\n  jstudent9@school.test: ${PLATFORM_ID}\n  kstudent4@school.test: 42\n  jstudent9@school.test: ${OTHER_ID}\nlstudent2@school.test:\n`);
      renameSync(`${file}.tmp`, file);
      const refused = await waitFor('the bad edit to be logged', () => captured.lines().find((line) => line.msg === 'user overrides file is invalid; keeping the previous overrides'));
      expect(refused).toMatchObject({
        level: 'error',
        file,
        problems: [
          `${file}:3: ${NOT_UUID}; got a number`,
          `${file}:4: an entry under overrides: pins the same Learn externalId as line 2: a student is pinned once; keep one of the two`,
          `${file}:5: an entry outside overrides: indent it under "overrides:"`,
        ],
      });
      expect(overrides.get('jstudent9@school.test')).toBe(PLATFORM_ID);
      expect(overrides.size).toBe(1);
      for (const student of ['jstudent9', 'kstudent4', 'lstudent2']) expect(captured.text()).not.toContain(student);
    } finally {
      overrides.close();
    }
  });

  it('Should pick up an edit saved by renaming a new file over the old one', async () => {
    writeFileSync(file, 'overrides:\n  jstudent9: ' + PLATFORM_ID + '\n');
    const overrides = createUserOverrides({ file, log: captureLog().log });
    try {
      expect(overrides.get('jstudent9')).toBe(PLATFORM_ID);
      writeFileSync(`${file}.tmp`, 'overrides:\n  kstudent4: ' + PLATFORM_ID + '\n');
      renameSync(`${file}.tmp`, file);
      await waitFor('the edit to be read', () => overrides.get('kstudent4'));
      expect(overrides.get('jstudent9')).toBeUndefined();
    } finally {
      overrides.close();
    }
  });

  it('Should read the file once its folder appears, when the folder was missing at start', async () => {
    const missing = join(temp.dir, 'later', 'user-overrides.yaml');
    const overrides = createUserOverrides({ file: missing, log: captureLog().log });
    try {
      expect(overrides.size).toBe(0);
      mkdirSync(join(temp.dir, 'later'));
      writeFileSync(missing, 'overrides:\n  jstudent9: ' + PLATFORM_ID + '\n');
      await waitFor('the file in the new folder to be read', () => overrides.get('jstudent9'));
    } finally {
      overrides.close();
    }
  });
});
