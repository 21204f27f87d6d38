/**
 * `npm run emulator`: the TimeBack emulator on its own, for a gateway you started yourself
 * (`npm start`) before TimeBack is set up. `npm run demo` runs its own gateway and stops both;
 * this keeps a stand-in TimeBack running, prints the settings to start the gateway with, and a
 * line for every event it accepts, until Ctrl-C. Loopback only.
 *
 *   npm run emulator                                   the fixtures' students, a free port
 *   npm run emulator -- --port 8090 --users users.json { "<bb:user.externalId>": "<platform id>" }
 *   npm run emulator -- --refuse-events 422            every event POST answered 422, to try dead
 *                                                      events and replay (or 503, an outage)
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { errorMessage } from '../errors.ts';
import { FIXTURE_APP_ID, readUsers } from '../mapping/fixtures.ts';
import { onStopSignals, REPEATED_SIGNAL_MS } from '../stop-signals.ts';
import { collectUsers, describeEvent, findInputs } from './demo.ts';
import { startTimebackEmulator, type EmulatedUser } from './timeback-emulator.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const USAGE = 'usage: npm run emulator -- [--port N] [--users USERS.json] [--refuse-events STATUS]';
/** How often the accepted events are looked at for new ones to print. */
const LIST_EVERY_MS = 250;

export interface RunningEmulator {
  url: string;
  close(): Promise<void>;
}

/** Starts the emulator as `argv` says and prints how to use it; throws on bad arguments, naming them. */
export async function startStandaloneEmulator(argv: string[], write: (text: string) => void): Promise<RunningEmulator> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { port: { type: 'string' }, users: { type: 'string' }, 'refuse-events': { type: 'string' } } }));
  } catch (err) {
    throw new Error(`${(err as Error).message.split(/(?<=\.) /)[0]}; ${USAGE}`);
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port must be a port number (0 for a free one); ${USAGE}`);
  const refuseWith = values['refuse-events'] === undefined ? undefined : refusalStatus(values['refuse-events']);
  const users = values.users === undefined ? [...(await collectUsers(findInputs(path.join(ROOT, 'fixtures')))).values()] : await usersFile(values.users);

  const emulator = await startTimebackEmulator({ port, users });
  // Every event POST, for an admin to see what the gateway does with TimeBack's refusals and
  // outages (dead events, replay, the pause); tokens and the roster answer as usual.
  if (refuseWith !== undefined) {
    emulator.addFault({ route: 'events', status: refuseWith, body: { status: 'error', message: `refused by the emulator (--refuse-events ${refuseWith})` } });
  }
  write(
    `TimeBack emulator at ${emulator.url} with ${users.length} student${users.length === 1 ? '' : 's'} on its roster ` +
      `(${values.users ?? "the fixtures' users.json files"}, by bb:user.externalId as identifier). Ctrl-C stops it.\n\n` +
      'Start the gateway against it with:\n' +
      `  TIMEBACK_BASE_URL=${emulator.url} TIMEBACK_CLIENT_ID=${emulator.clientId} TIMEBACK_CLIENT_SECRET=${emulator.clientSecret} ` +
      `TIMEBACK_APP_ID=${FIXTURE_APP_ID} npm start\n\n` +
      (refuseWith === undefined
        ? ''
        : `Every event POST is answered HTTP ${refuseWith} (--refuse-events); restart the emulator without it to accept events again.\n\n`) +
      'Events TimeBack accepts:\n',
  );
  let listed = 0;
  const lister = setInterval(() => {
    for (; listed < emulator.received.length; listed += 1) write(`  ${describeEvent(emulator.received[listed])}\n`);
  }, LIST_EVERY_MS);
  return {
    url: emulator.url,
    async close() {
      clearInterval(lister);
      await emulator.close();
    },
  };
}

/** A status TimeBack could refuse an event with: 400-599 (1xx-3xx are no refusal, and 2xx would accept it). */
function refusalStatus(text: string): number {
  const status = /^\d{3}$/.test(text) ? Number(text) : Number.NaN;
  if (!(status >= 400 && status <= 599)) throw new Error(`--refuse-events must be an HTTP status from 400 to 599 (422, say, or 503); ${USAGE}`);
  return status;
}

async function usersFile(file: string): Promise<EmulatedUser[]> {
  // A mistyped path is not an empty roster: every student would be "not in TimeBack".
  if (!existsSync(file)) throw new Error(`cannot read ${file}: no such file`);
  const users = await readUsers(file);
  if (!users.ok) throw new Error(users.problems.map((problem) => `${file}: ${problem}`).join('\n'));
  return Object.entries(users.users).map(([externalId, platformId]) => ({ sourcedId: platformId.toLowerCase(), identifier: externalId, status: 'active' }));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const running = await startStandaloneEmulator(process.argv.slice(2), (text) => void process.stdout.write(text));
    // As `serve` takes them: Ctrl-C reaches the emulator two or three times within milliseconds
    // (the terminal's, then npm's and tsx's copies), and a copy is the same stop. Listened for
    // once, a copy met Node's default and tsx's handler: exit 130, now and then (1 Ctrl-C in 8).
    // The stop is over in milliseconds, before the copies have all come, and a copy that meets
    // the process as it exits ends it by that signal: so it stays for REPEATED_SIGNAL_MS after
    // the first signal, the time within which a signal is taken for a copy.
    onStopSignals((signal) => {
      // Said at once, so whoever stops it (a terminal, a test sending npm's copy) knows the
      // signal was taken while the stop is still under way.
      process.stdout.write(`Stopping the TimeBack emulator (${signal}).\n`);
      setTimeout(() => {}, REPEATED_SIGNAL_MS);
      running.close().catch((err: unknown) => {
        process.stderr.write(`emulator: stopping failed: ${errorMessage(err)}\n`);
        process.exitCode = 1;
      });
    });
  } catch (err) {
    process.stderr.write(`emulator: ${errorMessage(err)}\n`);
    process.exitCode = 2;
  }
}
