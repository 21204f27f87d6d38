/**
 * A closed-loop HTTP load generator: `concurrency` clients send back-to-back over
 * keep-alive connections for a fixed time, and every request's latency is kept.
 * Bodies come from a factory so each request can carry fresh event ids (the gateway
 * stores a resent id only once, so replaying one body would measure deduplication).
 */
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';

export interface LoadResult {
  requests: number;
  failures: number;
  statuses: Record<string, number>;
  seconds: number;
  latenciesMs: number[];
}

export async function runLoad(options: {
  url: string;
  path: string;
  concurrency: number;
  durationMs: number;
  /** The body of the next request of client number `client` (0 … concurrency - 1). */
  body: (client: number) => string | Buffer;
  headers?: Record<string, string>;
  /** Stop after this many requests, if that comes before `durationMs`. */
  requests?: number;
}): Promise<LoadResult> {
  const pool = new Pool(options.url, { connections: options.concurrency, pipelining: 1, bodyTimeout: 120_000, headersTimeout: 120_000 });
  const latenciesMs: number[] = [];
  const statuses: Record<string, number> = {};
  let failures = 0;
  let issued = 0;
  const limit = options.requests ?? Number.POSITIVE_INFINITY;
  const started = performance.now();
  const deadline = started + options.durationMs;

  const client = async (_: unknown, index: number) => {
    while (performance.now() < deadline && issued < limit) {
      issued += 1;
      const body = options.body(index);
      const sent = performance.now();
      try {
        const res = await pool.request({
          method: 'POST',
          path: options.path,
          headers: { 'content-type': 'application/json', ...options.headers },
          body,
        });
        await res.body.dump();
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode >= 300) failures += 1;
        else latenciesMs.push(performance.now() - sent);
      } catch {
        failures += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return { requests: latenciesMs.length, failures, statuses, seconds, latenciesMs };
}

/**
 * Serialises an envelope once and stamps fresh event ids and times into a copy of its bytes
 * for each request: ids are UUIDs (36 characters) and times ISO 8601 in UTC (24), so each is
 * overwritten in place and a 3 MB envelope costs the load generator a few microseconds, not a
 * JSON.stringify. Each client gets its own copy (`next(client)`), which it reuses once its
 * request is answered.
 */
export function envelopeStamper(envelope: { data: Array<{ id: string; eventTime?: string }> }) {
  const idPlaceholder = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
  const timePlaceholder = (i: number) => new Date(Date.UTC(2000, 0, 1) + i).toISOString();
  envelope.data.forEach((event, i) => {
    event.id = idPlaceholder(i);
    event.eventTime = timePlaceholder(i);
  });
  const template = Buffer.from(JSON.stringify(envelope), 'utf8');
  const find = (text: string, from: number) => {
    const at = template.indexOf(text, from, 'utf8');
    if (at < 0) throw new Error(`envelopeStamper: ${text} not found`);
    return at;
  };
  const timeKey = '"eventTime":"';
  const ids: number[] = [];
  const times: number[] = [];
  let from = 0;
  for (let i = 0; i < envelope.data.length; i++) {
    times.push(find(timeKey + timePlaceholder(i), from) + timeKey.length);
    ids.push(find(idPlaceholder(i), from));
    from = Math.max(ids[i]!, times[i]!) + 1;
  }
  const copies = new Map<number, Buffer>();
  return {
    events: ids.length,
    bytes: template.length,
    next(client = 0): Buffer {
      let body = copies.get(client);
      if (!body) {
        body = Buffer.from(template);
        copies.set(client, body);
      }
      // Random, like Learn's ids; the times are the last few milliseconds, like events that
      // just happened (a resend would carry the same id and time).
      const now = Date.now();
      for (let i = 0; i < ids.length; i++) {
        body.write(randomUUID(), ids[i]!, 'latin1');
        body.write(new Date(now - ids.length + i).toISOString(), times[i]!, 'latin1');
      }
      return body;
    },
  };
}
