/**
 * Where a student's data and the gateway's secrets can go, checked with canaries end to end.
 * Every Learn shape the fixtures pin, and probes for every fate and failure, carry a unique
 * made-up value in each personal field (test/helpers/canaries.ts); the gateway runs on a real
 * database against the TimeBack emulator, which answers with echoes of what it received where
 * it fails. Then every place the gateway writes is searched:
 *
 * - the log (every level), `/readyz`, `/metrics` and every answer to Learn: no canary, no secret;
 * - TimeBack: event bodies hold a canary only where a rule allows it (`allowPii`); a roster
 *   query holds the batch_uid it looks up and nothing else; the client secret goes only to the
 *   token endpoint, and tokens only as bearer tokens;
 * - admin routes and commands that show a student (the event view, the roster cache,
 *   `translate --explain`) do so behind ADMIN_TOKEN or on the operator's own terminal, as
 *   documented; the others (`status`, `replay`) show none.
 */
import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { replayCommand } from '../src/cli/replay.ts';
import { rosterCacheCommand } from '../src/cli/roster-cache.ts';
import { statusCommand } from '../src/cli/status.ts';
import { TRANSLATE_USAGE, translateCommand } from '../src/cli/translate.ts';
import type { CliIo } from '../src/cli/command.ts';
import { parseConfig } from '../src/config.ts';
import { startTimebackEmulator, type HeardRequest, type TimebackEmulator } from '../src/dev/timeback-emulator.ts';
import { discoverFixtures, readUsers } from '../src/mapping/fixtures.ts';
import { readTranslateInput } from '../src/mapping/translate-input.ts';
import { startGateway, type Gateway } from '../src/server.ts';
import { canaries, canaryKind, type Canaries } from './helpers/canaries.ts';
import { envelope, sessionEvent, TEST_SITE } from './helpers/caliper-events.ts';
import { captureLog, makeTempDir, type CapturedLog, type TempDir } from './helpers/identity-harness.ts';
import { APP_ID } from './mapping/learn-events.ts';
import { waitFor } from './helpers/wait-for.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const CLIENT_ID = 'leak-test-client';
const SECRETS = {
  ingestKey: 'ingest-key-qzx-5c1d4e7a',
  adminToken: 'admin-token-qzx-9f3b8d2c6e4a',
  // Characters that change under URL and form encoding, so each encoding is looked for.
  clientSecret: 'client-secret/qzx+0b6f=&2a8e',
};
/** The canaries a rule's `student` paths read: Learn's batch_uid, or another source's actor id. */
const STUDENT_IDS = new Set(['buid', 'user']);
/** Keys and tokens someone presented that were wrong: as secret as the right ones. */
const WRONG = { ingestKey: 'wrong-ingest-key-qzx-3141', adminToken: 'wrong-admin-token-qzx-2718' };

const PROBE = 'http://example.test/caliper/';
/**
 * Rules for the probes: one that sends an e-mail address (refused), one a bad IRI (refused), one
 * the student's batch_uid and one their name where nothing about the key says so (refused: the
 * input names them), one an allowed e-mail.
 */
const PROBE_RULES = `
description: Probes for test/canaries.test.ts.
rules:
  - id: probe-sends-an-email
    match: { type: ${PROBE}ProbePiiEvent }
    student: ['actor.extensions["bb:user.externalId"]']
    output:
      type: SessionEvent
      action: LoggedIn
      profile: SessionProfile
      object:
        id: { from: object.id, transform: iri }
        type: SoftwareApplication
        name: { from: 'actor.extensions["bb:user.email"]' }
  - id: probe-sends-a-bad-iri
    match: { type: ${PROBE}ProbeIriEvent }
    student: ['actor.extensions["bb:user.externalId"]']
    output:
      type: SessionEvent
      action: LoggedIn
      profile: SessionProfile
      object:
        id: { from: object.extensions.link }
        type: SoftwareApplication
  - id: probe-copies-the-batch-uid
    match: { type: ${PROBE}ProbeIdEvent }
    student: ['actor.extensions["bb:user.externalId"]']
    output:
      type: SessionEvent
      action: LoggedIn
      profile: SessionProfile
      object:
        id: { from: object.id, transform: iri }
        type: SoftwareApplication
        version: { from: 'actor.extensions["bb:user.externalId"]', transform: lowercase }
  - id: probe-copies-a-name
    match: { type: ${PROBE}ProbeNameEvent }
    student: ['actor.extensions["bb:user.externalId"]']
    output:
      type: SessionEvent
      action: LoggedIn
      profile: SessionProfile
      object:
        id: { from: object.id, transform: iri }
        type: SoftwareApplication
      extensions:
        seenAs: { from: actor.name }
  - id: probe-sends-an-allowed-email
    match: { type: ${PROBE}ProbeAllowedEvent }
    allowPii: [email]
    student: ['actor.extensions["bb:user.externalId"]']
    output:
      type: SessionEvent
      action: LoggedIn
      profile: SessionProfile
      object:
        id: { from: object.id, transform: iri }
        type: SoftwareApplication
      extensions:
        email: { from: 'actor.extensions["bb:user.email"]' }
`;

let temp: TempDir | undefined;
let emulator: TimebackEmulator | undefined;
let gateway: Gateway | undefined;

afterEach(async () => {
  await gateway?.close();
  await emulator?.close();
  temp?.remove();
  gateway = undefined;
  emulator = undefined;
  temp = undefined;
});

/** The forms a secret travels in: as is, URL- or form-encoded, inside HTTP Basic. */
/**
 * Rules that copy what Learn sent in forms the personal-data guard once did not read: an http
 * launch URL hashed by `url-iri`, a launch URL's whole query string, a batch_uid percent-encoded
 * in an IRI, a copied object keyed by students.
 */
const disguiseRule = (name: string, object: string) => `
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
const DISGUISE_RULES = `description: Rules that copy Learn's values in disguise (test/canaries.test.ts).
rules:
${disguiseRule('HashedUrl', '        id: { from: object.extensions.page, transform: [strip-query, url-iri] }\n        type: SoftwareApplication')}
${disguiseRule('WholeLaunchUrl', '        id: { from: object.extensions.page, transform: iri }\n        type: SoftwareApplication')}
${disguiseRule('EncodedId', '        id: { from: object.extensions.page, transform: iri }\n        type: SoftwareApplication')}
${disguiseRule('KeyedByStudent', '        id: { from: object.id, transform: iri }\n        type: SoftwareApplication\n        extensions: { from: object.extensions.scores }')}
`;

function secretForms(): string[] {
  const { clientSecret } = SECRETS;
  return [
    ...Object.values(SECRETS),
    ...Object.values(WRONG),
    encodeURIComponent(clientSecret),
    new URLSearchParams({ s: clientSecret }).toString().slice(2),
    Buffer.from(`${CLIENT_ID}:${clientSecret}`).toString('base64'),
  ];
}

/** The secrets (and issued tokens) in `text`, each once. */
function secretsIn(text: string, tokens: Iterable<string>): string[] {
  return [...secretForms(), ...tokens].filter((secret) => text.includes(secret));
}

function folderWithShippedRules(): TempDir {
  const dir = makeTempDir('canaries');
  cpSync(path.join(ROOT, 'mappings'), path.join(dir.dir, 'mappings'), { recursive: true });
  writeFileSync(path.join(dir.dir, 'mappings', 'zz-probes.yaml'), PROBE_RULES);
  // The shipped fixtures are run by their own tests; the gateway here only needs a folder.
  mkdirSync(path.join(dir.dir, 'fixtures'));
  return dir;
}

function gatewayEnv(dir: string, timeback: TimebackEmulator): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    DB_PATH: path.join(dir, 'gateway.db'),
    MAPPINGS_DIR: path.join(dir, 'mappings'),
    FIXTURES_DIR: path.join(dir, 'fixtures'),
    INGEST_API_KEYS: SECRETS.ingestKey,
    ADMIN_TOKEN: SECRETS.adminToken,
    TIMEBACK_BASE_URL: timeback.url,
    TIMEBACK_CLIENT_ID: CLIENT_ID,
    TIMEBACK_CLIENT_SECRET: SECRETS.clientSecret,
    TIMEBACK_APP_ID: APP_ID,
    DELIVERY_MAX_AGE: '5',
    DELIVERY_BACKOFF_CAP: '1',
    DELIVERY_TIMEOUT: '2',
    ROSTER_TIMEOUT: '2',
    MAX_BODY_BYTES: String(4 * 1024 * 1024),
    LOG_LEVEL: 'trace',
  };
}

/** Every Learn shape the fixtures pin, with canaries planted, as envelopes; their students enrolled in `timeback`. */
async function plantedFixtures(c: Canaries, timeback: TimebackEmulator): Promise<Array<Record<string, unknown>>> {
  const envelopes: Array<Record<string, unknown>> = [];
  for (const fixture of await discoverFixtures(path.join(ROOT, 'fixtures'))) {
    const input = readTranslateInput(readFileSync(path.join(fixture.dir, 'input.json')));
    const read = await readUsers(path.join(fixture.dir, 'users.json'));
    if (!input.ok || !read.ok) throw new Error(`${fixture.name}: ${input.ok ? (read.ok ? '' : read.problems.join('; ')) : input.message}`);
    const users = read.users;
    c.studentIds.clear();
    const data = input.items.map((item) => c.plant(item.event));
    for (const externalId of Object.keys(users)) {
      const planted = c.studentIds.get(externalId.trim()) ?? c.studentIds.get(externalId);
      if (planted !== undefined) enroll(timeback, planted);
    }
    envelopes.push(envelope(data, { sensor: input.sensor || TEST_SITE }));
  }
  return envelopes;
}

/** A roster user for `batchUid`; returns the platform id. */
function enroll(timeback: TimebackEmulator, batchUid: string, roles = ['student']): string {
  const sourcedId = randomUUID();
  timeback.users.set(sourcedId, { sourcedId, identifier: batchUid, roles });
  return sourcedId;
}

interface Probe {
  event: Record<string, unknown>;
  batchUid: string;
}

/** A Learn login (or `overrides`) with canaries planted, its student's batch_uid, and an e-mail in `bb:user.email`. */
function probe(c: Canaries, overrides: Record<string, unknown> = {}): Probe {
  c.studentIds.clear();
  const event = c.plant(sessionEvent(overrides, 'probe-student')) as Record<string, unknown>;
  const actor = event.actor as { extensions: Record<string, unknown> };
  actor.extensions['bb:user.email'] = c.email('email');
  return { event, batchUid: c.studentIds.get('probe-student')! };
}

function capturingIo(): CliIo & { out_: string[]; err_: string[] } {
  const out_: string[] = [];
  const err_: string[] = [];
  return { out_, err_, out: (text) => void out_.push(text), err: (text) => void err_.push(text) };
}

/** Background reads of /readyz and /metrics, as a load balancer and Prometheus would make them. */
function scrapeEvery(ms: number, url: () => string | undefined): { answers: string[]; stop(): Promise<void> } {
  const answers: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const base = url();
      if (base !== undefined) {
        for (const route of ['/readyz', '/metrics']) {
          try {
            answers.push(`${route} ${await (await fetch(`${base}${route}`)).text()}`);
          } catch {
            // Shutting down: nothing more to read.
          }
        }
      }
      await new Promise((resolve) => setTimeout(resolve, ms));
    }
  })();
  return {
    answers,
    async stop() {
      running = false;
      await loop;
    },
  };
}

describe('canaries through the whole gateway', () => {
  it(
    'keeps every student field and secret out of logs, probes, answers and TimeBack, through every fate and failure',
    { timeout: 180_000 },
    async () => {
      const c = canaries();
      const heard: HeardRequest[] = [];
      emulator = await startTimebackEmulator({ clientId: CLIENT_ID, clientSecret: SECRETS.clientSecret, onRequest: (request) => heard.push(request) });
      temp = folderWithShippedRules();
      const env = gatewayEnv(temp.dir, emulator);

      // --- what Learn sends: every fixture's shape, and a probe for each fate and failure
      const fixtureEnvelopes = await plantedFixtures(c, emulator);
      const enrolled = (p: Probe) => enroll(emulator!, p.batchUid);
      const flaky = probe(c);
      const flakyId = enrolled(flaky);
      const refused = probe(c);
      const refusedId = enrolled(refused);
      const failing = probe(c);
      const failingId = enrolled(failing);
      const rosterDown = probe(c);
      enrolled(rosterDown);
      const rosterSetup = probe(c);
      enrolled(rosterSetup);
      const ambiguous = probe(c);
      enrolled(ambiguous);
      enrolled(ambiguous);
      const teacher = probe(c);
      enroll(emulator, teacher.batchUid, ['teacher']);
      const missing = probe(c);
      const longId = probe(c);
      (longId.event.actor as { extensions: Record<string, unknown> }).extensions['bb:user.externalId'] = `${c.next('buid')}${'x'.repeat(2_000)}`;
      const bigName = probe(c);
      enrolled(bigName);
      (bigName.event.actor as Record<string, unknown>).name = `${c.next('name')}${' y'.repeat(150_000)}`;
      const malformed = probe(c);
      delete malformed.event.eventTime;
      // Over 1 MiB: kept as sent, unparsed, and rejected.
      const oversize = probe(c, { object: { id: 'https://learn.school.test/applications/learn', type: 'SoftwareApplication', description: 'z'.repeat(1_100_000) } });
      const piiOut = probe(c, { type: `${PROBE}ProbePiiEvent` });
      enrolled(piiOut);
      const iriOut = probe(c, { type: `${PROBE}ProbeIriEvent`, object: { id: 'https://learn.school.test/x', type: 'SoftwareApplication', extensions: { link: `http://school.test/${c.next('text')}` } } });
      enrolled(iriOut);
      const idOut = probe(c, { type: `${PROBE}ProbeIdEvent` });
      enrolled(idOut);
      const nameOut = probe(c, { type: `${PROBE}ProbeNameEvent` });
      enrolled(nameOut);
      const allowed = probe(c, { type: `${PROBE}ProbeAllowedEvent` });
      const allowedId = enrolled(allowed);
      const allowedEmail = (allowed.event.actor as { extensions: Record<string, string> }).extensions['bb:user.email']!;
      const probes = [flaky, refused, failing, rosterDown, rosterSetup, ambiguous, teacher, missing, longId, bigName, malformed, piiOut, iriOut, idOut, nameOut, allowed];

      // --- TimeBack failing, every answer an echo of the request (credentials and all)
      const posting = (platformId: string) => (body: string) => body.includes(platformId);
      const lookingUp = (batchUid: string) => (_body: string, url: string) => decodeURIComponent(url).includes(batchUid);
      emulator.addFault({ route: 'token', status: 500, echo: true, times: 1 });
      emulator.addFault({ route: 'events', status: 422, echo: true, when: posting(refusedId) });
      emulator.addFault({ route: 'events', status: 503, echo: true, when: posting(failingId) });
      for (const status of [500, 429, 403, 401, 401]) {
        emulator.addFault({ route: 'events', status, echo: true, times: 1, retryAfter: status === 429 ? 1 : undefined, when: posting(flakyId) });
      }
      emulator.addFault({ route: 'roster', status: 503, echo: true, when: lookingUp(rosterDown.batchUid) });
      for (const status of [400, 404, 403, 429]) {
        emulator.addFault({ route: 'roster', status, echo: true, times: 1, retryAfter: status === 429 ? 1 : undefined, when: lookingUp(rosterSetup.batchUid) });
      }

      const log: CapturedLog = captureLog();
      gateway = await startGateway(parseConfig(env), { log: log.log });
      const url = gateway.url;
      const scrapes = scrapeEvery(100, () => gateway?.url);
      const answers: Array<{ what: string; status: number; text: string }> = [];
      const cli: string[] = [];
      const send = async (what: string, body: string, headers: Record<string, string> = {}) => {
        const response = await fetch(`${url}/caliper`, {
          method: 'POST',
          headers: { authorization: SECRETS.ingestKey, 'content-type': 'application/json', ...headers },
          body,
        });
        answers.push({ what, status: response.status, text: await response.text() });
        return response.status;
      };

      try {
        for (const [i, body] of fixtureEnvelopes.entries()) {
          // Learn sends the key raw; other senders as a bearer token.
          const authorization = i % 2 === 0 ? SECRETS.ingestKey : `Bearer ${SECRETS.ingestKey}`;
          expect(await send(`fixture ${i}`, JSON.stringify(body), { authorization })).toBe(200);
        }
        expect(await send('probes', JSON.stringify(envelope(probes.map((p) => p.event))))).toBe(200);
        expect(await send('oversize event', JSON.stringify(envelope([oversize.event])))).toBe(200);

        // --- `status` while events wait on the failing roster and TimeBack, until all have settled
        const db = new Database(env.DB_PATH!, { readonly: true });
        const pending = () => (db.prepare(`SELECT count(*) AS n FROM events WHERE fate = 'pending'`).get() as { n: number }).n;
        const statusWhileWaiting = async () => {
          for (const args of [[], ['--json']]) {
            const io = capturingIo();
            expect(await statusCommand(args, env, io)).toBe(0);
            cli.push(...io.out_, ...io.err_);
          }
          return pending() === 0;
        };
        await waitFor('every event settled', statusWhileWaiting, 90_000, 250);
        expect(cli.join('')).toMatch(/oldest waiting +#\d+/);
        const fates = db.prepare('SELECT fate, reason, count(*) AS n FROM events GROUP BY fate, reason').all() as Array<{ fate: string; reason: string | null }>;
        db.close();
        // Every fate and the failure paths above were taken (a check that nothing leaks on a path never run proves nothing).
        expect(fates.map((row) => `${row.fate}:${row.reason ?? ''}`)).toEqual(
          expect.arrayContaining([
            'delivered:',
            'skipped:no-rule',
            'skipped:rule-skips',
            'skipped:no-user-id',
            'skipped:user-not-in-timeback',
            'rejected:invalid-event',
            'rejected:invalid-output',
            'dead:http-422',
            'dead:max-age',
            'dead:roster-unavailable',
          ]),
        );

        // --- Learn's requests refused, each carrying canaries
        const refusedBody = (events: unknown[], overrides: Record<string, unknown> = {}) => JSON.stringify(envelope(events, overrides));
        const some = probe(c).event;
        expect(await send('wrong key', refusedBody([some]), { authorization: WRONG.ingestKey })).toBe(401);
        expect(await send('not JSON content', refusedBody([some]), { 'content-type': 'text/plain' })).toBe(415);
        const name = (some.actor as { name: string }).name;
        expect(await send('syntax error in a name', refusedBody([some]).replace(name, `${name}\n`))).toBe(400);
        expect(await send('no sendTime', refusedBody([some], { sendTime: undefined }))).toBe(400);
        expect(await send('Caliper 1.2', refusedBody([some], { dataVersion: 'http://purl.imsglobal.org/ctx/caliper/v1p2' }))).toBe(422);
        expect(await send('over MAX_BODY_BYTES', refusedBody([some, { ...some, padding: 'p'.repeat(5 * 1024 * 1024) }]))).toBe(413);
        const locker = new Database(gateway.store.file);
        locker.exec('BEGIN IMMEDIATE');
        try {
          expect(await send('database busy', refusedBody([some]))).toBe(503);
        } finally {
          locker.exec('ROLLBACK');
          locker.close();
        }

        // --- a bad edit of the overrides file, whose keys are students' ids
        const overridesFile = path.join(env.MAPPINGS_DIR!, 'user-overrides.yaml');
        const pinned = c.email('buid');
        writeFileSync(overridesFile, `overrides:\n  ${pinned}: ${randomUUID()}\n  ${pinned}: ${randomUUID()}\n`);
        await waitFor('the bad overrides file logged', () => log.text().includes('user overrides file is invalid'));

        // --- admin routes: the student is there behind ADMIN_TOKEN, and only there
        const admin = (route: string, init: RequestInit = {}, token = SECRETS.adminToken) =>
          fetch(`${url}${route}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
        const adminAnswers: string[] = [];
        for (const route of ['/admin/events?limit=500', '/admin/roster-cache?limit=1000', `/admin/roster-cache/${encodeURIComponent(missing.batchUid)}`]) {
          const wrong = await admin(route, {}, WRONG.adminToken);
          expect(wrong.status).toBe(401);
          answers.push({ what: `${route} with a wrong token`, status: wrong.status, text: await wrong.text() });
        }
        const list = (await (await admin('/admin/events?limit=500')).json()) as { events: Array<{ seq: number; sourceId: string; reason: string | null }> };
        for (const { seq } of list.events) adminAnswers.push(await (await admin(`/admin/events/${seq}`)).text());
        adminAnswers.push(await (await admin('/admin/roster-cache?limit=1000')).text());
        adminAnswers.push(await (await admin(`/admin/roster-cache/${encodeURIComponent(missing.batchUid)}`, { method: 'DELETE' })).text());
        adminAnswers.push(await (await admin(`/admin/roster-cache/${encodeURIComponent(missing.batchUid)}/again`, { method: 'DELETE' })).text());
        adminAnswers.push(await (await admin('/admin/replay', { method: 'POST', body: JSON.stringify({ ids: [missing.batchUid] }) })).text());
        expect(c.foundIn(adminAnswers.join('\n')).length).toBeGreaterThan(0);

        // The probes copying the student's batch_uid and name were refused, not sent without them.
        for (const leaking of [idOut, nameOut]) {
          expect(list.events.find((event) => event.sourceId === leaking.event.id)?.reason).toBe('invalid-output');
        }

        // TimeBack's echo of a refused event is kept for the admin, without the token it carried.
        const refusedSourceId = refused.event.id as string;
        const refusedSeq = list.events.find((event) => event.sourceId === refusedSourceId)!.seq;
        const refusedView = (await (await admin(`/admin/events/${refusedSeq}`)).json()) as { reason: string; lastResponse: string };
        expect(refusedView.reason).toBe('http-422');
        expect(refusedView.lastResponse).toContain('emulated 422');
        expect(refusedView.lastResponse).toContain('"authorization":"Bearer [redacted]"');
        expect(secretsIn(adminAnswers.join('\n'), emulator.validTokens)).toEqual([]);
      } finally {
        await scrapes.stop();
        await gateway.close();
        gateway = undefined;
      }

      // --- commands on the database the gateway left
      for (const args of [[], ['--json']]) {
        const io = capturingIo();
        expect(await statusCommand(args, env, io)).toBe(0);
        cli.push(...io.out_, ...io.err_);
      }
      const replayIo = capturingIo();
      expect(await replayCommand(['--status', 'dead'], env, replayIo)).toBe(0);
      expect(replayIo.out_.join('')).toMatch(/Re-queued \d+ events/);
      cli.push(...replayIo.out_, ...replayIo.err_);
      expect(c.foundIn(cli.join('\n'))).toEqual([]);

      // The roster cache's own command lists students by the id looked up (README, "See and edit the cache"), and nothing else of them.
      const rosterIo = capturingIo();
      expect(await rosterCacheCommand(['list', '--limit', '1000'], env, rosterIo)).toBe(0);
      const listed = c.foundIn(rosterIo.out_.join(''));
      expect(listed.length).toBeGreaterThan(0);
      expect(listed.map(canaryKind).filter((kind) => !STUDENT_IDS.has(kind))).toEqual([]);

      // `translate --explain` names each event's student by batch_uid, on stderr, as its usage says.
      const file = path.join(temp.dir, 'envelope.json');
      const users = path.join(temp.dir, 'users.json');
      writeFileSync(file, JSON.stringify(envelope([allowed.event, flaky.event])));
      writeFileSync(users, JSON.stringify({ [flaky.batchUid]: flakyId }));
      // The bad overrides edit above is still in place: translate refuses it (as a start of the
      // gateway would; --users stands in for the roster, not for the overrides), without naming the student.
      const refusedIo = capturingIo();
      expect(await translateCommand([file, '--users', users], env, refusedIo)).toBe(1);
      expect(refusedIo.err_.join('')).toMatch(/user-overrides\.yaml/);
      expect(c.foundIn([...refusedIo.out_, ...refusedIo.err_].join(''))).toEqual([]);
      rmSync(path.join(env.MAPPINGS_DIR!, 'user-overrides.yaml'));
      const translateIo = capturingIo();
      expect(await translateCommand([file, '--users', users, '--explain'], env, translateIo)).toBe(0);
      expect(TRANSLATE_USAGE).toMatch(/--explain[^]*batch_uid/);
      expect(new Set(c.foundIn(translateIo.err_.join('')).map(canaryKind))).toEqual(new Set(['buid']));
      expect(c.foundIn(translateIo.out_.join(''))).toEqual([]);

      // --- nothing in the log, the probes' answers or Learn's answers
      const tokens = [...emulator.validTokens];
      expect(tokens.length).toBeGreaterThan(0);
      expect(c.foundIn(log.text())).toEqual([]);
      expect(secretsIn(log.text(), tokens)).toEqual([]);
      expect(scrapes.answers.length).toBeGreaterThan(0);
      expect(c.foundIn(scrapes.answers.join('\n'))).toEqual([]);
      expect(secretsIn(scrapes.answers.join('\n'), tokens)).toEqual([]);
      for (const answer of answers) {
        expect(c.foundIn(answer.text), answer.what).toEqual([]);
        expect(secretsIn(answer.text, tokens), answer.what).toEqual([]);
      }

      // --- what TimeBack heard
      const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${SECRETS.clientSecret}`).toString('base64')}`;
      const byRoute = (route: string) => heard.filter((request) => request.route === route);
      expect(byRoute('other')).toEqual([]);
      // The secret goes where it must: the token request's Basic credentials.
      expect(byRoute('token').length).toBeGreaterThan(0);
      for (const request of byRoute('token')) {
        expect(request.headers.authorization).toBe(basic);
        expect(c.foundIn(`${request.url} ${request.body}`)).toEqual([]);
      }
      // A lookup carries the id it asks about (Learn's batch_uid; for another source's event, the
      // actor's id, as the fallback rules' `student` paths say) and no other canary.
      expect(byRoute('roster').length).toBeGreaterThan(0);
      for (const request of byRoute('roster')) {
        expect(request.headers.authorization).toMatch(/^Bearer tok-/);
        const found = c.foundIn(request.url);
        expect(found.length, request.url).toBe(1);
        expect(STUDENT_IDS.has(canaryKind(found[0]!)), request.url).toBe(true);
        expect(request.body).toBe('');
      }
      // An event carries a canary only where a rule allows it.
      const posts = byRoute('events');
      expect(posts.length).toBeGreaterThan(0);
      for (const request of posts) {
        expect(request.headers.authorization).toMatch(/^Bearer tok-/);
        const found = c.foundIn(request.body);
        expect(found, request.body.slice(0, 2_000)).toEqual(request.body.includes(allowedId) ? [allowedEmail] : []);
      }
      expect(posts.some((request) => request.body.includes(allowedEmail))).toBe(true);
      for (const request of [...byRoute('roster'), ...posts]) {
        expect(secretsIn(`${request.url} ${JSON.stringify(request.headers)} ${request.body}`, [])).toEqual([]);
      }
    },
  );

  it('keeps the client secret out of the log and /readyz when the token endpoint refuses it and says it back', { timeout: 60_000 }, async () => {
    const c = canaries();
    const heard: HeardRequest[] = [];
    emulator = await startTimebackEmulator({ clientId: CLIENT_ID, clientSecret: SECRETS.clientSecret, onRequest: (request) => heard.push(request) });
    temp = folderWithShippedRules();
    const env = gatewayEnv(temp.dir, emulator);
    const { clientSecret } = SECRETS;
    const basic = Buffer.from(`${CLIENT_ID}:${clientSecret}`).toString('base64');
    // First an outage whose page repeats the request, then a refusal that names the secret every way it was sent.
    emulator.addFault({ route: 'token', status: 503, echo: true, times: 1 });
    emulator.addFault({
      route: 'token',
      status: 401,
      body: {
        error: `invalid_client ${clientSecret}`,
        error_description: `Basic ${basic} is not valid: no client ${CLIENT_ID} with secret ${clientSecret} (${encodeURIComponent(clientSecret)})`,
      },
    });
    const student = probe(c);
    enroll(emulator, student.batchUid);

    const log = captureLog();
    gateway = await startGateway(parseConfig(env), { log: log.log });
    const scrapes = scrapeEvery(100, () => gateway?.url);
    try {
      const response = await fetch(`${gateway.url}/caliper`, {
        method: 'POST',
        headers: { authorization: SECRETS.ingestKey, 'content-type': 'application/json' },
        body: JSON.stringify(envelope([student.event])),
      });
      expect(response.status).toBe(200);
      await waitFor('the refusal on /readyz', () => scrapes.answers.some((answer) => answer.includes('refused the client credentials')), 20_000);
    } finally {
      await scrapes.stop();
      await gateway.close();
      gateway = undefined;
    }

    // The check can see the refusal: TimeBack's words are quoted, without the credentials.
    expect(log.text()).toContain('invalid_client');
    expect(scrapes.answers.join('\n')).toContain('[redacted]');
    expect(secretsIn(log.text(), [])).toEqual([]);
    expect(secretsIn(scrapes.answers.join('\n'), [])).toEqual([]);
    expect(c.foundIn(log.text())).toEqual([]);
    expect(c.foundIn(scrapes.answers.join('\n'))).toEqual([]);
    // The secret went to the token endpoint and nowhere else; nothing else could be asked without a token.
    // The outage and the refusal at least were heard: else the checks below look at nothing.
    expect(heard.length).toBeGreaterThanOrEqual(2);
    expect(heard.map((request) => request.route)).toEqual(heard.map(() => 'token'));
    for (const request of heard) expect(request.headers.authorization).toBe(`Basic ${basic}`);
  });

  it('rejects events whose rule copies a student in disguise: nothing of them reaches TimeBack or the log', { timeout: 60_000 }, async () => {
    const c = canaries();
    const heard: HeardRequest[] = [];
    emulator = await startTimebackEmulator({ clientId: CLIENT_ID, clientSecret: SECRETS.clientSecret, onRequest: (request) => heard.push(request) });
    temp = folderWithShippedRules();
    writeFileSync(path.join(temp.dir, 'mappings', 'zz-disguises.yaml'), DISGUISE_RULES);
    const events: Array<Record<string, unknown>> = [];
    const disguised = (name: string, extensions: (batchUid: string) => Record<string, unknown>) => {
      const { event, batchUid } = probe(c, { type: `${PROBE}${name}` });
      enroll(emulator!, batchUid);
      (event.object as Record<string, unknown>).extensions = extensions(batchUid);
      events.push(event);
    };
    disguised('HashedUrl', (id) => ({ page: `http://tool.school.test/learners/${id}/launch?lesson=2` }));
    disguised('WholeLaunchUrl', () => ({ page: `https://tool.school.test/launch?lesson=2&lis_person_contact_email_primary=${encodeURIComponent(c.email('launch'))}` }));
    disguised('EncodedId', (id) => ({ page: `https://tool.school.test/learners/${[...id].map((ch) => `%${ch.charCodeAt(0).toString(16)}`).join('')}/home` }));
    disguised('KeyedByStudent', (id) => ({ scores: { [id]: 92 } }));

    const env = gatewayEnv(temp.dir, emulator);
    const log = captureLog();
    gateway = await startGateway(parseConfig(env), { log: log.log });
    const response = await fetch(`${gateway.url}/caliper`, {
      method: 'POST',
      headers: { authorization: SECRETS.ingestKey, 'content-type': 'application/json' },
      body: JSON.stringify(envelope(events)),
    });
    expect(response.status).toBe(200);
    const db = new Database(env.DB_PATH!, { readonly: true });
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
});
