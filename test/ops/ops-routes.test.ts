/**
 * The probes on their own: /healthz, /readyz and /metrics as a load balancer and Prometheus
 * see them, with the readiness report and the metrics registry injected.
 */
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.ts';
import { opsRoutes, type ReadinessReport } from '../../src/ops/ops-routes.ts';

function routes(report: ReadinessReport | (() => Promise<ReadinessReport>)) {
  const metrics = createMetrics();
  const readiness = typeof report === 'function' ? report : async () => report;
  return { metrics, router: opsRoutes({ readiness, metrics }) };
}

describe('opsRoutes', () => {
  it('answers /healthz with 200 and {"ok": true} without asking readiness', async () => {
    let asked = 0;
    const { router } = routes(async () => {
      asked += 1;
      return { ready: false, reasons: ['never asked'] };
    });
    const response = await router.request('/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    expect(asked).toBe(0);
  });

  it('answers /readyz with the whole report, 200 when ready', async () => {
    const report: ReadinessReport = { ready: true, reasons: [], translation: { state: 'running', rules: 12 } };
    const response = await routes(report).router.request('/readyz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(report);
  });

  it('answers /readyz with 503 and the reasons when not ready', async () => {
    const report: ReadinessReport = {
      ready: false,
      reasons: ['delivery waits for TIMEBACK_APP_ID'],
      translation: { state: 'waiting-for-rules', rules: 0, problems: ['mappings/x.yaml: bad'] },
    };
    const response = await routes(report).router.request('/readyz');
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual(report);
  });

  it('answers /metrics in the registry’s exposition format, with the current values', async () => {
    const { router, metrics } = routes({ ready: true, reasons: [] });
    metrics.eventsReceived.inc(3);
    const response = await router.request('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(metrics.registry.contentType);
    const text = await response.text();
    expect(text).toMatch(/^# HELP /m);
    expect(text).toMatch(/events_received_total 3$/m);
  });
});
