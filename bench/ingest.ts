/**
 * ingest_ratio: durable events/s through POST /caliper ÷ the same load against the bare
 * Hono handler (parse the JSON, answer 200), for 25- and 1,000-event envelopes.
 *
 * Both servers run side by side for the whole phase and take turns: each round runs every
 * envelope size against both, the order alternating between rounds, so a burst of noise
 * from other tenants of the machine lands on both sides about equally. The ratio is taken
 * per round and the median of the rounds reported.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createSyntheticLearn, syntheticStudentIds } from '../src/dev/synthetic-events.ts';
import { envelopeStamper, runLoad } from './load.ts';
import { startBaseline, startGateway, type Child } from './processes.ts';
import { alternately, median, percentile, round } from './stats.ts';

export const BENCH_KEY = 'bench-ingest-key-3f9a1c77';
const WARM_UP_SECONDS = 3;

export interface IngestSize {
  events: number;
  /** Concurrent senders, each sending its next envelope as soon as the last is answered. */
  concurrency: number;
}

export interface IngestOptions {
  dir: string;
  rounds: number;
  secondsPerRun: number;
  sizes: IngestSize[];
  log: (line: string) => void;
}

export interface IngestSizeResult {
  events: number;
  concurrency: number;
  envelopeBytes: number;
  gatewayEventsPerSecond: number[];
  baselineEventsPerSecond: number[];
  ratios: number[];
  ratio: number;
  p50Ms: number;
  p99Ms: number;
  baselineP50Ms: number;
  failures: number;
}

export async function benchIngest(options: IngestOptions) {
  // Intake alone, as the bare handler does nothing after answering: with no mapping rules
  // (empty folders) the translate stage waits, where it would otherwise settle or hold every
  // stored event on the same two cores. The pipeline's cost is what e2e and delivery measure.
  const noRules = join(options.dir, 'no-rules');
  mkdirSync(noRules, { recursive: true });
  const gateway = await startGateway(
    { DB_PATH: join(options.dir, 'ingest.db'), INGEST_API_KEYS: BENCH_KEY, MAPPINGS_DIR: noRules, FIXTURES_DIR: noRules },
    join(options.dir, 'ingest-gateway.log'),
  );
  const baseline = await startBaseline('bare-hono.ts', {}, join(options.dir, 'ingest-baseline.log'));
  try {
    const learn = createSyntheticLearn({ students: syntheticStudentIds(200), seed: 7 });
    const results: IngestSizeResult[] = [];
    for (const size of options.sizes) {
      const stamper = envelopeStamper(learn.envelope(size.events));
      const run = (target: Child, seconds: number) =>
        runLoad({
          url: target.url,
          path: '/caliper',
          concurrency: size.concurrency,
          durationMs: seconds * 1000,
          body: (client) => stamper.next(client),
          headers: { authorization: `Bearer ${BENCH_KEY}` },
        });
      // Warm both up (JIT, connection pools, the database's first pages) before measuring.
      // Measured second by second from a fresh start, the gateway's event loop took 30, 21,
      // 17 and then 16 µs per event, and the bare handler answered 55k, 68k, 75k and then
      // 78k events/s: both take about 3 s of load to settle. With 1 s each, the first round
      // caught the gateway still settling: its slowest of the three in 11 of 13 runs.
      await run(gateway, WARM_UP_SECONDS);
      await run(baseline, WARM_UP_SECONDS);

      const gatewayRates: number[] = [];
      const baselineRates: number[] = [];
      const ratios: number[] = [];
      const latencies: number[] = [];
      const baselineLatencies: number[] = [];
      let failures = 0;
      for (let r = 0; r < options.rounds; r++) {
        const [g, b] = await alternately(
          r,
          () => run(gateway, options.secondsPerRun),
          () => run(baseline, options.secondsPerRun),
        );
        const gRate = (g.requests * size.events) / g.seconds;
        const bRate = (b.requests * size.events) / b.seconds;
        gatewayRates.push(gRate);
        baselineRates.push(bRate);
        ratios.push(gRate / bRate);
        latencies.push(...g.latenciesMs);
        baselineLatencies.push(...b.latenciesMs);
        failures += g.failures + b.failures;
        options.log(
          `  ingest ${size.events}-event envelopes, round ${r + 1}: gateway ${Math.round(gRate)} ev/s, bare ${Math.round(bRate)} ev/s, ratio ${round(gRate / bRate)}`,
        );
      }
      results.push({
        events: size.events,
        concurrency: size.concurrency,
        envelopeBytes: stamper.bytes,
        gatewayEventsPerSecond: gatewayRates.map((v) => Math.round(v)),
        baselineEventsPerSecond: baselineRates.map((v) => Math.round(v)),
        ratios: ratios.map((v) => round(v, 3)),
        ratio: round(median(ratios), 3),
        p50Ms: round(percentile(latencies, 50)),
        p99Ms: round(percentile(latencies, 99)),
        baselineP50Ms: round(percentile(baselineLatencies, 50)),
        failures,
      });
    }
    return results;
  } finally {
    await Promise.all([gateway.stop(), baseline.stop()]);
  }
}
