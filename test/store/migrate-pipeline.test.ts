/**
 * A school upgrades: this release's gateway starts on the database an earlier release left,
 * with events in every fate. What waited is delivered once, every other event keeps its fate,
 * Learn's key still works, and status, the admin routes and the metrics see all of it.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { startTimebackEmulator, type TimebackEmulator } from '../../src/dev/timeback-emulator.ts';
import { statusReport } from '../../src/ops/status-report.ts';
import { startGateway, type Gateway } from '../../src/server.ts';
import { envelope, sessionEvent } from '../helpers/caliper-events.ts';
import { captureLog, type TempDir } from '../helpers/identity-harness.ts';
import { INGEST_KEY, KNOWN_STUDENT, OLD_SCHEMAS, seedEveryFate, UNKNOWN_STUDENT, type OldSchema } from '../helpers/old-databases.ts';
import { pipelineEnv, pipelineFolder } from '../helpers/pipeline-gateway.ts';
import { waitFor } from '../helpers/wait-for.ts';

const ADMIN_TOKEN = 'admin-token-for-upgrade-tests-0123';

let temp: TempDir;
let emulator: TimebackEmulator;
let gateway: Gateway | undefined;

beforeEach(async () => {
  temp = pipelineFolder('migrate-pipeline');
  emulator = await startTimebackEmulator({ users: [{ sourcedId: KNOWN_STUDENT.platformId, identifier: KNOWN_STUDENT.externalId }] });
});

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  await emulator.close();
  temp.remove();
});

async function admin(path: string, init: RequestInit = {}): Promise<unknown> {
  const response = await fetch(`${gateway!.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
  });
  expect(response.status, path).toBe(200);
  return response.json();
}

const fateOf = (gw: Gateway, seq: number) => (gw.store.sqlite.prepare('SELECT fate FROM events WHERE seq = ?').pluck().get(seq) as string);
const receivedIds = () => emulator.received.map((event) => (event as { id: string }).id);

describe('this release on a database an earlier release left', () => {
  it.each(OLD_SCHEMAS.map((schema) => [schema.name, schema] as [string, OldSchema]))(
    'after %s: delivers what waited once, keeps every other fate, and replays dead and skipped events',
    { timeout: 30_000 },
    async (_name, schema) => {
      schema.create(join(temp.dir, 'gateway.db'));
      const seeded = seedEveryFate(join(temp.dir, 'gateway.db'));
      // No INGEST_API_KEYS: the key the old release generated is the one Learn sends.
      const config = parseConfig({ ...pipelineEnv(temp.dir, emulator), ROSTER_MATCH: 'identifier', ADMIN_TOKEN, DELIVERY_BACKOFF_CAP: '1' });
      gateway = await startGateway(config, { log: captureLog().log, announceKey: () => expect.fail('a new ingest key was generated') });
      const gw = gateway;

      const after = sessionEvent({ eventTime: '2026-03-02T10:00:00.000Z' }, KNOWN_STUDENT.externalId);
      const posted = await fetch(`${gw.url}/caliper`, {
        method: 'POST',
        headers: { authorization: `Bearer ${INGEST_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(envelope([after])),
      });
      expect(posted.status).toBe(200);

      await waitFor('nothing pending', () => statusReport(gw.store).byFate.pending === 0 && emulator.received.length === 3, 20_000);
      // The delivery that waited goes as it was translated, once; the translation that waited is made and sent once.
      expect(receivedIds().filter((id) => id === seeded.pendingDelivery.outputId)).toHaveLength(1);
      expect(emulator.received.find((event) => (event as { id: string }).id === seeded.pendingDelivery.outputId)).toEqual(
        JSON.parse(seeded.pendingDelivery.output!),
      );
      expect(new Set(receivedIds()).size).toBe(3);
      for (const event of seeded.all) {
        expect(fateOf(gw, event.seq), `event ${event.seq}`).toBe(event.fate === 'pending' ? 'delivered' : event.fate);
      }
      expect(statusReport(gw.store)).toMatchObject({
        byFate: { pending: 0, delivered: 4, skipped: 2, rejected: 1, dead: 1 },
        byReason: { 'dead:http-400': 1, 'skipped:user-not-in-timeback': 1, 'skipped:no-rule': 1, 'rejected:invalid-event': 1 },
        rosterCacheEntries: 2,
      });

      const dead = (await admin('/admin/events?fate=dead')) as { events: Array<{ seq: number; reason: string; lastStatus: number }> };
      expect(dead.events).toEqual([expect.objectContaining({ seq: seeded.dead.seq, reason: 'http-400', lastStatus: 400 })]);
      expect(await admin(`/admin/events/${seeded.dead.seq}`)).toMatchObject({
        input: JSON.parse(seeded.dead.input),
        output: JSON.parse(seeded.dead.output!),
        lastResponse: '{"status":"error","message":"bad event"}',
      });
      // The event received after the upgrade keeps its input in a batch, shown beside the old ones'.
      const afterSeq = gw.store.sqlite.prepare('SELECT seq FROM events WHERE source_id = ?').pluck().get(after.id) as number;
      expect(await admin(`/admin/events/${afterSeq}`)).toMatchObject({ input: after, fate: 'delivered' });
      expect(await admin(`/admin/events/${seeded.rejected.seq}`)).toMatchObject({ input: JSON.parse(seeded.rejected.input) });
      await waitFor('the events gauge counted', async () => {
        const metrics = await (await fetch(`${gw.url}/metrics`)).text();
        return metrics.includes('caliper_gateway_events{fate="delivered"} 4') && metrics.includes('caliper_gateway_events{fate="dead"} 1');
      });

      emulator.users.set(UNKNOWN_STUDENT.platformId, { sourcedId: UNKNOWN_STUDENT.platformId, identifier: UNKNOWN_STUDENT.externalId });
      expect(await admin('/admin/replay', { method: 'POST', body: JSON.stringify({ status: 'dead' }) })).toMatchObject({ requeued: 1 });
      expect(await admin('/admin/replay', { method: 'POST', body: JSON.stringify({ reason: 'user-not-in-timeback' }) })).toMatchObject({ requeued: 1 });
      await waitFor('the replayed events delivered', () => fateOf(gw, seeded.dead.seq) === 'delivered' && fateOf(gw, seeded.notInTimeback.seq) === 'delivered', 20_000);
      expect(new Set(receivedIds()).size).toBe(5);
      expect(receivedIds()).toHaveLength(5);
    },
  );
});
