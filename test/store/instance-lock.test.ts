import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseInUseError, lockDatabase } from '../../src/store/instance-lock.ts';
import { openStore, openStoreReadOnly } from '../../src/store/database.ts';
import { rejectionOf } from '../helpers/thrown.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'instance-lock-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('lockDatabase', () => {
  it('lets one holder serve a database at a time, and the next in once it lets go', async () => {
    const file = join(dir, 'data', 'gateway.db');
    const first = await lockDatabase(file);
    const refused = await rejectionOf(DatabaseInUseError, lockDatabase(file));
    expect(refused.message).toBe(
      `another caliper-gateway is serving the database at ${file} (DB_PATH); stop it first, or give this one a DB_PATH of its own`,
    );

    first.release();
    const second = await lockDatabase(file);
    second.release();
  });

  it('waits for a holder that is stopping', async () => {
    const file = join(dir, 'gateway.db');
    const first = await lockDatabase(file);
    let waited = 0;
    const next = lockDatabase(file, { waitMs: 5_000, onWait: () => waited++ });
    setTimeout(() => first.release(), 200);
    (await next).release();
    expect(waited).toBe(1);
  });

  it('leaves the database itself alone: the commands that run beside the gateway still read and write it', async () => {
    const file = join(dir, 'gateway.db');
    const lock = await lockDatabase(file);
    try {
      const store = openStore(file);
      store.sqlite.exec('CREATE TABLE beside (x TEXT)');
      store.sqlite.prepare('INSERT INTO beside VALUES (?)').run('written');
      store.close();
      const reader = openStoreReadOnly(file);
      expect(reader.sqlite.prepare('SELECT x FROM beside').all()).toEqual([{ x: 'written' }]);
      reader.close();
    } finally {
      lock.release();
    }
  });
});
