/**
 * An app on a real SQLite file in its own temp dir, with its log lines captured, for
 * `app.request()` tests. `close()` closes the store and removes the dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type AppDeps } from '../../src/app.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import { ingestKeysFrom } from '../../src/ingest/api-keys.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { openStore, type Store } from '../../src/store/database.ts';
import type { ReadinessReport } from '../../src/ops/ops-routes.ts';
import type { StoreWriter } from '../../src/store/writer.ts';

export const TEST_KEY = 'test-ingest-key-5b7f0c2e';

export interface TestGateway {
  app: ReturnType<typeof createApp>;
  store: Store;
  config: Config;
  metrics: Metrics;
  dir: string;
  /** Every log line written so far, parsed. */
  logLines(): Array<Record<string, unknown>>;
  /** The raw log output, for checking what must never appear in it. */
  logText(): string;
  close(): void;
}

export function createTestGateway(
  options: {
    env?: Record<string, string>;
    keys?: string[];
    now?: () => number;
    readiness?: () => Promise<ReadinessReport>;
    onEventsStored?: () => void;
    intakeMaxWaitMs?: number;
    /** The writer intake commits with, made on the gateway's store (default: the store's own). */
    writer?: (store: Store) => StoreWriter;
  } = {},
): TestGateway {
  const dir = mkdtempSync(join(tmpdir(), 'caliper-gateway-test-'));
  const config = parseConfig({ DB_PATH: join(dir, 'gateway.db'), ...options.env });
  const store = openStore(config.dbPath);
  const written: string[] = [];
  const log = createLogger('debug', { write: (line: string) => void written.push(line) });
  const metrics = createMetrics();
  const deps: AppDeps = {
    config,
    store,
    log,
    metrics,
    ingestKeys: ingestKeysFrom(options.keys ?? [TEST_KEY]),
    readiness: options.readiness ?? (async () => ({ ready: true, reasons: [] })),
    onEventsStored: options.onEventsStored,
    now: options.now,
    intakeMaxWaitMs: options.intakeMaxWaitMs,
    writer: options.writer?.(store),
  };
  const app = createApp(deps);
  return {
    app,
    store,
    config,
    metrics,
    dir,
    logLines: () => written.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>),
    logText: () => written.join(''),
    close() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A POST /caliper request with the test key and a JSON body. */
export function postCaliper(
  gateway: TestGateway,
  body: unknown,
  init: { headers?: Record<string, string>; raw?: RequestInit['body']; duplex?: 'half' } = {},
): Promise<Response> {
  return Promise.resolve(
    gateway.app.request('/caliper', {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json', ...init.headers },
      body: init.raw ?? JSON.stringify(body),
      ...(init.duplex ? { duplex: init.duplex } : {}),
    } as RequestInit),
  );
}
