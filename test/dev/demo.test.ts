import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectUsers, parseDemoArgs, runDemo } from '../../src/dev/demo.ts';
import { envelope, sessionEvent } from '../helpers/caliper-events.ts';
import { makeTempDir, type TempDir } from '../helpers/identity-harness.ts';

let temp: TempDir;
beforeEach(() => {
  temp = makeTempDir('demo');
});
afterEach(() => temp.remove());

function fixtureCase(name: string, events: unknown[], users: Record<string, string>) {
  const dir = join(temp.dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'input.json'), JSON.stringify(envelope(events)));
  writeFileSync(join(dir, 'users.json'), JSON.stringify(users));
}

describe('npm run demo', () => {
  it('sends the fixture envelopes through the gateway and reports what TimeBack received', { timeout: 30_000 }, async () => {
    const platformId = '2d4f6a8c-1e3b-4c5d-8e9f-0a1b2c3d4e5f';
    fixtureCase('session/logins', [sessionEvent({}, 'kwong11'), sessionEvent({}, 'kwong11')], { kwong11: platformId });
    fixtureCase('session/stranger', [sessionEvent({}, 'nobody99')], {});
    let output = '';

    const result = await runDemo({ paths: [temp.dir], write: (text) => (output += text) });

    expect(result).toMatchObject({ sent: 2, drained: true });
    expect(result.received).toHaveLength(2);
    for (const event of result.received) expect(event).toMatchObject({ actor: `urn:uuid:${platformId}`, type: 'SessionEvent' });
    expect(result.byFate).toMatchObject({ delivered: 2, skipped: 1 });
    expect(result.byReason).toEqual({ 'skipped: user-not-in-timeback': 1 });
    expect(output).toContain('Sending 2 envelopes to POST /caliper');
    expect(output).toContain('TimeBack received 2 events');
    expect(output).toMatch(/delivered\s+2/);
  });

  // The hint used to name user-not-in-timeback whatever the database held: a replay that then
  // re-queued nothing, on a demo where no student was missing.
  it('with --keep, suggests a replay only for a reason the kept database has', { timeout: 60_000 }, async () => {
    const platformId = '6b8d0f2a-4c6e-4a1b-9d3f-5e7a9c1b3d50';
    fixtureCase('session/login', [sessionEvent({}, 'mokoro5')], { mokoro5: platformId });
    fixtureCase('session/malformed', [sessionEvent({ eventTime: 'yesterday' }, 'mokoro5')], { mokoro5: platformId });
    const kept = async () => {
      let output = '';
      const result = await runDemo({ paths: [temp.dir], keep: true, write: (text) => (output += text) });
      const dbPath = /, database (.+)\n/.exec(output)?.[1];
      expect(dbPath).toBeDefined();
      rmSync(dirname(dbPath!), { recursive: true, force: true });
      return { result, hint: output.slice(output.indexOf('The database is kept.')), dbPath: dbPath! };
    };

    const malformed = await kept();
    expect(malformed.result.byReason).toEqual({ 'rejected: invalid-event': 1 });
    expect(malformed.hint).toBe(
      `The database is kept. Explore it with\n  DB_PATH=${malformed.dbPath} npx caliper-gateway status\n` +
        `  DB_PATH=${malformed.dbPath} npx caliper-gateway replay --status rejected --reason invalid-event\n`,
    );

    rmSync(join(temp.dir, 'session/malformed'), { recursive: true });
    const clean = await kept();
    expect(clean.result.byReason).toEqual({});
    expect(clean.hint).toBe(`The database is kept. Explore it with\n  DB_PATH=${clean.dbPath} npx caliper-gateway status\n`);
  });

  // The demo's roster is the fixtures' users.json files, read as the fixture runner reads them:
  // a padded key put on the roster as written would never match the trimmed id the gateway asks
  // for, and a file check-mappings refuses must not give the demo another roster.
  it('reads the users.json files as the fixtures do: keys trimmed, a bad file refused by its place', async () => {
    const platformId = '3a5c7e9b-1d2f-4a6b-8c0d-2e4f6a8b0c1d';
    fixtureCase('session/padded', [sessionEvent({}, 'tnakamura3')], {});
    writeFileSync(join(temp.dir, 'session/padded/users.json'), `\uFEFF{ " tnakamura3\\n": "${platformId.toUpperCase()}" }`);
    expect([...(await collectUsers([join(temp.dir, 'session/padded/input.json')])).values()]).toEqual([
      { sourcedId: platformId, identifier: 'tnakamura3', status: 'active' },
    ]);

    fixtureCase('session/twice', [sessionEvent({}, 'tnakamura3')], {});
    writeFileSync(join(temp.dir, 'session/twice/users.json'), `{\n  "tnakamura3": "${platformId}",\n  "tnakamura3 ": 7\n}\n`);
    const refused = collectUsers([join(temp.dir, 'session/padded/input.json'), join(temp.dir, 'session/twice/input.json')]);
    await expect(refused).rejects.toThrow(
      /session\/twice\/users\.json: key 2 \(line 3\): the same Learn externalId as key 1 \(line 2\) \(spaces around an id do not count\): a student is listed once; keep one of the two\n.*session\/twice\/users\.json: key 2 \(line 3\): the platform id must be a UUID; got a number$/,
    );
    await expect(refused).rejects.not.toThrow(/tnakamura3/);
    await expect(runDemo({ paths: [temp.dir], write: () => undefined })).rejects.toThrow(/twice\/users\.json: key 2 \(line 3\)/);
  });

  it('says so when there is nothing to send', async () => {
    await expect(runDemo({ paths: [join(temp.dir, 'empty')], write: () => undefined })).rejects.toThrow('No input.json found');
  });

  it('reads folders, --full and --keep, and refuses a mistyped flag rather than ignore it', () => {
    expect(parseDemoArgs(['fixtures/forum-event', '--keep'])).toEqual({ paths: ['fixtures/forum-event'], full: false, keep: true });
    expect(parseDemoArgs([])).toEqual({ paths: undefined, full: false, keep: false });
    expect(() => parseDemoArgs(['--ful'])).toThrow('unknown option --ful');
  });
});
