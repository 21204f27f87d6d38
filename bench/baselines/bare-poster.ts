/**
 * The delivery baseline: a bare keep-alive client POSTing pre-built Caliper 1.2 events to
 * TimeBack's events endpoint at a fixed concurrency, with nothing else to do. It runs in its
 * own process, as the gateway does, so it does not share a thread with the emulator.
 *
 * Env: TIMEBACK_BASE_URL, TIMEBACK_CLIENT_ID, TIMEBACK_CLIENT_SECRET, EVENTS_FILE (one JSON
 * event per line), CONCURRENCY. Prints `posted <events> <milliseconds> <failures>`.
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { fetchEmulatorToken } from './emulator-token.ts';

const base = process.env.TIMEBACK_BASE_URL as string;
const concurrency = Number(process.env.CONCURRENCY ?? 16);
const bodies = readFileSync(process.env.EVENTS_FILE as string, 'utf8').split('\n').filter((line) => line !== '');
const token = await fetchEmulatorToken();

const pool = new Pool(base, { connections: concurrency, pipelining: 1 });
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' };
let next = 0;
let failures = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const response = await pool.request({ method: 'POST', path: '/events/1.0/', headers, body });
      await response.body.text();
      if (response.statusCode >= 300) failures += 1;
    }
  }),
);
const ms = performance.now() - started;
await pool.close();
process.stdout.write(`posted ${bodies.length} ${ms.toFixed(1)} ${failures}\n`);
