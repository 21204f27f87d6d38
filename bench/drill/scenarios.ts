/**
 * The three drills. Each runs the real gateway process against the emulator on its own
 * database, breaks something while Learn-shaped traffic flows, waits for the queue to settle,
 * and hands the event-by-event ledger back with what it did to get there.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { superviseGateway } from './gateway-process.ts';
import { buildTraffic, INGEST_KEY, MAPPINGS_DIR, APP_ID, prepare, waitUntilSettled, watchQueue, type QueueCounts, type Setup, type Traffic } from './harness.ts';
import { settleLedger, type Ledger } from './ledger.ts';
import { startSender, type SenderReport } from './sender.ts';

export interface ScenarioResult {
  name: string;
  ledger: Ledger;
  seconds: number;
  /** What the drill did and saw, one line each. */
  notes: string[];
  /** Ways the drill itself fell short (too few kills, a queue that never settled): fail the run. */
  shortfalls: string[];
}

const MIXED_SIZES = [1, 5, 25, 100, 250, 500, 1_000, 2_000];

async function account(setup: Setup, traffic: Traffic, report: SenderReport): Promise<Ledger> {
  return settleLedger({
    dbPath: setup.dbPath,
    mappingsDir: MAPPINGS_DIR,
    appId: APP_ID,
    sensor: setup.learn.siteId,
    sent: traffic.sent,
    acknowledged: report.acknowledged,
    roster: setup.roster,
    received: setup.emulator.received,
  });
}

function senderNotes(report: SenderReport): string[] {
  const failures = Object.entries(report.failures)
    .map(([why, count]) => `${count} × ${why}`)
    .join(', ');
  const lines = [`${report.envelopes} envelopes, ${report.posts} POSTs (${report.posts - report.envelopes} resends${failures ? `: ${failures}` : ''})`];
  if (report.abandoned > 0) lines.push(`${report.abandoned} envelopes never got a 200 (their events are not counted as acknowledged)`);
  return lines;
}

/** Removes the scenario's folder, unless something went wrong: then says where it is. */
async function keepOnFailure(setup: Setup, shortfalls: string[], ledger: Ledger): Promise<string[]> {
  const keep = shortfalls.length > 0 || ledger.lost > 0;
  await setup.cleanUp(keep);
  return keep ? [`database and gateway log kept in ${setup.dir}`] : [];
}

function ledgerShortfalls(ledger: Ledger): string[] {
  const shortfalls: string[] = [];
  if (ledger.acknowledged < ledger.sent) shortfalls.push(`${ledger.sent - ledger.acknowledged} events never acknowledged`);
  if (ledger.unexpected > 0) shortfalls.push(`TimeBack received ${ledger.unexpected} events no acknowledged event accounts for`);
  return shortfalls;
}

// ---------------------------------------------------------------------------------------

export interface KillDrillOptions {
  events: number;
  minKills: number;
  maxKills: number;
}

const STAGES = ['intake', 'translation', 'delivery'] as const;
type Stage = (typeof STAGES)[number];

interface KillMoment extends QueueCounts {
  atSeconds: number;
  /** Envelopes on the wire when the process died. */
  sending: number;
}

/**
 * kill -9 at random moments while 20,000 events go through intake, translation and delivery;
 * restart on the same database and port each time. Keeps killing, `maxKills` times at most,
 * until the work runs out; fewer than `minKills`, or a stage never hit, is a shortfall.
 */
export async function killDrill(options: KillDrillOptions): Promise<ScenarioResult> {
  // 10 ms per POST at TimeBack: delivery trails intake, so every stage has work to interrupt.
  const setup = await prepare('kill', { latencyMs: 10, seed: 1 });
  const traffic = buildTraffic(setup.learn, options.events, MIXED_SIZES);
  const started = performance.now();
  const gateway = await superviseGateway(setup.env, setup.logFile);
  const queue = watchQueue(setup.dbPath);
  const sender = startSender({ url: gateway.url, key: INGEST_KEY, envelopes: traffic.envelopes, concurrency: 3, eventsPerSecond: 1_500, giveUpAfterMs: 120_000 });
  let senderDone = false;
  void sender.done.then(() => (senderDone = true));

  // Each kill waits a random while, then for a moment when its target stage has work, so
  // the kills land at random times and still cover intake, translation and delivery.
  const kills: KillMoment[] = [];
  const moment = (): KillMoment => ({ atSeconds: (performance.now() - started) / 1000, sending: sender.inFlight(), ...queue.counts() });
  const busyIn: Record<Stage, (at: KillMoment) => boolean> = {
    intake: (at) => at.sending > 0,
    translation: (at) => at.translating > 0,
    delivery: (at) => at.delivering > 0,
  };
  for (let round = 0; kills.length < options.maxKills; round++) {
    await sleep(500 + Math.random() * 1_500);
    const target = STAGES[round % STAGES.length]!;
    const busy = senderDone ? (at: KillMoment) => at.translating > 0 || at.delivering > 0 : busyIn[target];
    let now = moment();
    for (const giveUp = performance.now() + 3_000; !busy(now) && performance.now() < giveUp; now = moment()) await sleep(5);
    if (!busy(now)) {
      if (senderDone) break; // nothing left to interrupt
      continue;
    }
    await gateway.kill();
    kills.push(now);
    await gateway.restart();
  }

  const report = await sender.done;
  const settled = await waitUntilSettled(queue, report.acknowledged.size, 120_000);
  queue.close();
  await gateway.stop();
  const ledger = await account(setup, traffic, report);
  const seconds = (performance.now() - started) / 1000;

  const shortfalls = ledgerShortfalls(ledger);
  if (!settled) shortfalls.push('the queue did not settle within 120 s of the last acknowledgement');
  if (kills.length < options.minKills) shortfalls.push(`only ${kills.length} kills (at least ${options.minKills} wanted)`);
  for (const stage of STAGES) if (!kills.some(busyIn[stage])) shortfalls.push(`no kill landed during ${stage}`);
  const kept = await keepOnFailure(setup, shortfalls, ledger);
  return {
    name: `kill -9 ×${kills.length}`,
    ledger,
    seconds,
    notes: [
      ...kept,
      ...senderNotes(report),
      ...kills.map(
        (kill, i) =>
          `kill ${i + 1} at ${kill.atSeconds.toFixed(1)} s: ${kill.sending} envelopes in flight, ` +
          `${kill.stored} stored, ${kill.translating} waiting for translation, ${kill.delivering} for delivery`,
      ),
    ],
    shortfalls,
  };
}

// ---------------------------------------------------------------------------------------

export interface FaultDrillOptions {
  events: number;
  /** Fractions of all event POSTs: answered 500, answered 429 with Retry-After, never answered. */
  rates: { error500: number; throttle429: number; hang: number };
  retryAfterSeconds: number;
}

/** TimeBack's events endpoint failing a large share of POSTs in three different ways. */
export async function faultDrill(options: FaultDrillOptions): Promise<ScenarioResult> {
  const setup = await prepare('faults', { seed: 2 });
  const { error500, throttle429, hang } = options.rates;
  // The emulator tries faults in order, each on what the earlier ones let through, so each
  // probability is conditional: 30% / (10% of the remaining 70%) / (5% of the remaining 60%).
  setup.emulator.addFault({ route: 'events', status: 500, probability: error500 });
  setup.emulator.addFault({ route: 'events', status: 429, retryAfter: options.retryAfterSeconds, probability: throttle429 / (1 - error500) });
  setup.emulator.addFault({ route: 'events', hang: true, probability: hang / (1 - error500 - throttle429) });

  const traffic = buildTraffic(setup.learn, options.events, MIXED_SIZES.filter((size) => size <= 500));
  const started = performance.now();
  const gateway = await superviseGateway(setup.env, setup.logFile);
  const queue = watchQueue(setup.dbPath);
  const sender = startSender({ url: gateway.url, key: INGEST_KEY, envelopes: traffic.envelopes, concurrency: 2, giveUpAfterMs: 60_000 });
  const report = await sender.done;
  const settled = await waitUntilSettled(queue, report.acknowledged.size, 300_000);
  queue.close();

  const answers = setup.emulator.requests.filter((request) => request.route === 'events');
  const shareOf = (counts: (status: number) => boolean) =>
    `${((100 * answers.filter((request) => counts(request.status)).length) / answers.length).toFixed(1)}%`;
  const share = (status: number) => shareOf((answered) => answered === status);
  setup.emulator.clearFaults();
  await gateway.stop();
  const ledger = await account(setup, traffic, report);
  const seconds = (performance.now() - started) / 1000;

  const shortfalls = ledgerShortfalls(ledger);
  if (!settled) shortfalls.push('the queue did not settle within 300 s');
  const kept = await keepOnFailure(setup, shortfalls, ledger);
  return {
    name: 'TimeBack 30% 500, 10% 429, 5% hang',
    ledger,
    seconds,
    notes: [
      ...kept,
      ...senderNotes(report),
      `${answers.length} event POSTs: ${share(500)} answered 500, ${share(429)} 429 (Retry-After: ${options.retryAfterSeconds}), ` +
        `${share(0)} never answered (cut at DELIVERY_TIMEOUT=${setup.env.DELIVERY_TIMEOUT} s), ${shareOf((answered) => answered >= 200 && answered < 300)} accepted`,
    ],
    shortfalls,
  };
}

// ---------------------------------------------------------------------------------------

export interface RosterOutageOptions {
  events: number;
  outageSeconds: number;
  /** Events per second from Learn during the outage. */
  eventsPerSecond: number;
}

/** The roster API down (half 503s, half dropped connections) while events arrive. */
export async function rosterOutageDrill(options: RosterOutageOptions): Promise<ScenarioResult> {
  const setup = await prepare('roster', { seed: 3 });
  const traffic = buildTraffic(setup.learn, options.events, MIXED_SIZES.filter((size) => size <= 250));
  const started = performance.now();
  const gateway = await superviseGateway(setup.env, setup.logFile);
  setup.emulator.addFault({ route: 'roster', status: 503, probability: 0.5 });
  setup.emulator.addFault({ route: 'roster', reset: true });
  const outageStarted = performance.now();
  const queue = watchQueue(setup.dbPath);
  const sender = startSender({ url: gateway.url, key: INGEST_KEY, envelopes: traffic.envelopes, concurrency: 2, eventsPerSecond: options.eventsPerSecond, giveUpAfterMs: 60_000 });

  await sleep(Math.max(0, outageStarted + options.outageSeconds * 1000 - performance.now()));
  const duringOutage = {
    acknowledged: sender.acknowledgedCount(),
    delivered: setup.emulator.received.length,
    rosterRequests: setup.emulator.count('roster'),
    ...queue.counts(),
  };
  setup.emulator.clearFaults();
  const backAt = performance.now();

  const report = await sender.done;
  const settled = await waitUntilSettled(queue, report.acknowledged.size, 120_000);
  const recoverySeconds = (performance.now() - backAt) / 1000;
  queue.close();
  await gateway.stop();
  const ledger = await account(setup, traffic, report);
  const seconds = (performance.now() - started) / 1000;

  const shortfalls = ledgerShortfalls(ledger);
  if (!settled) shortfalls.push('the queue did not settle within 120 s of the roster coming back');
  if (duringOutage.delivered > 0) shortfalls.push(`${duringOutage.delivered} events delivered while no student could be looked up: the outage was not real`);
  const kept = await keepOnFailure(setup, shortfalls, ledger);
  return {
    name: `roster down ${options.outageSeconds} s`,
    ledger,
    seconds,
    notes: [
      ...kept,
      ...senderNotes(report),
      `after ${options.outageSeconds} s of outage: ${duringOutage.acknowledged} events acknowledged, ${duringOutage.translating} waiting for ` +
        `their student, ${duringOutage.delivered} delivered, ${duringOutage.rosterRequests} roster requests refused`,
      `roster back: everything settled ${recoverySeconds.toFixed(1)} s later`,
    ],
    shortfalls,
  };
}
