/**
 * Pins every shipped mapping: each case under fixtures/ runs against the rules in mappings/
 * as its own test, so a rule change that alters any output fails here with a readable diff.
 */
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

  it.each(cases.map((fixture) => [fixture.name, fixture] as const))('fixture %s', async (_name, fixture) => {
    if (!loaded.rules) throw loaded.error;
    const result = await runFixture(fixture, loaded.rules);
    expect(result.problems).toEqual([]);
    for (const entry of result.actual ?? []) {
      if (entry.fate === 'deliver') expect(validateCaliperEvent(entry.event)).toEqual({ ok: true });
    }
  });
});
