/**
 * Liveness, readiness and metrics: what a load balancer and Prometheus poll.
 */
import { Hono } from 'hono';
import type { AppDeps, AppEnv } from '../app.ts';
import type { DeliveryStatus } from '../deliver/delivery-status.ts';
import type { RosterStatus } from '../identity/roster-gate.ts';

export interface ReadinessReport {
  ready: boolean;
  /** Why the gateway is not ready, in words an operator can act on. */
  reasons: string[];
  /** Delivery's state, including whether a TimeBack token can be obtained (its last known answer). */
  delivery?: DeliveryStatus;
  /** Translation's state: whether mapping rules are active, and why not. */
  translation?: TranslationStatus;
  /**
   * Whether TimeBack's roster answers lookups. A paused roster does not make the gateway
   * unready (Learn's events are still stored, and cached students still flow), as a paused
   * delivery does not: it is here so an admin sees why new students' events wait.
   */
  roster?: RosterStatus;
}

export interface TranslationStatus {
  /**
   * `waiting-for-rules`: nothing is translated. `waiting-for-app-id`, `waiting-for-credentials`:
   * events no rule takes, a rule skips or Learn sent malformed are settled; the ones to send wait.
   */
  state: 'running' | 'waiting-for-app-id' | 'waiting-for-rules' | 'waiting-for-credentials';
  /** Active rules (0 while none are). */
  rules: number;
  /** Why no rules are active: the first problems the last load found. */
  problems?: string[];
  /**
   * The rule or fixture change the gateway refused while the older rules stay active: the
   * files on disk are not what runs. Gone once a change passes.
   */
  refusedChange?: { at: string; problems: string[] };
}

export type Readiness = () => Promise<ReadinessReport>;

export function opsRoutes(deps: Pick<AppDeps, 'readiness' | 'metrics'>) {
  const router = new Hono<AppEnv>();

  router.get('/healthz', (c) => c.json({ ok: true }));

  router.get('/readyz', async (c) => {
    const report = await deps.readiness();
    return c.json(report, report.ready ? 200 : 503);
  });

  router.get('/metrics', async (c) => {
    const body = await deps.metrics.render();
    return c.text(body, 200, { 'content-type': deps.metrics.registry.contentType });
  });

  return router;
}
