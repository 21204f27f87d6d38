/**
 * Canaries in disguise, end to end: rules that copy what Learn sent in forms the personal-data
 * guard once did not read (an http launch URL hashed by `url-iri`, a launch URL's query string,
 * a batch_uid percent-encoded in an IRI, a copied object keyed by students). The real gateway
 * on a real database against the TimeBack emulator: each such event is rejected, TimeBack hears
 * no canary, and the log holds none.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { parseConfig } from '../src/config.ts';
import { startTimebackEmulator, type HeardRequest, type TimebackEmulator } from '../src/dev/timeback-emulator.ts';
import { startGateway, type Gateway } from '../src/server.ts';
import { canaries } from './helpers/canaries.ts';
import { envelope, sessionEvent } from './helpers/caliper-events.ts';
import { captureLog, makeTempDir, type TempDir } from './helpers/identity-harness.ts';
import { APP_ID } from './mapping/learn-events.ts';
import { waitFor } from './helpers/wait-for.ts';

const PROBE = 'http://example.test/caliper/';
const rule = (name: string, object: string) => `
  - id: ${name.replace(/[A-Z]/g, (ch, at) => `${at ? '-' : ''}${ch.toLowerCase()}`)}
    match: { type: ${PROBE}${name} }
    student: ['actor.extensions["bb:user.externalId"]']
    output:
      type: SessionEvent
      action: LoggedIn
      profile: SessionProfile
      object:
${object}
`;
const RULES = `description: Rules that copy Learn's values in disguise (test/canaries-disguised.test.ts).
rules:
${rule('HashedUrl', '        id: { from: object.extensions.page, transform: [strip-query, url-iri] }\n        type: SoftwareApplication')}
${rule('WholeLaunchUrl', '        id: { from: object.extensions.page, transform: iri }\n        type: SoftwareApplication')}
${rule('EncodedId', '        id: { from: object.extensions.page, transform: iri }\n        type: SoftwareApplication')}
${rule('KeyedByStudent', '        id: { from: object.id, transform: iri }\n        type: SoftwareApplication\n        extensions: { from: object.extensions.scores }')}
`;

let temp: TempDir | undefined;
let emulator: TimebackEmulator | undefined;
let gateway: Gateway | undefined;
afterEach(async () => {
  await gateway?.close();
  await emulator?.close();
  temp?.remove();
  gateway = emulator = temp = undefined;
});

it('rejects events whose rule copies a student in disguise, and nothing of them reaches TimeBack or the log', { timeout: 60_000 }, async () => {
  const c = canaries();
  const heard: HeardRequest[] = [];
  emulator = await startTimebackEmulator({ clientId: 'disguise-client', clientSecret: 'disguise-secret-qzx', onRequest: (request) => heard.push(request) });
  temp = makeTempDir('canaries-disguised');
  mkdirSync(path.join(temp.dir, 'mappings'));
  mkdirSync(path.join(temp.dir, 'fixtures'));
  writeFileSync(path.join(temp.dir, 'mappings', 'disguises.yaml'), RULES);

  const events: Array<Record<string, unknown>> = [];
  const probe = (name: string, extensions: (batchUid: string) => Record<string, unknown>) => {
    c.studentIds.clear();
    const event = c.plant(sessionEvent({ type: `${PROBE}${name}` }, 'disguised-student')) as Record<string, unknown>;
    const batchUid = c.studentIds.get('disguised-student')!;
    const sourcedId = randomUUID();
    emulator!.users.set(sourcedId, { sourcedId, identifier: batchUid, roles: ['student'] });
    (event.object as Record<string, unknown>).extensions = extensions(batchUid);
    events.push(event);
  };
  probe('HashedUrl', (id) => ({ page: `http://tool.school.test/learners/${id}/launch?lesson=2` }));
  probe('WholeLaunchUrl', () => ({ page: `https://tool.school.test/launch?lesson=2&lis_person_contact_email_primary=${encodeURIComponent(c.email('launch'))}` }));
  probe('EncodedId', (id) => ({ page: `https://tool.school.test/learners/${[...id].map((ch) => `%${ch.charCodeAt(0).toString(16)}`).join('')}/home` }));
  probe('KeyedByStudent', (id) => ({ scores: { [id]: 92 } }));

  const log = captureLog();
  const env = {
    HOST: '127.0.0.1',
    PORT: '0',
    DB_PATH: path.join(temp.dir, 'gateway.db'),
    MAPPINGS_DIR: path.join(temp.dir, 'mappings'),
    FIXTURES_DIR: path.join(temp.dir, 'fixtures'),
    INGEST_API_KEYS: 'disguise-ingest-key',
    TIMEBACK_BASE_URL: emulator.url,
    TIMEBACK_CLIENT_ID: 'disguise-client',
    TIMEBACK_CLIENT_SECRET: 'disguise-secret-qzx',
    TIMEBACK_APP_ID: APP_ID,
    ROSTER_MATCH: 'identifier',
    LOG_LEVEL: 'trace',
  };
  gateway = await startGateway(parseConfig(env), { log: log.log });
  const response = await fetch(`${gateway.url}/caliper`, {
    method: 'POST',
    headers: { authorization: 'disguise-ingest-key', 'content-type': 'application/json' },
    body: JSON.stringify(envelope(events)),
  });
  expect(response.status).toBe(200);
  const db = new Database(env.DB_PATH, { readonly: true });
  try {
    const fates = () => db.prepare('SELECT fate, reason FROM events ORDER BY seq').all() as Array<{ fate: string; reason: string | null }>;
    await waitFor('every event settled', () => fates().every((row) => row.fate !== 'pending'), 30_000, 100);
    expect(fates()).toEqual(events.map(() => ({ fate: 'rejected', reason: 'invalid-output' })));
  } finally {
    db.close();
  }
  await gateway.close();
  gateway = undefined;

  // The lookups went out (each carrying its batch_uid, as they must); no event did.
  expect(heard.filter((request) => request.route === 'roster').length).toBeGreaterThan(0);
  expect(heard.filter((request) => request.route === 'events')).toEqual([]);
  expect(c.foundIn(log.text())).toEqual([]);
});
