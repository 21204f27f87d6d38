/**
 * The Learn-shaped traffic the benchmarks and drills send: if it stopped looking like Learn's
 * (a malformed event, a shape no rule maps), they would measure refusals and skips instead of
 * the pipeline, and say nothing.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createSyntheticLearn, syntheticStudentIds } from '../../src/dev/synthetic-events.ts';
import { staticIdentity } from '../../src/identity/identity-resolver.ts';
import { EnvelopeSchema, eventProblem } from '../../src/ingest/envelope-schema.ts';
import { validateCaliperEvent } from '../../src/mapping/caliper-validator.ts';
import { loadRules } from '../../src/mapping/rule-loader.ts';
import { translate } from '../../src/mapping/translate.ts';

const MAPPINGS_DIR = fileURLToPath(new URL('../../mappings', import.meta.url));
const APP_ID = '3c8e5a17-9d2b-4f60-8a1c-7e4b2d9f0a35';
const withoutIds = (data: Array<Record<string, unknown>>) => data.map(({ id: _id, ...rest }) => rest);

describe('synthetic Learn traffic', () => {
  it('numbers students like an SIS: s00001, s00002, …', () => {
    expect(syntheticStudentIds(3)).toEqual(['s00001', 's00002', 's00003']);
    expect(syntheticStudentIds(1, 'kid-')).toEqual(['kid-00001']);
  });

  it('makes envelopes that pass every ingest check', () => {
    const learn = createSyntheticLearn({ students: syntheticStudentIds(20), seed: 3 });
    const sent = learn.envelope(300);
    expect(EnvelopeSchema.safeParse(sent).success).toBe(true);
    expect(sent.sensor).toBe(learn.siteId);
    expect(sent.data).toHaveLength(300);
    expect(sent.data.map((event, i) => eventProblem(event, i)).filter((problem) => problem !== undefined)).toEqual([]);
  });

  it('is the same traffic for the same seed, except for event ids, which are always fresh', () => {
    const students = syntheticStudentIds(5);
    const first = createSyntheticLearn({ students, seed: 9 }).envelope(50);
    const second = createSyntheticLearn({ students, seed: 9 }).envelope(50);
    const other = createSyntheticLearn({ students, seed: 10 }).envelope(50);
    expect(withoutIds(second.data)).toEqual(withoutIds(first.data));
    expect(withoutIds(other.data)).not.toEqual(withoutIds(first.data));
    expect(new Set([...first.data, ...second.data].map((event) => event.id)).size).toBe(100);
  });

  it('sends events for the student asked for, and refuses one it does not know', () => {
    const learn = createSyntheticLearn({ students: ['s1', 's2'], seed: 1 });
    const picked = learn.envelope(10, (i) => (i % 2 ? 's2' : 's1'));
    expect(picked.data.map((event) => JSON.stringify(event).includes('"bb:user.externalId":"s2"'))).toEqual(
      Array.from({ length: 10 }, (_, i) => i % 2 === 1),
    );
    expect(() => learn.event('s3')).toThrow('unknown synthetic student s3');
    expect(() => createSyntheticLearn({ students: [] })).toThrow('at least one student');
  });

  it('is translated by the shipped rules into valid events for TimeBack, all five kinds of it', async () => {
    const students = syntheticStudentIds(10);
    const learn = createSyntheticLearn({ students, seed: 5 });
    const sent = learn.envelope(400);
    const users = Object.fromEntries(students.map((id, i) => [id, `0b6f2a8e-5c1d-4e7a-9f3b-${String(i).padStart(12, '0')}`]));
    const outcomes = await translate(
      sent.data.map((event, index) => ({ sensor: sent.sensor, event, index })),
      { rules: await loadRules(MAPPINGS_DIR), identity: staticIdentity(users), appId: APP_ID },
    );
    expect([...new Set(sent.data.map((event) => `${event.type.replace(/^.*\//, '')} ${event.action}`))].sort()).toEqual([
      'AssessmentItemEvent Started',
      'ForumEvent Created',
      'GradeEvent Graded',
      'SessionEvent LoggedIn',
      'ViewEvent Viewed',
    ]);
    // One outcome per event: an empty answer would leave the checks below nothing to check.
    expect(outcomes).toHaveLength(400);
    expect(outcomes.filter((outcome) => outcome.fate !== 'deliver')).toEqual([]);
    for (const outcome of outcomes) if (outcome.fate === 'deliver') expect(validateCaliperEvent(outcome.event)).toEqual({ ok: true });
  });
});
