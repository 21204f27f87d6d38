/**
 * `caliper-gateway status [--json]`: what the database holds, for an admin at a terminal
 * or a script. Reads only, so it is safe beside a running gateway.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { jsonText } from '../json-text.ts';
import { formatStatusReport, statusReport } from '../ops/status-report.ts';
import { openStoreReadOnly } from '../store/database.ts';
import { cliCommand, commandConfig } from './command.ts';

const USAGE = `Usage: caliper-gateway status [--json]

Says whether a gateway is serving the database now, then counts events by fate and reason,
the queue by stage (and how much of it is held until TimeBack is configured), the oldest
waiting event and why it waits, the roster cache size, the envelopes received, and the
mapping rules as the gateway last loaded them (a refused change, and why; with none serving,
as the last one left them), from the database at DB_PATH.
  --json   print the report as JSON: {"gateway": {"serving", "holder"}, "total", "byFate", "byReason", "queueDepth", ...}
`;

export const statusCommand = cliCommand('status', USAGE, async (args, env, io) => {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
  // Reads the database only: no TimeBack secret needed, so an unreadable secret file is no matter.
  const { dbPath } = commandConfig('status', env, io, { readSecretFile: false });
  if (dbPath === ':memory:' || !existsSync(dbPath)) {
    io.err(
      `caliper-gateway status: no database at ${dbPath}; the gateway creates it when it first starts (set DB_PATH if it lives elsewhere)\n`,
    );
    return 1;
  }

  const store = openStoreReadOnly(dbPath);
  try {
    const report = statusReport(store);
    io.out(values.json ? `${jsonText(report, 2)}\n` : formatStatusReport(report));
    return 0;
  } catch (err) {
    io.err(`caliper-gateway status: cannot read ${dbPath}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    store.close();
  }
});
