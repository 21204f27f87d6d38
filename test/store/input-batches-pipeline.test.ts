/**
 * Learn's largest envelope through the whole gateway: 5,000 events, stored as about 20 input
 * batches, with resends (of an earlier envelope's events and within itself) and malformed events
 * among them. Each event is translated from its own input, wherever its batch starts, and
 * delivered once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { startTimebackEmulator, type TimebackEmulator } from '../../src/dev/timeback-emulator.ts';
import { statusReport } from '../../src/ops/status-report.ts';
import { startGateway, type Gateway } from '../../src/server.ts';
import { BATCH_MAX_EVENTS, createInputReader } from '../../src/store/input-batches.ts';
import { envelope, sessionEvent, type TestEvent } from '../helpers/caliper-events.ts';
import type { TempDir } from '../helpers/identity-harness.ts';
import { pipelineEnv, pipelineFolder } from '../helpers/pipeline-gateway.ts';
import { inputBatchCount } from '../helpers/stored-inputs.ts';
import { waitFor } from '../helpers/wait-for.ts';

const INGEST_KEY = 'ingest-key-for-input-batch-tests';
const STUDENTS = Array.from({ length: 20 }, (_, i) => ({
  externalId: `stu-${String(i).padStart(4, '0')}`,
  platformId: `5d2b7e90-3c4a-4f1e-9a6b-${String(i).padStart(12, '0')}`,
}));

let temp: TempDir;
let emulator: TimebackEmulator;
let gateway: Gateway | undefined;

beforeEach(async () => {
  temp = pipelineFolder('input-batches-pipeline');
  emulator = await startTimebackEmulator({ users: STUDENTS.map((s) => ({ sourcedId: s.platformId, identifier: s.externalId })) });
});

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  await emulator.close();
  temp.remove();
});

async function post(gw: Gateway, events: unknown[]): Promise<void> {
  const response = await fetch(`${gw.url}/caliper`, {
    method: 'POST',
    headers: { authorization: `Bearer ${INGEST_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(envelope(events)),
  });
  expect(response.status, await response.text()).toBe(200);
}

describe('input batches through the gateway', () => {
  it('translates each event of a 5,000-event envelope with resends and malformed events from its own input, and delivers it once', { timeout: 90_000 }, async () => {
    gateway = await startGateway(
      parseConfig({ ...pipelineEnv(temp.dir, emulator), INGEST_API_KEYS: INGEST_KEY, ROSTER_MATCH: 'identifier', DELIVERY_BACKOFF_CAP: '1' }),
    );
    const gw = gateway;
    // Each event's own time and student, so a delivered event shows which input it was made from.
    const studentAt = new Map<string, string>();
    let n = 0;
    const login = (): TestEvent => {
      n += 1;
      const student = STUDENTS[(n * 7) % STUDENTS.length]!;
      const eventTime = new Date(Date.UTC(2026, 10, 2, 9, 0, 0) + n).toISOString();
      studentAt.set(eventTime, student.platformId);
      return sessionEvent({ eventTime }, student.externalId);
    };

    const earlier = Array.from({ length: 300 }, login);
    await post(gw, earlier);

    // 4,640 new events; 200 resends of the earlier envelope's, 60 of its own, 100 malformed,
    // spread through it so every batch of what is stored starts and ends somewhere different.
    const data: unknown[] = [];
    const fresh: TestEvent[] = [];
    for (let i = 0; data.length < 5_000; i += 1) {
      if (i % 25 === 3 && i < 5_000) data.push(earlier[Math.floor(i / 25)]!);
      else if (i % 83 === 5 && fresh.length > 0) data.push(fresh[fresh.length - 1]!);
      else if (i % 50 === 7) data.push({ ...login(), type: undefined, id: `malformed-${i}` });
      else {
        const event = login();
        fresh.push(event);
        data.push(event);
      }
    }
    const resent = data.length - fresh.length - data.filter((event) => String((event as TestEvent).id).startsWith('malformed-')).length;
    const malformed = data.length - fresh.length - resent;
    expect(resent).toBeGreaterThan(200);
    expect(malformed).toBeGreaterThan(90);
    await post(gw, data);

    const stored = 300 + fresh.length + malformed;
    expect(inputBatchCount(gw.store.sqlite)).toBeGreaterThanOrEqual(Math.ceil((fresh.length + malformed) / BATCH_MAX_EVENTS) + 2);
    await waitFor('nothing pending', () => statusReport(gw.store).byFate.pending === 0, 60_000);

    expect(statusReport(gw.store).byFate).toMatchObject({ delivered: 300 + fresh.length, rejected: malformed, pending: 0 });
    // The malformed were rejected at intake, for what they lack; none as a missing input.
    expect(gw.store.sqlite.prepare(`SELECT count(*) FROM events WHERE detail = 'the stored event is missing'`).pluck().get()).toBe(0);
    // Each stored event reads back as its own input.
    const rows = gw.store.sqlite.prepare('SELECT seq, source_id AS id FROM events ORDER BY seq').all() as Array<{ seq: number; id: string }>;
    expect(rows).toHaveLength(stored);
    const inputs = createInputReader(gw.store.sqlite)(rows.map((row) => row.seq).reverse());
    expect(rows.filter((row) => (JSON.parse(inputs.get(row.seq) ?? 'null') as TestEvent | null)?.id !== row.id)).toEqual([]);
    // Delivered once each, and about the student of the input it was made from.
    const received = emulator.received as Array<{ id: string; actor: string; eventTime: string }>;
    expect(received).toHaveLength(300 + fresh.length);
    expect(new Set(received.map((event) => event.id)).size).toBe(received.length);
    expect(received.filter((event) => event.actor !== `urn:uuid:${studentAt.get(event.eventTime)}`)).toEqual([]);
  });
});
