/**
 * `url-iri` names an http URL by its UUID v5, a hash anyone can recompute from a guessed URL:
 * a URL holding the student's id must be refused as it would be unhashed, not sent as a stable,
 * reversible id for the student.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { staticIdentity } from '../../src/identity/identity-resolver.ts';
import { findPii } from '../../src/mapping/pii-guard.ts';
import { loadRules } from '../../src/mapping/rule-loader.ts';
import type { RuleSet } from '../../src/mapping/rule-set.ts';
import { translate } from '../../src/mapping/translate.ts';
import { APP_ID, ltiLaunch, oneRule, SENSOR, sessionLogin, STUDENT, USERS } from './learn-events.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
let shipped: RuleSet;
beforeAll(async () => {
  shipped = await loadRules(path.join(ROOT, 'mappings'));
});

const run = async (event: unknown, rules = shipped) => (await translate([{ sensor: SENSOR, event }], { rules, identity: staticIdentity(USERS), appId: APP_ID }))[0]!;

describe('ids hashed from a URL (url-iri)', () => {
  for (const scheme of ['https', 'http']) {
    it(`refuses a ${scheme} launch URL whose path holds the student's batch_uid`, async () => {
      const event = ltiLaunch({});
      (event.object as Record<string, unknown>).launchUrl = `${scheme}://tool.example.org/learners/${STUDENT.externalId}/launch?course=BIO-110`;
      const outcome = await run(event);
      expect(outcome).toMatchObject({ fate: 'rejected', reason: 'invalid-output' });
      expect((outcome as { detail: string }).detail).toMatch(/target\.id: carries personal data \(user-id, as actor\.extensions\["bb:user\.externalId"\]/);
    });
  }

  it('still sends an http launch URL that names no one, by its UUID v5', async () => {
    const event = ltiLaunch({});
    (event.object as Record<string, unknown>).launchUrl = 'http://tool.example.org/launch?user=lmartin07&course=BIO-110';
    const outcome = await run(event);
    expect(outcome).toMatchObject({ fate: 'deliver', event: { target: { id: expect.stringMatching(/^urn:uuid:[0-9a-f-]{36}$/) } } });
  });

  it("refuses a hashed URL holding the student's Learn user UUID, whichever rule hashes it", async () => {
    const rules = oneRule(`
id: hashes-a-url
match: { type: SessionEvent }
student: ['actor.extensions["bb:user.externalId"]']
output:
  type: SessionEvent
  action: LoggedIn
  profile: SessionProfile
  object:
    id: { from: object.extensions.page, transform: url-iri }
    type: SoftwareApplication
`);
    const event = sessionLogin({});
    (event.object as Record<string, Record<string, unknown>>).extensions!.page = `http://portal.example.org/people/${STUDENT.userUuid}/home`;
    const outcome = await run(event, rules);
    expect(outcome).toMatchObject({ fate: 'rejected', reason: 'invalid-output' });
    expect((outcome as { detail: string }).detail).toMatch(/object\.id: carries personal data \(user-id/);
  });

  it('checks a copied "__proto__" key of an output that holds a hashed id, as of any other', () => {
    const copied = JSON.parse('{"__proto__": {"note": "for lmartin07"}}') as Record<string, unknown>;
    const event = { object: { id: 'urn:uuid:0f198531-7c4c-5d97-a633-1d616b87cbba', type: 'LtiLink' }, extensions: copied };
    const input = { actor: { type: 'Person', extensions: { 'bb:user.externalId': STUDENT.externalId } } };
    const hashed = new Map([['urn:uuid:0f198531-7c4c-5d97-a633-1d616b87cbba', 'http://tool.example.org/launch']]);
    expect(findPii(event, new Set(), { event: input, studentId: STUDENT.externalId, hashed })).toMatchObject({ category: 'user-id', path: 'extensions.__proto__.note' });
  });
});
