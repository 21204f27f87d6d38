/**
 * `npm run drill`: fault drills against the real gateway process on loopback. Each scenario
 * breaks something while Learn-shaped traffic flows and then accounts for every acknowledged
 * event (see drill/ledger.ts for what "lost" means). Prints a table; exits 1 if any event was
 * lost or a drill fell short of what it promises (too few kills, a queue that never settled).
 *
 *   npm run drill                 # all three, a few minutes
 *   npm run drill -- kill roster  # only some: kill, faults, roster
 *
 * Timings are shortened so the whole run stays bounded (see DRILL_TIMINGS in drill/harness.ts):
 * DELIVERY_TIMEOUT=2 s cuts the hung POSTs, DELIVERY_BACKOFF_CAP=5 s bounds every wait
 * between attempts and between probes, ROSTER_TIMEOUT=2 s.
 */
import { DRILL_TIMINGS } from './drill/harness.ts';
import { faultDrill, killDrill, rosterOutageDrill, type ScenarioResult } from './drill/scenarios.ts';

const SCENARIOS: Record<string, () => Promise<ScenarioResult>> = {
  kill: () => killDrill({ events: 20_000, minKills: 5, maxKills: 8 }),
  faults: () => faultDrill({ events: 1_500, rates: { error500: 0.3, throttle429: 0.1, hang: 0.05 }, retryAfterSeconds: 1 }),
  roster: () => rosterOutageDrill({ events: 3_000, outageSeconds: 60, eventsPerSecond: 75 }),
};

async function main(): Promise<number> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !(name in SCENARIOS));
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario ${unknown.join(', ')}; choose from ${Object.keys(SCENARIOS).join(', ')}\n`);
    return 2;
  }
  const names = wanted.length > 0 ? wanted : Object.keys(SCENARIOS);
  process.stdout.write(`caliper-gateway drill: ${names.join(', ')} (${Object.entries(DRILL_TIMINGS).map(([k, v]) => `${k}=${v}`).join(' ')})\n`);

  const results: ScenarioResult[] = [];
  for (const name of names) {
    process.stdout.write(`\n▶ ${name} …\n`);
    const result = await runScenario(name);
    results.push(result);
    for (const note of result.notes) process.stdout.write(`  ${note}\n`);
    const settledOtherwise = Object.entries(result.ledger.notForTimebackBecause).map(([because, count]) => `${count} ${because}`);
    if (settledOtherwise.length > 0) process.stdout.write(`  not for TimeBack, as the rules and roster say: ${settledOtherwise.join(', ')}\n`);
    for (const [because, count] of Object.entries(result.ledger.lostBecause)) process.stdout.write(`  LOST ${count}: ${because}\n`);
    for (const example of result.ledger.examples) process.stdout.write(`    e.g. ${example}\n`);
    for (const shortfall of result.shortfalls) process.stdout.write(`  SHORTFALL: ${shortfall}\n`);
  }

  process.stdout.write(`\n${table(results)}\n`);
  const failed = results.filter((result) => result.ledger.lost > 0 || result.shortfalls.length > 0);
  process.stdout.write(failed.length === 0 ? '\nzero lost\n' : `\nFAILED: ${failed.map((result) => result.name).join('; ')}\n`);
  return failed.length === 0 ? 0 : 1;
}

/** A scenario that throws (the gateway would not restart, say) is a failed drill, not a crash. */
async function runScenario(name: string): Promise<ScenarioResult> {
  const started = performance.now();
  try {
    return await SCENARIOS[name]!();
  } catch (err) {
    return {
      name,
      ledger: { sent: 0, acknowledged: 0, delivered: 0, notForTimeback: 0, notForTimebackBecause: {}, duplicates: 0, lost: 0, lostBecause: {}, unexpected: 0, examples: [] },
      seconds: (performance.now() - started) / 1000,
      notes: [],
      shortfalls: [`the drill broke off: ${(err as Error).stack ?? String(err)}`],
    };
  }
}

function table(results: ScenarioResult[]): string {
  const header = ['scenario', 'events sent', 'acknowledged', 'delivered', 'not for TimeBack', 'duplicates', 'lost', 'time'];
  const rows = results.map(({ name, ledger, seconds }) => [
    name,
    ledger.sent.toLocaleString('en-US'),
    ledger.acknowledged.toLocaleString('en-US'),
    ledger.delivered.toLocaleString('en-US'),
    ledger.notForTimeback.toLocaleString('en-US'),
    ledger.duplicates.toLocaleString('en-US'),
    ledger.lost.toLocaleString('en-US'),
    `${seconds.toFixed(0)} s`,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`;
  return [line(header), `|${widths.map((width, column) => (column === 0 ? ':' : '-').padEnd(width + 1, '-') + (column === 0 ? '-' : ':')).join('|')}|`, ...rows.map(line)].join('\n');
}

// Exit even if a broken-off scenario left a server or timer behind.
process.exit(await main());
