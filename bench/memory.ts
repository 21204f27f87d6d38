/**
 * peak_rss_mb: the gateway's peak resident memory (VmHWM) while it accepts one 5,000-event
 * envelope of ~25 MB, with the whole pipeline configured against the emulator (so
 * translation and delivery start on those events while the envelope is being acknowledged).
 * A fresh process for this alone, so the peak belongs to this envelope. The peak once those
 * events are translated and delivered is reported too, without a target: the work on them
 * goes on after the acknowledgement, and the memory it takes is the school's all the same.
 */
import path from 'node:path';
import { startTimebackEmulator } from '../src/dev/timeback-emulator.ts';
import { createSyntheticLearn, syntheticStudentIds } from '../src/dev/synthetic-events.ts';
import { BENCH_KEY } from './ingest.ts';
import { runLoad } from './load.ts';
import { BENCH_APP_ID, waitUntilSettled } from './pipeline.ts';
import { startGateway } from './processes.ts';
import { round } from './stats.ts';

/** Learn's events run 2-5 KB; synthetic ones are ~3.2 KB, so each carries text up to the documented envelope size. */
const TARGET_BYTES = 25 * 1024 * 1024;

export interface MemoryResult {
  envelopeEvents: number;
  envelopeBytes: number;
  /** VmHWM before the envelope (the idle gateway). */
  idleMb: number;
  /** VmHWM once the envelope was acknowledged. */
  peakMb: number;
  /** VmHWM once every event of the envelope was translated and delivered. */
  settledPeakMb: number;
  ackMs: number;
}

export async function benchMemory(options: { dir: string; log: (line: string) => void }): Promise<MemoryResult> {
  const students = syntheticStudentIds(200);
  const learn = createSyntheticLearn({ students, seed: 17 });
  const envelope = learn.envelope(5_000);
  const plain = Buffer.byteLength(JSON.stringify(envelope));
  const padding = Math.max(0, Math.floor((TARGET_BYTES - plain) / envelope.data.length) - 40);
  for (const event of envelope.data) {
    (event.extensions as Record<string, unknown>)['bb:bench.note'] = 'Lorem ipsum dolor sit amet. '.repeat(Math.ceil(padding / 28)).slice(0, padding);
  }
  const body = Buffer.from(JSON.stringify(envelope));

  const emulator = await startTimebackEmulator({
    users: students.map((identifier, i) => ({ sourcedId: `5a0e2c71-9d3b-4f6a-8e21-${(0x2000 + i).toString(16).padStart(12, '0')}`, identifier })),
    recordEvents: false,
  });
  const file = path.join(options.dir, 'memory.db');
  const gateway = await startGateway(
    {
      DB_PATH: file,
      INGEST_API_KEYS: BENCH_KEY,
      TIMEBACK_BASE_URL: emulator.url,
      TIMEBACK_CLIENT_ID: emulator.clientId,
      TIMEBACK_CLIENT_SECRET: emulator.clientSecret,
      TIMEBACK_APP_ID: BENCH_APP_ID,
    },
    path.join(options.dir, 'memory-gateway.log'),
  );
  try {
    const idleMb = gateway.peakRssMb();
    const result = await runLoad({
      url: gateway.url,
      path: '/caliper',
      concurrency: 1,
      durationMs: 60_000,
      requests: 1,
      body: () => body,
      headers: { authorization: `Bearer ${BENCH_KEY}` },
    });
    if (result.requests !== 1) throw new Error(`the envelope was refused: ${JSON.stringify(result.statuses)}`);
    const peakMb = gateway.peakRssMb();
    await waitUntilSettled(file, envelope.data.length, 60_000);
    const settledPeakMb = gateway.peakRssMb();
    options.log(
      `  memory: ${round(body.length / 1024 / 1024, 1)} MB envelope acknowledged in ${Math.round(result.latenciesMs[0]!)} ms; ` +
        `VmHWM ${round(idleMb, 1)} MB idle, ${round(peakMb, 1)} MB after, ${round(settledPeakMb, 1)} MB once its events were delivered`,
    );
    return {
      envelopeEvents: envelope.data.length,
      envelopeBytes: body.length,
      idleMb: round(idleMb, 1),
      peakMb: round(peakMb, 1),
      settledPeakMb: round(settledPeakMb, 1),
      ackMs: round(result.latenciesMs[0]!, 1),
    };
  } finally {
    await gateway.stop();
    await emulator.close();
  }
}
