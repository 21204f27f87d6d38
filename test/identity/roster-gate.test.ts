import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTimebackEmulator, type Fault, type TimebackEmulator } from '../../src/dev/timeback-emulator.ts';
import { createRosterClient, type RosterLookup } from '../../src/identity/roster-client.ts';
import { OUTAGE_THRESHOLD } from '../../src/identity/roster-gate.ts';
import { createMetrics } from '../../src/metrics.ts';
import { createTokenProvider } from '../../src/timeback/client-credentials-token.ts';
import { captureLog, makeTempDir, manualClock, testConfig, type TempDir } from '../helpers/identity-harness.ts';
import { eventLoopTurns, waitFor } from '../helpers/wait-for.ts';

// The outage pause lets one probe out at a time. Lookups sent before it opened may come back
// while the probe is out (a hanging request takes up to ROSTER_TIMEOUT; the first pause lasts
// 0.5–1 s): their answers must not end the probe's turn.

const ADA = { sourcedId: randomUUID(), identifier: 'ada.l', email: 'ada@school.test' };
/** Far past anything a test here waits for: only close() and clearFaults() end a hanging lookup. */
const LONG_DEADLINE_MS = 60_000;
/** Past the credentials refusal the token provider remembers (30 s) and any pause these tests open. */
const LATER_MS = 31_000;

let temp: TempDir;
let emulator: TimebackEmulator;
/** The roster URLs the emulator heard, as they arrived (answered, held or hanging). */
const heard: string[] = [];
const open: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  temp = makeTempDir('roster-gate');
  emulator = await startTimebackEmulator({
    users: [ADA],
    onRequest: (request) => {
      if (request.route === 'roster') heard.push(request.url);
    },
  });
});

afterEach(async () => {
  emulator.clearFaults();
  await Promise.all(open.splice(0).map((part) => part.close()));
  heard.length = 0;
});

afterAll(async () => {
  await emulator.close();
  temp.remove();
});

function client(timeoutMs = LONG_DEADLINE_MS) {
  const clock = manualClock();
  const config = testConfig({ dir: temp.dir, timebackUrl: emulator.url, clientId: emulator.clientId, clientSecret: emulator.clientSecret, timeoutMs });
  const { log } = captureLog();
  const metrics = createMetrics();
  const tokens = createTokenProvider({ config, log, metrics, now: clock.now });
  const roster = createRosterClient({ config, tokens, log, metrics, now: clock.now });
  open.push(roster, tokens);
  return { roster, tokens, metrics, clock };
}

const heardFor = (part: string) => heard.filter((url) => url.includes(part)).length;

/** OUTAGE_THRESHOLD lookups whose requests get no answer (dropped connections): the pause opens. */
async function openThePause(roster: ReturnType<typeof client>['roster']): Promise<void> {
  emulator.addFault({ route: 'roster', reset: true, when: (_body, url) => url.includes('down-') });
  for (let i = 0; i < OUTAGE_THRESHOLD; i += 1) expect(await roster.lookup('identifier', `down-${i}`)).toMatchObject({ outcome: 'unavailable' });
  expect(roster.status()).toMatchObject({ state: 'paused' });
}

/** Once the pause is over: a lookup let out as the probe, whose request hangs until clearFaults(). Wrapped, so awaiting this does not await the probe. */
async function sendAHangingProbe(roster: ReturnType<typeof client>['roster'], clock: ReturnType<typeof client>['clock']): Promise<{ probe: Promise<RosterLookup> }> {
  emulator.addFault({ route: 'roster', hang: true, when: (_body, url) => url.includes('probe-') });
  clock.advance(1_000);
  const probe = roster.lookup('identifier', 'probe-0');
  await waitFor('the probe at the roster', () => heardFor('probe-0') === 1);
  return { probe };
}

/**
 * The probe is still out: a lookup now waits without a request of its own. Then the probe's
 * own end (its connection dropped) lets the next lookup probe, and the roster answers again.
 */
async function expectOneProbeThenRecovery(
  roster: ReturnType<typeof client>['roster'],
  clock: ReturnType<typeof client>['clock'],
  probe: Promise<RosterLookup>,
): Promise<void> {
  clock.advance(LATER_MS);
  expect(await roster.lookup('identifier', ADA.identifier)).toMatchObject({ outcome: 'unavailable', retryAfterMs: undefined });
  expect(heardFor(ADA.identifier)).toBe(0);

  emulator.clearFaults();
  expect(await probe).toMatchObject({ outcome: 'unavailable' });
  clock.advance(LATER_MS);
  expect(await roster.lookup('identifier', ADA.identifier)).toEqual({ outcome: 'found', platformId: ADA.sourcedId });
  expect(roster.status()).toEqual({ state: 'answering' });
}

/**
 * A lookup sent before the pause, its roster answer (`answer`) held back until the pause has
 * opened and its probe is out, hanging: `held.release()` lets the answer come.
 */
async function earlyLookupHeldWhileTheProbeIsOut(answer: Pick<Fault, 'status' | 'retryAfter'>) {
  const { roster, tokens, clock } = client();
  await tokens.getToken();
  emulator.addFault({ route: 'roster', ...answer, when: (_body, url) => url.includes('early-'), times: 1 });
  const held = emulator.hold('roster');
  const early = roster.lookup('identifier', 'early-0');
  await held.arrived;

  await openThePause(roster);
  const { probe } = await sendAHangingProbe(roster, clock);
  return { roster, clock, held, early, probe };
}

describe('roster gate: one probe at a time', () => {
  it('Should not let a second probe out when a lookup sent before the pause comes back held while the probe is out', async () => {
    const { roster, clock, held, early, probe } = await earlyLookupHeldWhileTheProbeIsOut({ status: 401 });

    // The 401 arrives; the fresh token it asks for is refused: the early lookup comes back held.
    emulator.addFault({ route: 'token', status: 401, body: { error: 'invalid_client' }, times: 1 });
    held.release();
    expect(await early).toMatchObject({ outcome: 'unavailable', held: true });

    // Credentials work again (the refusal is no longer remembered); the probe is still out,
    // and its own end lets the next lookup probe: the pause is not stuck.
    await expectOneProbeThenRecovery(roster, clock, probe);
  }, 10_000);

  it('Should not let a second probe out when a lookup sent before the pause fails while the probe is out', async () => {
    const { roster, clock, held, early, probe } = await earlyLookupHeldWhileTheProbeIsOut({ status: 503 });
    held.release();
    expect(await early).toMatchObject({ outcome: 'unavailable', detail: 'TimeBack roster failed (HTTP 503)' });

    // However long the early failure holds the pause, the probe is still out.
    await expectOneProbeThenRecovery(roster, clock, probe);
  }, 10_000);

  it('Should not re-open the pause when a lookup sent before it fails while the probe is out: the probe is what says', async () => {
    const { roster, clock, held, early, probe } = await earlyLookupHeldWhileTheProbeIsOut({ status: 503 });
    const before = roster.status();
    held.release();
    expect(await early).toMatchObject({ outcome: 'unavailable', detail: 'TimeBack roster failed (HTTP 503)' });

    // No new wait and no new problem: a lookup now waits on the probe, not on a time.
    expect(roster.status()).toEqual(before);
    expect(await roster.lookup('identifier', ADA.identifier)).toMatchObject({ outcome: 'unavailable', retryAfterMs: undefined });
    await expectOneProbeThenRecovery(roster, clock, probe);
  }, 10_000);

  it("Should hold the pause for a Retry-After to a lookup sent before it while the probe is out, and the probe's turn goes on", async () => {
    const { roster, clock, held, early, probe } = await earlyLookupHeldWhileTheProbeIsOut({ status: 429, retryAfter: 20 });
    held.release();
    expect(await early).toMatchObject({ outcome: 'unavailable', retryAfterMs: 20_000 });

    // TimeBack asked this client to wait: a lookup now is told how long.
    expect(roster.status()).toMatchObject({ state: 'paused', nextProbe: new Date(clock.now() + 20_000).toISOString() });
    expect(await roster.lookup('identifier', ADA.identifier)).toMatchObject({ outcome: 'unavailable', retryAfterMs: 20_000 });
    // Once that wait is over, the probe is still the only one out (LATER_MS is past it).
    await expectOneProbeThenRecovery(roster, clock, probe);
  }, 10_000);

  it('Should let the next probe go when the probe shared a roster check that a lookup sent before the pause made, and it failed', async () => {
    const { roster, clock } = client();
    // Sent before the pause: a 404 by id, checked against the user list, whose check hangs.
    const isCheck = (url: string) => url.endsWith('?limit=1');
    emulator.addFault({ route: 'roster', hang: true, when: (_body, url) => isCheck(url), times: 1 });
    const early = roster.lookup('sourcedId', randomUUID());
    await waitFor('the roster check at the roster', () => heard.some(isCheck));

    await openThePause(roster);
    // The probe is a 404 by id too: it waits on the same check (roster-client.ts's rosterThere).
    clock.advance(1_000);
    const probeId = randomUUID();
    const probe = roster.lookup('sourcedId', probeId);
    await waitFor('the probe answered 404', () => emulator.requests.some((request) => request.url.endsWith(probeId) && request.status === 404));
    await eventLoopTurns();

    // The check's connection drops: the early lookup records the failure, the probe shares it.
    emulator.clearFaults();
    expect(await early).toMatchObject({ outcome: 'unavailable', detail: expect.stringContaining('unreachable') });
    expect(await probe).toMatchObject({ outcome: 'unavailable', shared: true });
    expect(heard.filter(isCheck)).toHaveLength(1);

    // The pause re-opened; once it is over, the next lookup goes out as its probe.
    expect(roster.status()).toMatchObject({ state: 'paused' });
    clock.advance(LATER_MS);
    expect(await roster.lookup('identifier', ADA.identifier)).toEqual({ outcome: 'found', platformId: ADA.sourcedId });
    expect(roster.status()).toEqual({ state: 'answering' });
  }, 10_000);

  it('Should not pause again when lookups sent before the pause time out after its probe was answered: the roster had recovered', async () => {
    // Short enough to come in this test, long past the probe's answer (the roster here answers at once).
    const { roster, tokens, metrics, clock } = client(2_000);
    await tokens.getToken();
    emulator.addFault({ route: 'roster', hang: true, when: (_body, url) => url.includes('hung-') });
    const early = Array.from({ length: OUTAGE_THRESHOLD }, (_, i) => roster.lookup('identifier', `hung-${i}`));
    await waitFor('the early lookups at the roster', () => heardFor('hung-') === OUTAGE_THRESHOLD);

    await openThePause(roster);
    clock.advance(1_000);
    expect(await roster.lookup('identifier', ADA.identifier)).toEqual({ outcome: 'found', platformId: ADA.sourcedId });
    expect(roster.status()).toEqual({ state: 'answering' });

    // Their timeouts, as many as open a pause, are old news: the next lookup goes out.
    for (const lookup of early) expect(await lookup).toMatchObject({ outcome: 'unavailable', detail: expect.stringContaining('before the timeout') });
    expect(roster.status()).not.toMatchObject({ state: 'paused' });
    expect((await metrics.rosterPaused.get()).values[0]?.value).toBe(0);
    expect(await roster.lookup('identifier', ADA.identifier)).toEqual({ outcome: 'found', platformId: ADA.sourcedId });
  }, 10_000);
});
