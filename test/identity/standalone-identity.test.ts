import { randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTimebackEmulator, type TimebackEmulator } from '../../src/dev/timeback-emulator.ts';
import { createRosterCache } from '../../src/identity/roster-cache.ts';
import { openStandaloneIdentity } from '../../src/identity/standalone-identity.ts';
import { UserOverridesError } from '../../src/identity/user-overrides.ts';
import { openStore } from '../../src/store/database.ts';
import { captureLog, makeTempDir, testConfig, type TempDir } from '../helpers/identity-harness.ts';
import { OLD_SCHEMAS } from '../helpers/old-databases.ts';

const ADA = { sourcedId: randomUUID(), identifier: 'ada.l' };

let emulator: TimebackEmulator;
let temp: TempDir;

beforeAll(async () => {
  emulator = await startTimebackEmulator({ users: [ADA] });
});
afterAll(() => emulator.close());
beforeEach(() => {
  temp = makeTempDir('standalone');
});
afterEach(() => temp.remove());

function config() {
  return testConfig({ dir: temp.dir, timebackUrl: emulator.url, clientId: emulator.clientId, clientSecret: emulator.clientSecret });
}

describe('identity for one-shot commands', () => {
  it('Should ask the roster without leaving a database behind', async () => {
    const settings = config();
    const identity = openStandaloneIdentity({ config: settings, log: captureLog().log });
    try {
      expect(await identity.resolver.resolve('ada.l')).toEqual({ status: 'found', platformId: ADA.sourcedId });
    } finally {
      await identity.close();
    }
    expect(existsSync(settings.dbPath)).toBe(false);
  });

  it("Should answer from the service's cache when DB_PATH exists", async () => {
    const settings = config();
    const cached = randomUUID();
    const store = openStore(settings.dbPath);
    createRosterCache(store).put({
      externalId: 'cached.kid',
      platformId: cached,
      outcome: 'found',
      strategy: 'identifier',
      detail: null,
      learnedAt: Date.now(),
    });
    store.close();

    const before = emulator.requests.length;
    const identity = openStandaloneIdentity({ config: settings, log: captureLog().log });
    try {
      expect(await identity.resolver.resolve('cached.kid')).toEqual({ status: 'found', platformId: cached });
    } finally {
      await identity.close();
    }
    expect(emulator.requests.length).toBe(before);
  });

  it("Should leave a database in an older release's schema alone and keep its cache in memory", async () => {
    const settings = config();
    OLD_SCHEMAS.at(-1)!.create(settings.dbPath);
    const schema = () => {
      const sqlite = new Database(settings.dbPath, { readonly: true });
      try {
        return sqlite.prepare('SELECT name FROM sqlite_master ORDER BY name').pluck().all();
      } finally {
        sqlite.close();
      }
    };
    const before = schema();
    const captured = captureLog();

    const identity = openStandaloneIdentity({ config: settings, log: captured.log });
    try {
      expect(await identity.resolver.resolve('ada.l')).toEqual({ status: 'found', platformId: ADA.sourcedId });
    } finally {
      await identity.close();
    }
    expect(schema()).toEqual(before);
    expect(captured.lines().map((line) => line.msg)).toContain(
      "the gateway's roster cache is not used: its database is in another release's schema",
    );
  });

  it('Should refuse a bad overrides file', () => {
    writeFileSync(join(temp.dir, 'user-overrides.yaml'), 'overrides:\n  ada.l: nope\n');
    expect(() => openStandaloneIdentity({ config: config(), log: captureLog().log })).toThrow(UserOverridesError);
  });
});
