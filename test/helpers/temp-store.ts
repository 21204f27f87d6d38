import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/database.ts';

/** A real SQLite file in its own temp dir; `cleanup()` closes it and removes the dir. */
export function tempStore(prefix = 'caliper-gateway-'): { store: Store; dir: string; file: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const file = join(dir, 'gateway.db');
  const store = openStore(file);
  return {
    store,
    dir,
    file,
    cleanup() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
