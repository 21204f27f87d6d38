/**
 * `caliper-gateway status [--json]`: what the database holds, for an admin at a terminal
 * or a script. Reads only, so it is safe beside a running gateway.
 */
import { existsSync } from 'node:fs';
import type { Env } from '../cli.ts';
import { ConfigError, parseConfig } from '../config.ts';
import { formatStatusReport, statusReport } from '../ops/status-report.ts';
import { openStoreReadOnly } from '../store/database.ts';

const USAGE = `Usage: caliper-gateway status [--json]

Counts events by fate and reason, the queue by stage, the oldest waiting event, the roster
cache size and the envelopes received, from the database at DB_PATH.
  --json   print the report as JSON: {"total", "byFate", "byReason", "queueDepth", ...}
`;

export async function statusCommand(args: string[], env: Env): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const unknown = args.filter((arg) => arg !== '--json');
  if (unknown.length > 0) {
    process.stderr.write(`caliper-gateway status: unknown option ${unknown[0]}\n\n${USAGE}`);
    return 2;
  }

  let dbPath: string;
  try {
    dbPath = parseConfig(env).dbPath;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`caliper-gateway: ${err.message}\n`);
    return 2;
  }
  if (dbPath === ':memory:' || !existsSync(dbPath)) {
    process.stderr.write(
      `caliper-gateway status: no database at ${dbPath}; the gateway creates it when it first starts (set DB_PATH if it lives elsewhere)\n`,
    );
    return 1;
  }

  const store = openStoreReadOnly(dbPath);
  try {
    const report = statusReport(store);
    process.stdout.write(args.includes('--json') ? `${JSON.stringify(report, null, 2)}\n` : formatStatusReport(report));
    return 0;
  } catch (err) {
    process.stderr.write(`caliper-gateway status: cannot read ${dbPath}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    store.close();
  }
}
