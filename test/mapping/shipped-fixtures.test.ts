/**
 * Pins every shipped mapping: each case under fixtures/ runs against the rules in mappings/
 * as its own test, so a rule change that alters any output fails here with a readable diff.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateCaliperEvent } from '../../src/mapping/caliper-validator.ts';
import { discoverFixtures, readUsers, runFixture } from '../../src/mapping/fixtures.ts';
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

  // The emulator (`npm run emulator`, the demo) and the bench's translate phase take every case's
  // users.json together as one roster: a Learn id that stood for two students would be one of them.
  it('gives each Learn id one platform id across every case', async () => {
    const seen = new Map<string, { platformId: string; fixture: string }>();
    const clashes: string[] = [];
    for (const fixture of cases) {
      const roster = await readUsers(path.join(fixture.dir, 'users.json'));
      if (!roster.ok) continue; // A case whose users.json is bad fails on its own, below.
      for (const [externalId, platformId] of Object.entries(roster.users)) {
        const first = seen.get(externalId);
        if (first && first.platformId !== platformId) clashes.push(`${externalId}: ${first.fixture} and ${fixture.name}`);
        if (!first) seen.set(externalId, { platformId, fixture: fixture.name });
      }
    }
    expect(seen.size).toBeGreaterThan(0);
    expect(clashes).toEqual([]);
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
