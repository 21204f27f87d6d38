/**
 * Delivery in the real gateway process (`node src/bin.mjs serve`) against the emulator,
 * where crashes and restarts are real. Events are inserted as the translate stage leaves
 * them; the gateway's safety poll picks them up.
 */
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTimebackEmulator, type TimebackEmulator } from '../../src/dev/timeback-emulator.ts';
import { killGatewayProcesses, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { makeTempDir, type TempDir } from '../helpers/identity-harness.ts';
import { eventStates, fateCounts, insertTranslatedEvents, TEST_APP_ID } from '../helpers/translated-events.ts';
import { waitFor } from '../helpers/wait-for.ts';

let emulator: TimebackEmulator;
let temp: TempDir;
let dbFile: string;
let db: Database.Database | undefined;

beforeEach(async () => {
  emulator = await startTimebackEmulator();
  temp = makeTempDir('delivery-process');
  dbFile = `${temp.dir}/gateway.db`;
});

afterEach(async () => {
  await killGatewayProcesses();
  db?.close();
  db = undefined;
  await emulator.close();
  temp.remove();
});

function gateway(env: Record<string, string> = {}): Promise<GatewayProcess> {
  return startGatewayProcess({
    DB_PATH: dbFile,
    // No rules and no fixtures, so translation waits: these tests store translated events themselves.
    MAPPINGS_DIR: temp.dir,
    FIXTURES_DIR: temp.dir,
    INGEST_API_KEYS: 'ingest-key-for-delivery-tests',
    TIMEBACK_BASE_URL: emulator.url,
    TIMEBACK_CLIENT_ID: emulator.clientId,
    TIMEBACK_CLIENT_SECRET: emulator.clientSecret,
    TIMEBACK_APP_ID: TEST_APP_ID,
    DELIVERY_CONCURRENCY: '8',
    DELIVERY_TIMEOUT: '1',
    DELIVERY_BACKOFF_CAP: '1',
    ...env,
  });
}

/** A second connection to the gateway's database, as the translate stage or an admin would have. */
function database(): Database.Database {
  db ??= new Database(dbFile);
  db.pragma('busy_timeout = 5000');
  return db;
}

const receivedIds = () => emulator.received.map((event) => (event as { id: string }).id);
const delivered = () => fateCounts(database()).delivered ?? 0;

describe('delivery in the gateway process', () => {
  it('rides out 500s, 429s with Retry-After and hanging requests: everything delivered once they stop', { timeout: 60_000 }, async () => {
    emulator.addFault({ route: 'events', status: 500, times: 6 });
    emulator.addFault({ route: 'events', status: 429, retryAfter: 1, times: 2 });
    emulator.addFault({ route: 'events', hang: true, times: 2 });
    await gateway();
    const inserted = insertTranslatedEvents(database(), 40);

    await waitFor('all delivered', () => delivered() === 40, 30_000);
    expect(new Set(receivedIds())).toEqual(new Set(inserted.map((event) => event.outputId)));
    const statuses = emulator.requests.filter((r) => r.route === 'events').map((r) => r.status);
    expect(statuses.filter((s) => s === 500)).toHaveLength(6);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2);
    expect(statuses.filter((s) => s === 0)).toHaveLength(2);
    // Every POST is an attempt on its event's row: the 40 that were taken and the 10 that were not.
    const states = eventStates(database());
    expect(states.reduce((sum, row) => sum + row.attempts, 0)).toBe(40 + 6 + 2 + 2);
    expect(states.filter((row) => row.attempts > 1).length).toBeGreaterThan(0);
  });

  it('after kill -9 mid-delivery and a restart, every event is delivered; repeats carry identical ids and bodies', { timeout: 60_000 }, async () => {
    emulator.latencyMs = 150;
    const first = await gateway();
    const inserted = insertTranslatedEvents(database(), 150);
    await waitFor('delivery under way', () => delivered() >= 16, 20_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const cut = fateCounts(database());
    expect(cut.pending).toBeGreaterThan(0);

    await gateway();
    await waitFor('all delivered after restart', () => delivered() === 150, 30_000);

    const outputs = new Map(
      (database().prepare('SELECT output_id AS id, output FROM events JOIN event_outputs USING (seq)').all() as Array<{ id: string; output: string }>).map(
        (row) => [row.id, JSON.parse(row.output) as unknown],
      ),
    );
    expect(new Set(receivedIds())).toEqual(new Set(inserted.map((event) => event.outputId)));
    for (const body of emulator.received) expect(body).toEqual(outputs.get((body as { id: string }).id));
  });

  it('refreshes a token that TimeBack stops accepting mid-stream', { timeout: 60_000 }, async () => {
    emulator.latencyMs = 20;
    await gateway({ DELIVERY_CONCURRENCY: '4' });
    insertTranslatedEvents(database(), 60);
    await waitFor('some delivered', () => delivered() >= 10, 20_000);
    emulator.validTokens.clear();

    await waitFor('all delivered', () => delivered() === 60, 20_000);
    expect(emulator.requests.some((r) => r.route === 'events' && r.status === 401)).toBe(true);
    expect(emulator.tokensIssued).toBe(2);
    expect(new Set(receivedIds()).size).toBe(60);
  });

  it('while TimeBack is down, the request rate stays bounded; delivery resumes when it answers', { timeout: 60_000 }, async () => {
    emulator.addFault({ route: 'events', reset: true });
    const gw = await gateway();
    insertTranslatedEvents(database(), 100);
    await waitFor('delivery paused', async () => {
      const ready = (await (await fetch(`${gw.url}/readyz`)).json()) as { delivery?: { state: string } };
      return ready.delivery?.state === 'paused';
    }, 20_000);

    const windowStart = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const inWindow = emulator.requests.filter((r) => r.route === 'events' && r.at >= windowStart).length;
    // 100 due events on 8 connections would be hundreds of requests in 3 s. Paused, one
    // probe goes at a time, at least half the cap (0.5 s) apart.
    expect(inWindow).toBeLessThanOrEqual(8);
    expect(delivered()).toBe(0);

    emulator.clearFaults();
    await waitFor('all delivered after recovery', () => delivered() === 100, 20_000);
    expect(new Set(receivedIds()).size).toBe(100);
  });

  it('refused credentials pause delivery, show on /readyz, and leave events untouched', { timeout: 30_000 }, async () => {
    const gw = await gateway({ TIMEBACK_CLIENT_SECRET: 'not-the-secret' });
    const inserted = insertTranslatedEvents(database(), 5);
    const ready = await waitFor('readyz says why', async () => {
      const res = await fetch(`${gw.url}/readyz`);
      const body = (await res.json()) as { reasons: string[]; delivery: { token: string } };
      return res.status === 503 && body.delivery.token === 'rejected' ? body : undefined;
    });
    // (The other reason is the empty rules folder: these tests translate nothing.)
    expect(ready.reasons).toEqual([expect.stringContaining('TimeBack refused the client credentials'), expect.stringContaining('no rule files')]);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(emulator.eventPosts).toBe(0);
    expect(eventStates(database()).map((row) => [row.fate, row.attempts])).toEqual(inserted.map(() => ['pending', 0]));
  });

  it('on SIGTERM lets POSTs in flight finish and records them before exiting', { timeout: 30_000 }, async () => {
    // Answers slow enough for /readyz to be asked, on a loaded machine too, while all four wait.
    emulator.latencyMs = 1_500;
    // Not the file's 1 s DELIVERY_TIMEOUT: these answers would time out, their events due again.
    const gw = await gateway({ DELIVERY_CONCURRENCY: '4', DELIVERY_TIMEOUT: '10' });
    insertTranslatedEvents(database(), 4);
    // As the gateway counts them: sent, not yet answered. (The emulator counts a POST as it
    // answers, and an answer already sent leaves nothing in flight to wait for.)
    await waitFor('POSTs in flight', async () => {
      const ready = (await (await fetch(`${gw.url}/readyz`)).json()) as { delivery?: { inFlight: number } };
      return ready.delivery?.inFlight === 4;
    }, 10_000);
    gw.child.kill('SIGTERM');
    expect(await gw.exited).toEqual({ code: 0, signal: null });
    expect(fateCounts(database())).toEqual({ delivered: 4 });
  });

  it('on SIGTERM while a token request hangs, stops within SHUTDOWN_TIMEOUT, exits 0, and the events wait for the next start', { timeout: 60_000 }, async () => {
    // A token request allowed longer than the whole shutdown: it has to be cut, not waited for.
    const gw = await gateway({ SHUTDOWN_TIMEOUT: '1', TIMEBACK_TOKEN_TIMEOUT: '60' });
    await waitFor('the first token', () => emulator.tokensIssued === 1);
    // TimeBack stops accepting that token (the POSTs get 401), and its token endpoint stops answering.
    emulator.validTokens.clear();
    emulator.addFault({ route: 'token', hang: true });
    const inserted = insertTranslatedEvents(database(), 3);
    await waitFor('a token request hanging', () => emulator.requests.some((r) => r.route === 'token' && r.status === 0), 20_000);
    gw.child.kill('SIGTERM');
    // serve exits 1 when the shutdown overruns SHUTDOWN_TIMEOUT.
    expect(await gw.exited).toEqual({ code: 0, signal: null });
    expect(fateCounts(database())).toEqual({ pending: 3 });

    emulator.clearFaults();
    await gateway();
    await waitFor('all delivered after restart', () => delivered() === 3, 20_000);
    expect(new Set(receivedIds())).toEqual(new Set(inserted.map((event) => event.outputId)));
  });
});
