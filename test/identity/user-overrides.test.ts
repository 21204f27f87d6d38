import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createUserOverrides, loadUserOverrides, UserOverridesError } from '../../src/identity/user-overrides.ts';
import { captureLog, makeTempDir, type TempDir } from '../helpers/identity-harness.ts';
import { thrownBy } from '../helpers/thrown.ts';
import { waitFor } from '../helpers/wait-for.ts';

const PLATFORM_ID = '0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05';

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

  it('Should treat an absent, empty or entry-less file as no overrides', () => {
    expect(loadUserOverrides(file).size).toBe(0);
    writeFileSync(file, '# nothing yet\n');
    expect(loadUserOverrides(file).size).toBe(0);
    writeFileSync(file, 'overrides:\n');
    expect(loadUserOverrides(file).size).toBe(0);
  });

  it('Should name the file and line, not the student, whose platform id is not a UUID', () => {
    const err = loadError(`overrides:\n  ok: ${PLATFORM_ID}\n  jstudent9@school.test: 5tmupnc4d06v62bs3kildccjrd\n`);
    expect(err.message).toBe(`${file}:3: an entry under overrides: must be the TimeBack platform id (a UUID)`);
  });

  it('Should refuse unknown top-level keys (a misspelt "overrides" would silently pin nobody)', () => {
    expect(loadError(`override:\n  jstudent9: ${PLATFORM_ID}\n`).message).toBe(
      `${file}: override: unknown key; the file has one key, "overrides"`,
    );
  });

  it('Should name the line, not the student, of an entry that lost its indentation', () => {
    // `overrides:` is then empty, and the entry a top-level key: a student's id.
    const err = loadError(`overrides:\n  ok: ${PLATFORM_ID}\njstudent9@school.test: ${PLATFORM_ID}\n`);
    expect(err.message).toBe(`${file}:3: an entry outside overrides: indent it under "overrides:"`);

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

  it('Should refuse YAML syntax errors and duplicate keys with the file name', () => {
    expect(loadError('overrides: [unclosed\n').message).toMatch(new RegExp(`^${file}: not valid YAML: `));
    expect(loadError(`overrides:\n  a: ${PLATFORM_ID}\n  a: ${PLATFORM_ID}\n`).message).toMatch(/not valid YAML: .*unique/i);
  });

  it('Should refuse a list where a map belongs', () => {
    expect(loadError(`overrides:\n  - ${PLATFORM_ID}\n`).message).toBe(
      `${file}: overrides: must map each Learn externalId to a TimeBack platform id`,
    );
    expect(loadError(`- ${PLATFORM_ID}\n`).message).toBe(`${file}: (root): must be a map with one key, "overrides"`);
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
