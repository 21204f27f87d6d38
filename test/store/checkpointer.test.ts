import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { startCheckpointer } from '../../src/store/checkpointer.ts';
import { openStore, type Store } from '../../src/store/database.ts';

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'caliper-gateway-checkpoint-'));
  store = openStore(join(dir, 'gateway.db'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('startCheckpointer', () => {
  it('checkpoints from a worker while commits skip it, and hands checkpoints back when stopped', { timeout: 20_000 }, async () => {
    const checkpointer = startCheckpointer(store, createLogger('silent'), 20)!;
    expect(store.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(0);

    const before = statSync(store.file).size;
    store.sqlite.exec('CREATE TABLE filler (x TEXT)');
    const insert = store.sqlite.prepare('INSERT INTO filler VALUES (?)');
    store.sqlite.transaction(() => {
      for (let i = 0; i < 1_000; i++) insert.run('x'.repeat(4_000));
    })();
    // The rows reach the database file only through a checkpoint, and this connection no longer runs any.
    await expect.poll(() => statSync(store.file).size, { timeout: 10_000 }).toBeGreaterThan(before + 4_000_000);

    await checkpointer.stop();
    expect(store.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
  });

  it('does nothing for an in-memory database', () => {
    store.close();
    store = openStore(':memory:');
    expect(startCheckpointer(store, createLogger('silent'))).toBeUndefined();
  });
});
