/**
 * A closed-loop HTTP load generator: `concurrency` clients send back-to-back over
 * keep-alive connections for a fixed time, and every request's latency is kept.
 * Bodies come from a factory so each request can carry fresh event ids (the gateway
 * stores a resent id only once, so replaying one body would measure deduplication).
 */
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
  body: () => string;
  headers?: Record<string, string>;
}): Promise<LoadResult> {
  const pool = new Pool(options.url, { connections: options.concurrency, pipelining: 1, bodyTimeout: 120_000, headersTimeout: 120_000 });
  const latenciesMs: number[] = [];
  const statuses: Record<string, number> = {};
  let failures = 0;
  const started = performance.now();
  const deadline = started + options.durationMs;

  const client = async () => {
    while (performance.now() < deadline) {
      const body = options.body();
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

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/**
 * Serialises an envelope once with placeholder ids, then stitches fresh ids in per
 * request: a few string joins instead of a JSON.stringify of megabytes.
 */
export function envelopeStamper(envelope: { data: Array<{ id: string }> }) {
  const marks = envelope.data.map((event, i) => {
    const mark = `@@ID${i}@@`;
    event.id = mark;
    return mark;
  });
  let text = JSON.stringify(envelope);
  const parts: string[] = [];
  for (const mark of marks) {
    const at = text.indexOf(mark);
    parts.push(text.slice(0, at));
    text = text.slice(at + mark.length);
  }
  parts.push(text);
  const run = Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0');
  let counter = 0;
  return {
    events: marks.length,
    bytes: parts.reduce((sum, part) => sum + part.length, 0) + marks.length * 36,
    next(): string {
      let out = parts[0] as string;
      for (let i = 1; i < parts.length; i++) {
        counter += 1;
        out += `${run}-0000-4000-8000-${counter.toString(16).padStart(12, '0')}${parts[i]}`;
      }
      return out;
    },
  };
}
