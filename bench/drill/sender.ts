/**
 * Learn's side of the drill: POSTs envelopes to /caliper at a steady rate from a few
 * connections and, like any sane client, sends an envelope again (the same bytes) until it
 * gets a 200: after a refused connection, a reset, a timeout or a 5xx. Deduplication by
 * (sensor, event id) is what makes resending safe; the drill checks that it is.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

export interface OutgoingEnvelope {
  body: string;
  eventIds: string[];
}

export interface SenderOptions {
  url: string;
  key: string;
  envelopes: OutgoingEnvelope[];
  /** Envelopes in flight at once. */
  concurrency: number;
  /** Pace: events per second across all connections (unpaced when unset). */
  eventsPerSecond?: number;
  /** Stop resending one envelope after this long; its events then count as never acknowledged. */
  giveUpAfterMs: number;
}

export interface SenderReport {
  envelopes: number;
  events: number;
  acknowledgedEnvelopes: number;
  /** Ids of the events whose envelope got a 200. */
  acknowledged: Set<string>;
  /** POSTs made, resends included. */
  posts: number;
  /** Why POSTs did not get a 200: `503`, `ECONNREFUSED`, … */
  failures: Record<string, number>;
  /** Envelopes refused with a 4xx (never resent: the request itself is wrong) or given up on. */
  abandoned: number;
}

export interface Sender {
  done: Promise<SenderReport>;
  /** Envelopes whose POST is on the wire right now. */
  inFlight(): number;
  /** Events acknowledged so far. */
  acknowledgedCount(): number;
}

export function startSender(options: SenderOptions): Sender {
  const pool = new Pool(options.url, {
    connections: options.concurrency,
    pipelining: 1,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  const report: SenderReport = {
    envelopes: options.envelopes.length,
    events: options.envelopes.reduce((sum, envelope) => sum + envelope.eventIds.length, 0),
    acknowledgedEnvelopes: 0,
    acknowledged: new Set(),
    posts: 0,
    failures: {},
    abandoned: 0,
  };
  const queue = [...options.envelopes];
  const started = performance.now();
  let scheduledEvents = 0;
  let inFlight = 0;
  const fail = (why: string) => (report.failures[why] = (report.failures[why] ?? 0) + 1);

  /** One POST: 'ok', 'retry' (no 200 yet, send again) or 'refused' (a 4xx: do not). */
  async function post(envelope: OutgoingEnvelope): Promise<'ok' | 'retry' | 'refused'> {
    report.posts += 1;
    inFlight += 1;
    try {
      const response = await pool.request({
        path: '/caliper',
        method: 'POST',
        headers: { authorization: `Bearer ${options.key}`, 'content-type': 'application/json' },
        body: envelope.body,
      });
      await response.body.dump();
      if (response.statusCode === 200) return 'ok';
      fail(String(response.statusCode));
      return response.statusCode >= 500 || response.statusCode === 408 || response.statusCode === 429 ? 'retry' : 'refused';
    } catch (err) {
      fail((err as { code?: string }).code ?? (err as Error).name);
      return 'retry';
    } finally {
      inFlight -= 1;
    }
  }

  async function deliver(envelope: OutgoingEnvelope): Promise<void> {
    const firstTry = performance.now();
    for (let attempt = 1; ; attempt++) {
      const result = await post(envelope);
      if (result === 'ok') {
        report.acknowledgedEnvelopes += 1;
        for (const id of envelope.eventIds) report.acknowledged.add(id);
        return;
      }
      if (result === 'refused' || performance.now() - firstTry > options.giveUpAfterMs) {
        report.abandoned += 1;
        return;
      }
      // While the gateway restarts, knock every so often rather than in a tight loop.
      await sleep(Math.min(1_000, 100 * attempt));
    }
  }

  async function worker(): Promise<void> {
    for (let envelope = queue.shift(); envelope; envelope = queue.shift()) {
      if (options.eventsPerSecond) {
        const due = started + (scheduledEvents / options.eventsPerSecond) * 1000;
        scheduledEvents += envelope.eventIds.length;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
      }
      await deliver(envelope);
    }
  }

  const done = Promise.all(Array.from({ length: options.concurrency }, worker)).then(async () => {
    await pool.close();
    return report;
  });
  return { done, inFlight: () => inFlight, acknowledgedCount: () => report.acknowledged.size };
}
