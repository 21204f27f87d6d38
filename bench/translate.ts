/**
 * translate_ratio: events/s through the translate stage's work on one core, over the fixture
 * corpus, ÷ JSON.parse + JSON.stringify of the same bytes.
 *
 * The stage's work per event is what the translate worker does with a stored row: parse its
 * text, translate it with the shipped rules (in batches of 256, as the worker reads them),
 * and serialise the output it will POST. The roster is the fixtures' users.json files as a
 * static table (identity lookups are measured on their own, in roster_lookups). Both sides
 * run on this thread, in alternating slices, and the median of the per-round ratios counts.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { staticIdentity } from '../src/identity/identity-resolver.ts';
import { locateEventSlices } from '../src/ingest/event-slices.ts';
import { discoverFixtures, FIXTURE_APP_ID, readUsers } from '../src/mapping/fixtures.ts';
import { loadRules } from '../src/mapping/rule-loader.ts';
import { translate, type TranslateItem } from '../src/mapping/translate.ts';
import { ROOT } from './processes.ts';
import { alternately, median, round } from './stats.ts';

const BATCH = 256;

export interface TranslateBenchResult {
  corpusEvents: number;
  corpusBytes: number;
  translatedPerSecond: number[];
  baselinePerSecond: number[];
  ratios: number[];
  ratio: number;
  fates: Record<string, number>;
}

/** Every event of every fixture input, as the exact text it has in the file, with its envelope's sensor. */
async function loadCorpus() {
  const events: Array<{ sensor: string; raw: string }> = [];
  const users: Record<string, string> = {};
  for (const fixture of await discoverFixtures(path.join(ROOT, 'fixtures'))) {
    const bytes = await readFile(path.join(fixture.dir, 'input.json'));
    const envelope = JSON.parse(bytes.toString('utf8')) as { sensor?: string; data?: unknown[] };
    if (!Array.isArray(envelope.data)) continue;
    const slices = locateEventSlices(bytes, envelope.data.length);
    if (!slices) throw new Error(`${fixture.name}: cannot locate its events`);
    for (let i = 0; i < envelope.data.length; i++) {
      events.push({ sensor: String(envelope.sensor ?? ''), raw: bytes.toString('utf8', slices[2 * i], slices[2 * i + 1]) });
    }
    const roster = await readUsers(path.join(fixture.dir, 'users.json'));
    if (!roster.ok) throw new Error(`${fixture.name}: ${roster.problems.join('; ')}`);
    for (const [externalId, platformId] of Object.entries(roster.users)) {
      if (users[externalId] !== undefined && users[externalId] !== platformId) {
        throw new Error(`${fixture.name}: ${externalId} has another platform id in another fixture`);
      }
      users[externalId] = platformId;
    }
  }
  return { events, users };
}

export async function benchTranslate(options: { rounds: number; secondsPerRun: number; log: (line: string) => void }): Promise<TranslateBenchResult> {
  const rules = await loadRules(path.join(ROOT, 'mappings'));
  const { events, users } = await loadCorpus();
  const context = { rules, identity: staticIdentity(users), appId: FIXTURE_APP_ID };
  const fates: Record<string, number> = {};

  // The corpus repeated into the worker's batch size.
  const batches: Array<typeof events> = [];
  for (let at = 0; at < Math.max(events.length, BATCH) * 4; at += BATCH) {
    batches.push(Array.from({ length: BATCH }, (_, i) => events[(at + i) % events.length]!));
  }

  let sink = 0;
  const translateBatch = async (batch: typeof events, count: boolean) => {
    const items: TranslateItem[] = batch.map(({ sensor, raw }) => ({ sensor, event: JSON.parse(raw) }));
    const outcomes = await translate(items, context);
    for (const outcome of outcomes) {
      if (outcome.fate === 'deliver') sink += JSON.stringify(outcome.event).length;
      if (count) fates[outcome.fate] = (fates[outcome.fate] ?? 0) + 1;
    }
  };
  const baselineBatch = (batch: typeof events) => {
    for (const { raw } of batch) sink += JSON.stringify(JSON.parse(raw)).length;
  };

  const timed = async (seconds: number, work: (batch: typeof events) => unknown) => {
    const deadline = performance.now() + seconds * 1000;
    const started = performance.now();
    let done = 0;
    for (let i = 0; performance.now() < deadline; i++) {
      await work(batches[i % batches.length]!);
      done += BATCH;
    }
    return done / ((performance.now() - started) / 1000);
  };

  await translateBatch(events, true);
  await timed(0.5, (batch) => translateBatch(batch, false));
  await timed(0.5, baselineBatch);

  const translated: number[] = [];
  const baseline: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < options.rounds; r++) {
    const [t, b] = await alternately(
      r,
      () => timed(options.secondsPerRun, (batch) => translateBatch(batch, false)),
      () => timed(options.secondsPerRun, baselineBatch),
    );
    translated.push(Math.round(t));
    baseline.push(Math.round(b));
    ratios.push(round(t / b, 3));
    options.log(`  translate round ${r + 1}: ${Math.round(t)} ev/s, parse+stringify ${Math.round(b)} ev/s, ratio ${round(t / b)}`);
  }
  if (sink === 0) throw new Error('nothing was produced');
  return {
    corpusEvents: events.length,
    corpusBytes: events.reduce((sum, event) => sum + Buffer.byteLength(event.raw), 0),
    translatedPerSecond: translated,
    baselinePerSecond: baseline,
    ratios,
    ratio: round(median(ratios), 3),
    fates,
  };
}
