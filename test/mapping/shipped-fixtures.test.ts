/**
 * Pins every shipped mapping: each case under fixtures/ runs against the rules in mappings/
 * as its own test, so a rule change that alters any output fails here with a readable diff.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateCaliperEvent } from '../../src/mapping/caliper-validator.ts';
import { discoverFixtures, runFixture } from '../../src/mapping/fixtures.ts';
import { loadRules } from '../../src/mapping/rule-loader.ts';

const MAPPINGS_DIR = fileURLToPath(new URL('../../mappings', import.meta.url));
const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures', import.meta.url));

const loaded = await loadRules(MAPPINGS_DIR).then(
  (rules) => ({ rules, error: undefined }),
  (error: Error) => ({ rules: undefined, error }),
);
const cases = await discoverFixtures(FIXTURES_DIR);

describe('shipped mappings', () => {
  it('every rule file in mappings/ loads', () => {
    expect(loaded.error?.message).toBeUndefined();
  });

  it('runs every input.json under fixtures/, so a case in the wrong folder cannot sit there unrun', () => {
    const onDisk = readdirSync(FIXTURES_DIR, { recursive: true, encoding: 'utf8' })
      .filter((file) => path.basename(file) === 'input.json')
      .map((file) => path.dirname(file).split(path.sep).join('/'))
      .sort();
    expect(onDisk.length).toBeGreaterThan(0);
    expect(cases.map((fixture) => fixture.name)).toEqual(onDisk);
  });

  it.each(cases.map((fixture) => [fixture.name, fixture] as const))('fixture %s', async (_name, fixture) => {
    if (!loaded.rules) throw loaded.error;
    const result = await runFixture(fixture, loaded.rules);
    expect(result.problems).toEqual([]);
    for (const entry of result.actual ?? []) {
      if (entry.fate === 'deliver') expect(validateCaliperEvent(entry.event)).toEqual({ ok: true });
    }
  });
});
