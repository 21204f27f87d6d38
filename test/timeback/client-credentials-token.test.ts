import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_WRITE_SCOPE, parseConfig } from '../../src/config.ts';
import { startTimebackEmulator, type TimebackEmulator } from '../../src/dev/timeback-emulator.ts';
import { createMetrics } from '../../src/metrics.ts';
import { createTokenProvider, type ClientCredentialsTokenProvider } from '../../src/timeback/client-credentials-token.ts';
import { TokenError } from '../../src/timeback/token-provider.ts';
import { captureLog, HANG_DEADLINE_MS, makeTempDir, manualClock, testConfig, type ManualClock, type TempDir } from '../helpers/identity-harness.ts';
import { metricValue } from '../helpers/metric-value.ts';
import { rejectionOf } from '../helpers/thrown.ts';
import { waitFor } from '../helpers/wait-for.ts';

const SECRET = 'emulator-secret-0f9e8d7c';
const ROSTER_READONLY = 'https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly';

let temp: TempDir;
let emulator: TimebackEmulator;
let jwtEmulator: TimebackEmulator;
const open: ClientCredentialsTokenProvider[] = [];

beforeAll(async () => {
  temp = makeTempDir('token');
  emulator = await startTimebackEmulator({ clientSecret: SECRET, tokenTtlSeconds: 3600 });
  jwtEmulator = await startTimebackEmulator({ clientSecret: SECRET, jwtTokens: true, tokenTtlSeconds: 120 });
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((provider) => provider.close()));
  for (const server of [emulator, jwtEmulator]) {
    server.clearFaults();
    server.latencyMs = 0;
    server.tokenFields = {};
  }
});

afterAll(async () => {
  await emulator.close();
  await jwtEmulator.close();
  temp.remove();
});

function provider(
  server: TimebackEmulator,
  clock: ManualClock = manualClock(),
  credentials: { clientId?: string | undefined; clientSecret?: string | undefined } = {},
  timeoutMs?: number,
) {
  const config = testConfig({
    dir: temp.dir,
    timebackUrl: server.url,
    clientId: 'clientId' in credentials ? credentials.clientId : server.clientId,
    clientSecret: 'clientSecret' in credentials ? credentials.clientSecret : server.clientSecret,
    timeoutMs,
  });
  const captured = captureLog();
  const metrics = createMetrics();
  const tokens = createTokenProvider({ config, log: captured.log, metrics, now: clock.now });
  open.push(tokens);
  return { tokens, captured, metrics, clock };
}

const tokenFailure = (promise: Promise<unknown>) => rejectionOf(TokenError, promise);

describe('client-credentials token provider', () => {
  it('Should fetch one token with Basic client auth and reuse it', async () => {
    const before = emulator.tokensIssued;
    const { tokens, metrics } = provider(emulator);

    const first = await tokens.getToken();
    expect(await tokens.getToken()).toBe(first);
    expect(await tokens.getToken()).toBe(first);

    expect(emulator.tokensIssued - before).toBe(1);
    expect(emulator.validTokens.has(first)).toBe(true);
    expect(await metricValue(metrics.tokenRefreshes, { outcome: 'ok' })).toBe(1);
  });

  it('Should show every token outcome from the start, at 0, so increase() sees the first refusal', async () => {
    const { metrics } = provider(emulator);
    const text = await metrics.render();
    for (const outcome of ['ok', 'rejected', 'unavailable']) {
      expect(text).toContain(`caliper_gateway_token_refreshes_total{outcome="${outcome}"} 0`);
    }
  });

  it('Should share one refresh among concurrent callers', async () => {
    emulator.latencyMs = 40;
    const before = emulator.tokensIssued;
    const { tokens } = provider(emulator);

    const all = await Promise.all(Array.from({ length: 100 }, () => tokens.getToken()));

    expect(new Set(all).size).toBe(1);
    expect(emulator.tokensIssued - before).toBe(1);
  });

  it('Should refresh shortly before expires_in runs out', async () => {
    const clock = manualClock(1_000_000);
    const { tokens } = provider(emulator, clock);
    const first = await tokens.getToken();

    clock.advance((3600 - 61) * 1000);
    expect(await tokens.getToken()).toBe(first);

    clock.advance(2_000); // now inside the last minute
    const second = await tokens.getToken();
    expect(second).not.toBe(first);
    expect(await tokens.getToken()).toBe(second);
  });

  it('Should read an expires_in written as text', async () => {
    emulator.tokenFields = { expires_in: '3600' };
    const clock = manualClock(1_000_000);
    const { tokens } = provider(emulator, clock);
    const first = await tokens.getToken();

    clock.advance((3600 - 61) * 1000);
    expect(await tokens.getToken()).toBe(first);
    clock.advance(2_000);
    expect(await tokens.getToken()).not.toBe(first);
  });

  it.each([
    ['missing', undefined],
    ['null', null],
    ['zero', 0],
    ['negative', -60],
    ['empty text', ''],
    ['text that is no number', 'an hour'],
  ])('Should use a token whose expires_in is %s, and ask again within five minutes', async (_name, expiresIn) => {
    emulator.tokenFields = { expires_in: expiresIn };
    const clock = manualClock(1_000_000);
    const { tokens, metrics } = provider(emulator, clock);
    const first = await tokens.getToken();
    expect(emulator.validTokens.has(first)).toBe(true);
    expect(await tokens.getToken()).toBe(first);

    clock.advance(5 * 60_000);
    const second = await tokens.getToken();
    expect(second).not.toBe(first);
    expect(await metricValue(metrics.tokenRefreshes, { outcome: 'ok' })).toBe(2);
  });

  it('Should not keep a token for longer than a day, whatever expires_in says', async () => {
    emulator.tokenFields = { expires_in: 10 ** 12 };
    const clock = manualClock(1_000_000);
    const { tokens } = provider(emulator, clock);
    const first = await tokens.getToken();

    clock.advance(23 * 3600_000);
    expect(await tokens.getToken()).toBe(first);
    clock.advance(3600_000);
    expect(await tokens.getToken()).not.toBe(first);
  });

  it('Should answer fresh() with the token getToken() would give at once, and nothing when one must be fetched', async () => {
    const clock = manualClock(1_000_000);
    const { tokens } = provider(emulator, clock);
    expect(tokens.fresh()).toBeUndefined();
    const first = await tokens.getToken();
    expect(tokens.fresh()).toBe(first);

    clock.advance((3600 - 59) * 1000); // inside the last minute: getToken() would fetch
    expect(tokens.fresh()).toBeUndefined();
    const second = await tokens.getToken();
    expect(tokens.fresh()).toBe(second);
    tokens.invalidate(second);
    expect(tokens.fresh()).toBeUndefined();
  });

  describe('with clocks that disagree', () => {
    /**
     * The gateway's clock and TimeBack's (the emulator's), `skewMs` apart (TimeBack's minus
     * the gateway's), moved together; TimeBack issues JWTs that live an hour.
     */
    async function skewed(skewMs: number) {
      const gateway = manualClock(Date.parse('2026-03-02T10:00:00.000Z'));
      const server = await startTimebackEmulator({ jwtTokens: true, tokenTtlSeconds: 3600, now: () => gateway.now() + skewMs });
      skewedServers.push(server);
      return { server, gateway, ...provider(server, gateway) };
    }
    const skewedServers: TimebackEmulator[] = [];
    afterEach(async () => {
      await Promise.all(skewedServers.splice(0).map((server) => server.close()));
    });
    /** Whether TimeBack takes the token now, by its own clock. */
    const accepted = async (server: TimebackEmulator, token: string) =>
      (await fetch(`${server.url}/rostering/1.0/users?limit=1`, { headers: { authorization: `Bearer ${token}` } })).status === 200;

    it("Should go by the JWT's own lifetime (exp less iat) when it is shorter than expires_in, whatever the clocks", async () => {
      // The answer claims an hour; the JWT itself lives 120 s. Our clock runs 30 s behind
      // TimeBack's, so the exp read by our clock would keep it until +150 s.
      jwtEmulator.tokenFields = { expires_in: 3600 };
      const clock = manualClock(Date.now() - 30_000);
      const { tokens } = provider(jwtEmulator, clock);
      const first = await tokens.getToken();
      expect(first.split('.')).toHaveLength(3);

      clock.advance(100_000);
      expect(await tokens.getToken()).toBe(first);
      clock.advance(10_000); // past 120 s less a tenth
      expect(await tokens.getToken()).not.toBe(first);
    });

    it("Should never hand out a token TimeBack has expired when the gateway's clock is behind", async () => {
      // 90 s behind: the JWT's exp, read by our clock, is 90 s later than the token really
      // dies, past the 60 s we refresh early. expires_in, counted from when we asked, is not.
      const { server, gateway, tokens } = await skewed(90_000);
      const before = server.tokensIssued;
      const first = await tokens.getToken();
      expect(first.split('.')).toHaveLength(3);
      for (const at of [1_800_000, 3_539_000, 3_541_000, 3_600_000, 3_620_000, 3_650_000]) {
        gateway.set(Date.parse('2026-03-02T10:00:00.000Z') + at);
        const token = await tokens.getToken();
        expect({ at, accepted: await accepted(server, token) }).toEqual({ at, accepted: true });
      }
      expect(server.tokensIssued - before).toBe(2);
    });

    it("Should keep a fresh token for its hour when the gateway's clock is ahead, not ask again and again", async () => {
      // 59 min 59 s ahead: by our clock the JWT's exp is a second away, though the token was
      // issued just now and lives an hour.
      const { server, gateway, tokens, metrics } = await skewed(-3_599_000);
      const before = server.tokensIssued;
      const first = await tokens.getToken();
      const handedOut = new Set([first]);
      for (let minute = 1; minute <= 58; minute += 1) {
        gateway.advance(60_000);
        handedOut.add(await tokens.getToken());
      }
      expect({ tokensAskedFor: server.tokensIssued - before, handedOut: handedOut.size }).toEqual({ tokensAskedFor: 1, handedOut: 1 });
      expect(await accepted(server, first)).toBe(true);
      expect(await metricValue(metrics.tokenRefreshes, { outcome: 'ok' })).toBe(1);
      gateway.advance(60_000); // 59 min: inside the last minute by expires_in
      expect(await tokens.getToken()).not.toBe(first);
    });

    it("Should keep a fresh token when the gateway's clock is so far ahead that its exp has passed", async () => {
      const { server, gateway, tokens } = await skewed(-2 * 3600_000);
      const before = server.tokensIssued;
      const first = await tokens.getToken();
      gateway.advance(30 * 60_000);
      expect(await tokens.getToken()).toBe(first);
      expect(await accepted(server, first)).toBe(true);
      expect(server.tokensIssued - before).toBe(1);
    });
  });

  it('Should fetch a new token after invalidate(), and ignore stale invalidations', async () => {
    const before = emulator.tokensIssued;
    const { tokens } = provider(emulator);
    const first = await tokens.getToken();

    emulator.validTokens.clear(); // TimeBack forgets every token, as after a key rotation
    tokens.invalidate(first);
    const second = await tokens.getToken();
    expect(second).not.toBe(first);
    expect(emulator.validTokens.has(second)).toBe(true);

    // A slower caller reporting its 401 with the old token must not throw the new one away.
    tokens.invalidate(first);
    expect(await tokens.getToken()).toBe(second);
    expect(emulator.tokensIssued - before).toBe(2);
  });

  it('Should refuse bad credentials with an actionable, secret-free, non-retryable error', async () => {
    const wrongSecret = 'not-the-secret-7c1d2e3f';
    const { tokens, captured, metrics } = provider(emulator, manualClock(), { clientSecret: wrongSecret });

    const err = await tokenFailure(tokens.getToken());
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('TIMEBACK_CLIENT_SECRET');
    expect(err.message).toContain(emulator.clientId);
    expect(err.message).not.toContain(wrongSecret);
    expect(captured.text()).toContain('TIMEBACK_CLIENT_SECRET');
    expect(captured.text()).not.toContain(wrongSecret);
    expect(await metricValue(metrics.tokenRefreshes, { outcome: 'rejected' })).toBe(1);
  });

  it('Should not quote the credentials when the token endpoint echoes them back', async () => {
    const { tokens, captured } = provider(emulator);
    const basic = Buffer.from(`${emulator.clientId}:${SECRET}`).toString('base64');
    // An endpoint (or a proxy before it) that repeats the request in its refusal, the
    // secret near the cut so that a cut alone would leave a piece of it.
    emulator.addFault({
      route: 'token',
      status: 401,
      times: 1,
      body: {
        error: `invalid_client ${SECRET}`,
        error_description: `${'x'.repeat(190)} client_secret=${encodeURIComponent(SECRET)}; Authorization: Basic ${basic}; secret ${SECRET}`,
      },
    });

    const err = await tokenFailure(tokens.getToken());
    expect(err.message).toContain('TIMEBACK_CLIENT_SECRET');
    const logged = captured.text();
    expect(logged).toContain('TimeBack refused the client credentials');
    for (const text of [err.message, logged]) {
      for (const piece of [SECRET, 'secret-0f9e', SECRET.slice(-8), basic.slice(-16)]) {
        expect(text).not.toContain(piece);
      }
    }
  });

  it('Should not follow a redirect, so the client credentials never reach another host', async () => {
    const elsewhere = await startTimebackEmulator({ clientSecret: SECRET });
    try {
      for (const status of [302, 307, 308]) {
        emulator.addFault({ route: 'token', status, times: 1, location: `${elsewhere.url}/auth/1.0/token` });
        const { tokens } = provider(emulator);
        const err = await tokenFailure(tokens.getToken());
        expect(err.message).toContain(`HTTP ${status}`);
      }
      expect(elsewhere.requests).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });

  it('Should not re-send refused credentials for a while', async () => {
    const clock = manualClock();
    const { tokens } = provider(emulator, clock, { clientSecret: 'wrong' });
    await tokenFailure(tokens.getToken());
    const asked = emulator.count('token');

    await tokenFailure(tokens.getToken());
    expect(emulator.count('token')).toBe(asked);

    clock.advance(31_000);
    await tokenFailure(tokens.getToken());
    expect(emulator.count('token')).toBe(asked + 1);
  });

  it('Should say which variables are missing when credentials are not set', async () => {
    const before = emulator.count('token');
    const { tokens } = provider(emulator, manualClock(), { clientSecret: undefined });
    expect(tokens.configured).toBe(false);

    const err = await tokenFailure(tokens.getToken());
    expect(err.retryable).toBe(false);
    // Either variable would set the secret.
    expect(err.message).toBe('TimeBack credentials are not set: TIMEBACK_CLIENT_SECRET (or TIMEBACK_CLIENT_SECRET_FILE)');
    expect(emulator.count('token')).toBe(before);
  });

  it('Should report 5xx as retryable and recover on the next call', async () => {
    const { tokens, metrics } = provider(emulator);
    emulator.addFault({ route: 'token', status: 503, times: 1 });

    const err = await tokenFailure(tokens.getToken());
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('503');
    expect(await metricValue(metrics.tokenRefreshes, { outcome: 'unavailable' })).toBe(1);

    expect(emulator.validTokens.has(await tokens.getToken())).toBe(true);
  });

  it('Should honour Retry-After on 429', async () => {
    const clock = manualClock();
    const { tokens } = provider(emulator, clock);
    emulator.addFault({ route: 'token', status: 429, retryAfter: 5, times: 1 });

    const err = await tokenFailure(tokens.getToken());
    expect(err.retryable).toBe(true);
    expect(err.retryAfterMs).toBe(5_000);

    const asked = emulator.count('token');
    clock.advance(2_000);
    expect((await tokenFailure(tokens.getToken())).retryAfterMs).toBe(3_000);
    expect(emulator.count('token')).toBe(asked);

    clock.advance(3_000);
    expect(emulator.validTokens.has(await tokens.getToken())).toBe(true);
  });

  it("Should read a proxy's HTML and empty answers by their status", async () => {
    const clock = manualClock(Date.parse('2026-03-02T10:00:00Z'));
    const { tokens } = provider(emulator, clock);
    const page = '<html><body><h1>502 Bad Gateway</h1></body></html>';

    emulator.addFault({ route: 'token', status: 502, rawBody: page, retryAfter: 'Mon, 02 Mar 2026 10:00:30 GMT', times: 1 });
    const outage = await tokenFailure(tokens.getToken());
    expect(outage).toMatchObject({ retryable: true, retryAfterMs: 30_000 });
    expect(outage.message).not.toContain('<html');

    clock.advance(30_000);
    emulator.addFault({ route: 'token', status: 200, rawBody: '<html><body>Sign in to continue</body></html>', times: 1 });
    expect(await tokenFailure(tokens.getToken())).toMatchObject({ retryable: true, message: expect.stringContaining('without a usable access_token') });

    emulator.addFault({ route: 'token', status: 401, rawBody: '<html><body>401 Authorization Required</body></html>', times: 1 });
    const refused = await tokenFailure(tokens.getToken());
    expect(refused.retryable).toBe(false);
    expect(refused.message).toContain('check TIMEBACK_CLIENT_ID and TIMEBACK_CLIENT_SECRET');
    expect(refused.message).not.toContain('<html');

    clock.advance(31_000);
    emulator.addFault({ route: 'token', status: 400, rawBody: '', times: 1 });
    expect(await tokenFailure(tokens.getToken())).toMatchObject({ retryable: false, message: expect.stringContaining('refused the request (HTTP 400)') });
  });

  it('Should name TIMEBACK_SCOPES when a scope asked for is not granted to the app', async () => {
    const draft = await startTimebackEmulator({ clientSecret: SECRET, grantedScopes: ['https://purl.imsglobal.org/spec/caliper/v1p2/scope/events.write'] });
    try {
      const { tokens } = provider(draft);
      const err = await tokenFailure(tokens.getToken());
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/HTTP 400 invalid_scope.*check TIMEBACK_SCOPES/);
    } finally {
      await draft.close();
    }
  });

  it('Should take a token whose answer lacks events.write, saying so once per token with the scopes it has', async () => {
    const narrow = await startTimebackEmulator({ clientSecret: SECRET, grantedScopes: [ROSTER_READONLY], narrowsScopes: true });
    try {
      const { tokens, captured, clock } = provider(narrow);
      const warnings = () => captured.lines().filter((line) => line.msg === 'the TimeBack token lacks the events.write scope; TimeBack may refuse events');
      const first = await tokens.getToken();
      expect(narrow.validTokens.has(first)).toBe(true);
      expect(await tokens.getToken()).toBe(first);
      expect(warnings()).toEqual([
        expect.objectContaining({ level: 'warn', missingScope: EVENTS_WRITE_SCOPE, grantedScopes: [ROSTER_READONLY] }),
      ]);
      expect(tokens.scopeProblem()).toBe(
        `TimeBack's token grants "${ROSTER_READONLY}" but not "${EVENTS_WRITE_SCOPE}", which events need (check that the app holds that scope at TimeBack)`,
      );

      // A new token is a new answer: said again, once.
      tokens.invalidate(first);
      clock.advance(1_000);
      const second = await tokens.getToken();
      expect(second).not.toBe(first);
      expect(warnings()).toHaveLength(2);
      for (const token of [first, second, SECRET]) expect(captured.text()).not.toContain(token);
    } finally {
      await narrow.close();
    }
  });

  it('Should forget a token after a 403 only when its own answer lacked events.write', async () => {
    const narrow = await startTimebackEmulator({ clientSecret: SECRET, grantedScopes: [ROSTER_READONLY], narrowsScopes: true });
    try {
      const { tokens } = provider(narrow);
      const lacking = await tokens.getToken();
      // Not the token held: nothing to forget.
      expect(tokens.invalidateLackingScope('some-other-token')).toBe(false);
      expect(tokens.fresh()).toBe(lacking);
      expect(tokens.invalidateLackingScope(lacking)).toBe(true);
      expect(tokens.fresh()).toBeUndefined();
      // The scope fixed at TimeBack: the next token carries it, and is kept after a 403.
      narrow.grantedScopes = [EVENTS_WRITE_SCOPE, ROSTER_READONLY];
      const granted = await tokens.getToken();
      expect(granted).not.toBe(lacking);
      expect(tokens.scopeProblem()).toBeUndefined();
      expect(tokens.invalidateLackingScope(granted)).toBe(false);
      expect(tokens.fresh()).toBe(granted);
      expect(narrow.tokensIssued).toBe(2);
    } finally {
      await narrow.close();
    }

    // An answer that does not name its scopes: kept too.
    emulator.tokenFields = { scope: undefined };
    const { tokens } = provider(emulator);
    const unsaid = await tokens.getToken();
    expect(tokens.invalidateLackingScope(unsaid)).toBe(false);
    expect(tokens.fresh()).toBe(unsaid);
  });

  it('Should say nothing of scopes when the answer grants events.write or does not name its scopes', async () => {
    const granted = provider(emulator);
    await granted.tokens.getToken();
    expect(granted.tokens.scopeProblem()).toBeUndefined();

    emulator.tokenFields = { scope: undefined };
    const unsaid = provider(emulator);
    await unsaid.tokens.getToken();
    expect(unsaid.tokens.scopeProblem()).toBeUndefined();
    for (const { captured } of [granted, unsaid]) expect(captured.text()).not.toContain('events.write');
  });

  it('Should time out a token endpoint that never answers', async () => {
    const { tokens } = provider(emulator, manualClock(), {}, HANG_DEADLINE_MS);
    emulator.addFault({ route: 'token', hang: true, times: 1 });

    const err = await tokenFailure(tokens.getToken());
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('timeout');

    expect(emulator.validTokens.has(await tokens.getToken())).toBe(true);
  }, 5_000);

  it('Should cut a hanging token request at abort() and ask for none after, without logging or counting an outage', async () => {
    // The default deadline (10 s): only abort() can end this request within the test's time.
    const { tokens, captured, metrics } = provider(emulator);
    emulator.addFault({ route: 'token', hang: true });
    const pending = tokenFailure(tokens.getToken());
    await waitFor('the token request hanging', () => emulator.requests.some((r) => r.route === 'token' && r.status === 0));
    const asked = emulator.count('token');

    tokens.abort();
    const err = await pending;
    expect(err).toMatchObject({ stopped: true, retryable: true });
    const later = await tokenFailure(tokens.getToken());
    expect(later.stopped).toBe(true);
    expect(emulator.count('token')).toBe(asked);
    expect(captured.lines()).toEqual([]);
    expect(await metricValue(metrics.tokenRefreshes, { outcome: 'unavailable' })).toBe(0);
  }, 5_000);

  it('Should treat a dropped connection as retryable', async () => {
    const { tokens } = provider(emulator);
    emulator.addFault({ route: 'token', reset: true, times: 1 });

    const err = await tokenFailure(tokens.getToken());
    expect(err.retryable).toBe(true);
  });

  it('Should never log a token or the secret', async () => {
    const { tokens, captured, clock } = provider(emulator);
    const first = await tokens.getToken();
    emulator.validTokens.clear();
    tokens.invalidate(first);
    clock.advance(4000 * 1000);
    const second = await tokens.getToken();

    const logged = captured.text();
    expect(logged).toContain('obtained a TimeBack access token');
    for (const secret of [first, second, SECRET]) expect(logged).not.toContain(secret);
  });
});

describe('client-credentials token provider with TIMEBACK_CLIENT_SECRET_FILE', () => {
  const OLD = 'first-secret-4a5b6c7d';
  const NEW = 'rotated-secret-8e9fa0b1';
  const NEWER = 'again-rotated-c2d3e4f5';
  const basicOf = (secret: string) => Buffer.from(`emulator-client:${secret}`).toString('base64');
  let rotating: TimebackEmulator;
  let secretFile: string;

  beforeAll(async () => {
    rotating = await startTimebackEmulator({ clientSecret: OLD, tokenTtlSeconds: 3600 });
  });
  afterAll(async () => {
    await rotating.close();
  });

  function fileProvider(clock: ManualClock) {
    secretFile = join(temp.dir, `secret-${Math.random().toString(36).slice(2)}`);
    // As `echo` writes it: the newline is not part of the secret.
    writeFileSync(secretFile, `${OLD}\n`);
    rotating.clientSecret = OLD;
    const config = parseConfig({
      TIMEBACK_BASE_URL: rotating.url,
      TIMEBACK_CLIENT_ID: rotating.clientId,
      TIMEBACK_CLIENT_SECRET_FILE: secretFile,
      LOG_LEVEL: 'silent',
    });
    config.timeback.tokenTimeoutMs = 2_000;
    const captured = captureLog();
    const metrics = createMetrics();
    const tokens = createTokenProvider({ config, log: captured.log, metrics, now: clock.now });
    open.push(tokens);
    return { tokens, captured, metrics };
  }

  it('Should take up a secret rotated in the file without a restart, and never log it', async () => {
    const clock = manualClock();
    const { tokens, captured, metrics } = fileProvider(clock);
    const first = await tokens.getToken();

    // Rotated at TimeBack first: its tokens stop working, the file still holds the old secret.
    rotating.clientSecret = NEW;
    rotating.validTokens.clear();
    tokens.invalidate(first);
    const refused = await tokenFailure(tokens.getToken());
    expect(refused.retryable).toBe(false);
    expect(refused.message).toContain('check TIMEBACK_CLIENT_ID and TIMEBACK_CLIENT_SECRET_FILE');
    // The same file: the refused secret is not sent again during the cooldown.
    const asked = rotating.count('token');
    clock.advance(1_000);
    await tokenFailure(tokens.getToken());
    expect(rotating.count('token')).toBe(asked);

    // The mounted secret is updated: the next call asks with it, without waiting out the cooldown.
    writeFileSync(secretFile, `${NEW}\n`);
    clock.advance(1_000);
    const second = await tokens.getToken();
    expect(rotating.validTokens.has(second)).toBe(true);
    expect(rotating.count('token')).toBe(asked + 1);
    expect(captured.lines()).toContainEqual(
      expect.objectContaining({ level: 'info', file: secretFile, msg: 'TIMEBACK_CLIENT_SECRET_FILE holds a new secret; token requests use it from now on' }),
    );

    // Rotated in the file and at TimeBack together: the next refresh reads it, and is not refused.
    writeFileSync(secretFile, NEWER);
    rotating.clientSecret = NEWER;
    clock.advance(3_600_000);
    const third = await tokens.getToken();
    expect(rotating.validTokens.has(third)).toBe(true);
    expect(await metricValue(metrics.tokenRefreshes, { outcome: 'rejected' })).toBe(1);

    const logged = captured.text();
    for (const secret of [OLD, NEW, NEWER, basicOf(OLD), basicOf(NEW), basicOf(NEWER), first, second, third]) {
      expect(logged).not.toContain(secret);
    }
  });

  it('Should keep the secret it has when the file cannot be read again, saying so once', async () => {
    const clock = manualClock();
    const { tokens, captured } = fileProvider(clock);
    const first = await tokens.getToken();

    rmSync(secretFile);
    for (let i = 0; i < 2; i += 1) {
      rotating.validTokens.clear();
      tokens.invalidate(await tokens.getToken());
      clock.advance(1_000);
    }
    const after = await tokens.getToken();
    expect(after).not.toBe(first);
    expect(rotating.validTokens.has(after)).toBe(true);
    const warnings = captured.lines().filter((line) => line.msg === 'cannot re-read TIMEBACK_CLIENT_SECRET_FILE; the secret read before is still used');
    expect(warnings).toEqual([expect.objectContaining({ level: 'warn', problem: `cannot read ${secretFile} (ENOENT)` })]);
    expect(captured.text()).not.toContain(OLD);
  });
});
