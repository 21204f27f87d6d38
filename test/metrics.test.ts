import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { createMetrics } from '../src/metrics.ts';
import { startGateway } from '../src/server.ts';

/** `name → type` from the `# TYPE` lines of an exposition. */
function typesOf(exposition: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(name!, type!);
  return types;
}

/** Every label name and value of every sample line. */
function labelsOf(exposition: string): Array<{ metric: string; name: string; value: string }> {
  const labels: Array<{ metric: string; name: string; value: string }> = [];
  for (const [, metric, body] of exposition.matchAll(/^(\w+)\{(.*)\} \S+$/gm)) {
    for (const [, name, value] of body!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels.push({ metric: metric!, name: name!, value: value! });
  }
  return labels;
}

describe('GET /metrics', () => {
  it('exposes every metric the interface names, named as Prometheus asks', async () => {
    const types = typesOf(await createMetrics().render());

    // interface.md: received, stored, translated, skipped (by reason), rejected, delivered,
    // retried, dead, queue depth, oldest waiting age, delivery latency histogram, roster cache
    // hits/misses/lookups. Renaming one breaks dashboards and alerts.
    expect(Object.fromEntries(types)).toMatchObject({
      caliper_gateway_events_received_total: 'counter',
      caliper_gateway_events_stored_total: 'counter',
      caliper_gateway_events_translated_total: 'counter',
      caliper_gateway_events_skipped_total: 'counter',
      caliper_gateway_events_rejected_total: 'counter',
      caliper_gateway_events_delivered_total: 'counter',
      caliper_gateway_delivery_retries_total: 'counter',
      caliper_gateway_events_dead_total: 'counter',
      caliper_gateway_queue_depth: 'gauge',
      caliper_gateway_oldest_waiting_age_seconds: 'gauge',
      caliper_gateway_delivery_duration_seconds: 'histogram',
      caliper_gateway_roster_cache_hits_total: 'counter',
      caliper_gateway_roster_cache_misses_total: 'counter',
      caliper_gateway_roster_lookups_total: 'counter',
    });
    for (const [name, type] of types) {
      expect(name).toMatch(/^caliper_gateway_[a-z_]+$/);
      // Counters end in _total and nothing else does; a time is in seconds, a size in bytes.
      expect(name.endsWith('_total'), name).toBe(type === 'counter');
      if (type === 'histogram') expect(name).toMatch(/_(seconds|bytes)$/);
      expect(name).not.toMatch(/_(ms|milliseconds|minutes|kb|mb)(_|$)/);
    }
  });

  it('labels requests by route pattern: an id in a path never becomes a series', { timeout: 20_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caliper-gateway-metrics-'));
    const adminToken = 'metrics-admin-token-7d2e';
    const config = parseConfig({ DB_PATH: join(dir, 'gateway.db'), HOST: '127.0.0.1', PORT: '0', ADMIN_TOKEN: adminToken });
    const gateway = await startGateway(config, { log: createLogger('silent'), announceKey: () => {} });
    const ids = ['kid-one@school.test', 'kid-two@school.test', '4711', '4712'];
    let scrape: string;
    try {
      const admin = { authorization: `Bearer ${adminToken}` };
      for (const id of ids) {
        expect((await fetch(`${gateway.url}/admin/roster-cache/${encodeURIComponent(id)}`, { method: 'DELETE', headers: admin })).status).toBe(404);
        // Not a number, refused (400); a number of no event in the empty database, not found (404).
        const eventStatus = /^\d+$/.test(id) ? 404 : 400;
        expect((await fetch(`${gateway.url}/admin/events/${encodeURIComponent(id)}`, { headers: admin })).status, id).toBe(eventStatus);
        expect((await fetch(`${gateway.url}/admin/roster-cache/${encodeURIComponent(id)}`, { method: 'DELETE' })).status).toBe(401);
        expect((await fetch(`${gateway.url}/nowhere/${encodeURIComponent(id)}`)).status).toBe(404);
      }
      scrape = await (await fetch(`${gateway.url}/metrics`)).text();
    } finally {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    }

    const requests = labelsOf(scrape).filter((label) => label.metric === 'caliper_gateway_http_requests_total');
    const routes = new Set(requests.filter((label) => label.name === 'route').map((label) => label.value));
    expect([...routes].sort()).toEqual(['/admin/events/:seq', '/admin/roster-cache/:externalId', 'unmatched']);
    for (const { value } of labelsOf(scrape)) for (const id of ids) expect(value).not.toContain(id);
  });
});
