import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestKeysFrom, resolveIngestKeys } from '../../src/ingest/api-keys.ts';
import { openStore } from '../../src/store/database.ts';

describe('ingestKeysFrom', () => {
  const keys = ingestKeysFrom(['alpha-key-0001', 'beta-key-0002']);

  it('accepts each key raw or as a bearer token', () => {
    for (const header of ['alpha-key-0001', 'Bearer alpha-key-0001', 'BEARER  beta-key-0002 ', ' beta-key-0002']) {
      expect(keys.verify(header), header).toBe(true);
    }
  });

  it('refuses anything else', () => {
    for (const header of [undefined, null, '', 'Bearer', 'Bearer ', 'alpha-key-000', 'alpha-key-00011', 'Basic alpha-key-0001', 'Bearer alpha-key-0001 beta-key-0002']) {
      expect(keys.verify(header), String(header)).toBe(false);
    }
  });
});

describe('resolveIngestKeys without INGEST_API_KEYS', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'caliper-gateway-keys-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('generates a key on first start, announces it once, stores only its digest, and accepts it after a restart', () => {
    const file = join(dir, 'gateway.db');
    const announced: string[] = [];

    const first = openStore(file);
    const keys = resolveIngestKeys(undefined, first, (key) => announced.push(key));
    expect(keys.source).toBe('generated');
    expect(announced).toHaveLength(1);
    const key = announced[0]!;
    expect(key).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys.verify(key)).toBe(true);
    const stored = first.sqlite.prepare('SELECT key, value FROM meta').all() as Array<{ value: string }>;
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(key);
    first.close();

    const second = openStore(file);
    const again = resolveIngestKeys(undefined, second, (generated) => announced.push(generated));
    expect(again.source).toBe('stored');
    expect(announced).toHaveLength(1);
    expect(again.verify(key)).toBe(true);
    expect(again.verify(`Bearer ${key}`)).toBe(true);
    expect(again.verify('a-different-key')).toBe(false);
    second.close();
  });

  it('does not accept the generated key while INGEST_API_KEYS is set, and does again once it is unset (README, rotating a key)', () => {
    const store = openStore(join(dir, 'gateway.db'));
    const announced: string[] = [];
    resolveIngestKeys(undefined, store, (key) => announced.push(key));
    const generated = announced[0]!;
    const configured = resolveIngestKeys([generated, 'new-key-0001'], store, () => expect.unreachable());
    expect([configured.verify(generated), configured.verify('new-key-0001')]).toEqual([true, true]);
    const rotated = resolveIngestKeys(['new-key-0001'], store, () => expect.unreachable());
    expect([rotated.verify(generated), rotated.verify('new-key-0001')]).toEqual([false, true]);
    const unset = resolveIngestKeys(undefined, store, () => expect.unreachable());
    expect([unset.source, unset.verify(generated), unset.verify('new-key-0001')]).toEqual(['stored', true, false]);

    store.sqlite.prepare("DELETE FROM meta WHERE key = 'ingest_api_key_sha256'").run();
    const fresh = resolveIngestKeys(undefined, store, (key) => announced.push(key));
    expect(fresh.source).toBe('generated');
    expect(fresh.verify(generated)).toBe(false);
    expect(fresh.verify(announced[1]!)).toBe(true);
    store.close();
  });

  it('refuses a damaged stored digest at start, naming the row, rather than answering every envelope 500', () => {
    const store = openStore(join(dir, 'gateway.db'));
    resolveIngestKeys(undefined, store, () => {});
    store.sqlite.prepare("UPDATE meta SET value = substr(value, 1, 20) WHERE key = 'ingest_api_key_sha256'").run();
    expect(() => resolveIngestKeys(undefined, store, () => expect.unreachable())).toThrow(/ingest_api_key_sha256.*INGEST_API_KEYS/);
    store.close();
  });

  it('uses the configured keys when given, without generating one', () => {
    const store = openStore(join(dir, 'gateway.db'));
    const keys = resolveIngestKeys(['configured-key-1'], store, () => expect.unreachable());
    expect(keys.source).toBe('environment');
    expect(store.sqlite.prepare('SELECT count(*) AS n FROM meta').get()).toEqual({ n: 0 });
    store.close();
  });
});
