/**
 * `npm run demo`: the five-minute tour. Starts the TimeBack emulator with the fixtures'
 * students on its roster, starts a gateway against it (in this process, on a temporary
 * database), sends every fixture envelope through POST /caliper as Learn would, waits for
 * the queue to drain, and prints what TimeBack received and where every event ended up.
 *
 *   npm run demo                       every fixtures/**\/input.json
 *   npm run demo -- fixtures/forum-event   only the cases under a folder
 *   npm run demo -- --full             print each received event in full
 *   npm run demo -- --keep             keep the database to explore afterwards
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { startGateway } from '../server.ts';
import { countByFate, pendingByStage } from '../store/event-queries.ts';
import { REPLAYABLE_FATES } from '../store/replay.ts';
import { startTimebackEmulator, type EmulatedUser } from './timeback-emulator.ts';
import { errorMessage } from '../errors.ts';
import { readUsers } from '../mapping/fixtures.ts';
import { displayPath } from '../mapping/rule-loader.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The app id the fixtures translate with (fixtures/README.md). */
const DEMO_APP_ID = 'a5e0c6f2-1b7d-4c39-8e4a-6f2d9b1c3e70';
const DEMO_INGEST_KEY = 'demo-ingest-key-not-a-secret';
/** Give up waiting for the queue to drain after this long. */
const DRAIN_TIMEOUT_MS = 60_000;

export interface DemoOptions {
  /** Folders or input.json files to send (default: the project's fixtures folder). */
  paths?: string[];
  /** Print every received event in full instead of one line each. */
  full?: boolean;
  /** Keep the temporary database (and say where) instead of deleting it. */
  keep?: boolean;
  write?: (text: string) => void;
}

export interface DemoResult {
  sent: number;
  received: unknown[];
  byFate: Record<string, number>;
  byReason: Record<string, number>;
  drained: boolean;
}

export async function runDemo({
  paths = [path.join(ROOT, 'fixtures')],
  full = false,
  keep = false,
  write = (text) => void process.stdout.write(text),
}: DemoOptions = {}): Promise<DemoResult> {
  const cases = paths.flatMap(findInputs).sort();
  if (cases.length === 0) throw new Error(`No input.json found under ${paths.join(', ')}`);
  const users = await collectUsers(cases);

  const emulator = await startTimebackEmulator({ users: [...users.values()] });
  const dir = mkdtempSync(path.join(tmpdir(), 'caliper-gateway-demo-'));
  const config = parseConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DB_PATH: path.join(dir, 'gateway.db'),
    MAPPINGS_DIR: path.join(ROOT, 'mappings'),
    FIXTURES_DIR: path.join(ROOT, 'fixtures'),
    INGEST_API_KEYS: DEMO_INGEST_KEY,
    TIMEBACK_BASE_URL: emulator.url,
    TIMEBACK_CLIENT_ID: emulator.clientId,
    TIMEBACK_CLIENT_SECRET: emulator.clientSecret,
    TIMEBACK_APP_ID: DEMO_APP_ID,
    // The fixtures' users.json is keyed by Learn externalId: the emulator's roster carries it as `identifier`.
    ROSTER_MATCH: 'identifier',
    DELIVERY_BACKOFF_CAP: '2',
    LOG_LEVEL: 'warn',
  });
  const gateway = await startGateway(config, { log: createLogger('warn') });

  try {
    write(`TimeBack emulator at ${emulator.url} with ${users.size} students on its roster\n`);
    write(`Gateway at ${gateway.url}, database ${config.dbPath}\n\n`);
    write(`Sending ${cases.length} envelope${cases.length === 1 ? '' : 's'} to POST /caliper:\n`);
    let sent = 0;
    for (const file of cases) {
      const body = readFileSync(file);
      const response = await fetch(`${gateway.url}/caliper`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEMO_INGEST_KEY}`, 'content-type': 'application/json' },
        body,
      });
      const answer = response.status === 200 ? '' : ` ${(await response.text()).slice(0, 200)}`;
      write(`  ${response.status}  ${path.relative(ROOT, file)}${answer}\n`);
      if (response.ok) sent += 1;
    }

    write('\nWaiting for translation and delivery');
    const drained = await waitForDrain(gateway.store, DRAIN_TIMEOUT_MS, () => write('.'));
    write(drained ? ' done.\n\n' : ` gave up after ${DRAIN_TIMEOUT_MS / 1000} s (see "pending" below).\n\n`);

    write(`TimeBack received ${emulator.received.length} event${emulator.received.length === 1 ? '' : 's'}:\n`);
    for (const event of emulator.received) write(full ? `${JSON.stringify(event, null, 2)}\n` : `  ${describeEvent(event)}\n`);
    if (!full && emulator.received.length > 0) {
      write(`\nThe first one in full (npm run demo -- --full prints all):\n${JSON.stringify(emulator.received[0], null, 2)}\n`);
    }

    const byFate = countByFate(gateway.store);
    const reasons = reasonRows(gateway.store);
    const byReason = Object.fromEntries(reasons.map((row) => [`${row.fate}: ${row.reason}`, row.n]));
    write('\nWhere every event ended up:\n');
    for (const [fate, count] of Object.entries(byFate)) if (count > 0) write(`  ${fate.padEnd(10)} ${count}\n`);
    if (Object.keys(byReason).length > 0) {
      write('\nReasons (skipped, rejected, dead):\n');
      for (const [reason, count] of Object.entries(byReason)) write(`  ${reason.padEnd(40)} ${count}\n`);
    }
    write(keep ? exploreHint(config.dbPath, reasons) : '\nRun with --keep to explore the database afterwards (status, replay).\n');
    return { sent, received: [...emulator.received], byFate, byReason, drained };
  } finally {
    await gateway.close();
    await emulator.close();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

export function findInputs(target: string): string[] {
  const resolved = path.resolve(target);
  if (!existsSync(resolved)) return [];
  if (statSync(resolved).isFile()) return [resolved];
  return readdirSync(resolved, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name === 'input.json')
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/**
 * Every case's users.json, merged: Learn externalId → a TimeBack user with that identifier.
 * Read by readUsers, as the fixture runner reads them: keys trimmed as the gateway trims the id
 * it looks up (a padded key put on the roster as written would never be found there), and a
 * file the fixtures would refuse is refused here too, with its file and the key's place.
 */
export async function collectUsers(inputs: string[]): Promise<Map<string, EmulatedUser>> {
  const users = new Map<string, EmulatedUser>();
  for (const input of inputs) {
    const file = path.join(path.dirname(input), 'users.json');
    const table = await readUsers(file);
    if (!table.ok) throw new Error(table.problems.map((problem) => `${displayPath(file)}: ${problem}`).join('\n'));
    for (const [externalId, platformId] of Object.entries(table.users)) {
      if (users.has(externalId)) continue;
      users.set(externalId, { sourcedId: platformId.toLowerCase(), identifier: externalId, status: 'active' });
    }
  }
  return users;
}

async function waitForDrain(store: Parameters<typeof pendingByStage>[0], timeoutMs: number, tick: () => void): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let ticks = 0;
  for (;;) {
    const pending = Object.values(pendingByStage(store)).reduce((sum, n) => sum + n, 0);
    if (pending === 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (++ticks % 10 === 0) tick();
  }
}

interface ReasonRow {
  fate: string;
  reason: string;
  n: number;
}

/** Events by fate and reason, the most common first. */
function reasonRows(store: Parameters<typeof pendingByStage>[0]): ReasonRow[] {
  return store.sqlite
    .prepare(`SELECT fate, reason, count(*) AS n FROM events WHERE reason IS NOT NULL GROUP BY fate, reason ORDER BY n DESC, fate, reason`)
    .all() as ReasonRow[];
}

/**
 * What to run on the kept database. A replay is suggested only for a reason its events have
 * (the most common one): one for a reason no event has would only answer "nothing re-queued".
 */
function exploreHint(dbPath: string, reasons: readonly ReasonRow[]): string {
  const replayable = reasons.find((row) => (REPLAYABLE_FATES as readonly string[]).includes(row.fate));
  const replay = replayable === undefined ? '' : `  DB_PATH=${dbPath} npx caliper-gateway replay --status ${replayable.fate} --reason ${replayable.reason}\n`;
  return `\nThe database is kept. Explore it with\n  DB_PATH=${dbPath} npx caliper-gateway status\n${replay}`;
}

export function describeEvent(event: unknown): string {
  const e = event as Record<string, unknown>;
  const object = e.object as { id?: string; type?: string } | string | undefined;
  const objectText = typeof object === 'string' ? object : `${object?.type ?? '?'} ${object?.id ?? ''}`;
  return `${String(e.type)} ${String(e.action)}  actor ${String(e.actor)}  ${objectText}`;
}

/**
 * The demo's arguments. A mistyped flag (`--ful`) must not run the whole demo without it:
 * it throws, naming the flag.
 */
export function parseDemoArgs(argv: string[]): Pick<DemoOptions, 'paths' | 'full' | 'keep'> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { full: { type: 'boolean' }, keep: { type: 'boolean' } } });
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    const option = /'([^']+)'/.exec(message)?.[1];
    const problem = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option ? `unknown option ${option}` : (message.split(/(?<=\.) /)[0] ?? message);
    throw new Error(`${problem}; usage: npm run demo -- [FOLDER or input.json …] [--full] [--keep]`);
  }
  const { values, positionals } = parsed;
  return { paths: positionals.length > 0 ? positionals : undefined, full: values.full ?? false, keep: values.keep ?? false };
}

async function main(argv: string[]): Promise<number> {
  let options;
  try {
    options = parseDemoArgs(argv);
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    const result = await runDemo(options);
    return result.drained ? 0 : 1;
  } catch (err) {
    process.stderr.write(`demo: ${errorMessage(err)}\n`);
    return 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
