/**
 * The real server (startGateway) on 127.0.0.1 and a free port, on a SQLite file in its own
 * temp dir, for tests that talk to it over sockets. TimeBack points at a closed loopback port.
 */
import { join } from 'node:path';
import { parseConfig } from '../../src/config.ts';
import { createLogger, type Logger } from '../../src/log.ts';
import { startGateway, type Gateway } from '../../src/server.ts';
import { makeTempDir } from './identity-harness.ts';

export interface LoopbackGateway {
  gateway: Gateway;
  /** Stops the gateway and removes its dir. */
  close(): Promise<void>;
}

export async function startLoopbackGateway(options: {
  key: string;
  maxBodyBytes: number;
  dirPrefix: string;
  /** Default: silent. */
  log?: Logger;
  /** More settings, over the ones above. */
  env?: Record<string, string>;
  now?: () => number;
}): Promise<LoopbackGateway> {
  const { dir, remove } = makeTempDir(options.dirPrefix);
  const config = parseConfig({
    DB_PATH: join(dir, 'gateway.db'),
    HOST: '127.0.0.1',
    PORT: '0',
    INGEST_API_KEYS: options.key,
    MAX_BODY_BYTES: String(options.maxBodyBytes),
    TIMEBACK_BASE_URL: 'http://127.0.0.1:9',
    ...options.env,
  });
  const gateway = await startGateway(config, { log: options.log ?? createLogger('silent'), now: options.now });
  return {
    gateway,
    async close() {
      await gateway.close();
      remove();
    },
  };
}
