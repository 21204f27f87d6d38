import { describe, expect, it } from 'vitest';
import { EVENTS_WRITE_SCOPE } from '../../src/config.ts';
import { credentialRemover, grantedScopes, lifetimeSeconds, missingEventsScope, readTokenAnswer, type TokenEndpoint } from '../../src/timeback/token-answer.ts';

const ASKED = Date.parse('2026-03-02T10:00:00.000Z');
const ANSWERED = ASKED + 300;
const SECRET = 'very secret/value';
const ROSTER = 'https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly';
const BASIC = Buffer.from(`client-a:${SECRET}`, 'utf8').toString('base64');

const endpoint: TokenEndpoint = {
  tokenUrl: 'http://127.0.0.1:9/auth/1.0/token',
  clientId: 'client-a',
  scopes: ['events.write', 'roster.read'],
  secretSetting: 'TIMEBACK_CLIENT_SECRET',
  withoutCredentials: credentialRemover(BASIC, SECRET),
};

/** An unsigned JWT: only its `exp` is read, never its signature. */
function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(claims)}.sig`;
}

const read = (status: number, body: unknown, retryAfter?: string) =>
  readTokenAnswer(status, retryAfter, typeof body === 'string' ? body : JSON.stringify(body), ASKED, ANSWERED, endpoint);

describe('readTokenAnswer', () => {
  it('takes expires_in as the lifetime, counted from when the token was asked for', () => {
    expect(read(200, { access_token: 'opaque', expires_in: 3600 })).toEqual({ kind: 'token', value: 'opaque', expiresAt: ASKED + 3_600_000 });
  });

  it("counts expires_in from when we asked, not from a JWT's exp read by our clock (the clocks may disagree)", () => {
    // Issued by a TimeBack whose clock runs 90 s ahead of ours, or 50 min behind.
    for (const skew of [90_000, -50 * 60_000]) {
      const issued = (ASKED + skew) / 1000;
      const token = jwt({ iat: issued, exp: issued + 3600 });
      expect({ skew, answer: read(200, { access_token: token, expires_in: 3600 }) }).toEqual({
        skew,
        answer: { kind: 'token', value: token, expiresAt: ASKED + 3_600_000 },
      });
    }
  });

  it("takes the JWT's own lifetime (exp less iat) when it is shorter than expires_in, or expires_in is not said", () => {
    const issued = (ASKED + 90_000) / 1000;
    const token = jwt({ iat: issued, exp: issued + 600 });
    expect(read(200, { access_token: token, expires_in: 3600 })).toMatchObject({ expiresAt: ASKED + 600_000 });
    expect(read(200, { access_token: token })).toMatchObject({ expiresAt: ASKED + 600_000 });
    // A JWT that says it lives longer does not lengthen expires_in.
    expect(read(200, { access_token: jwt({ iat: issued, exp: issued + 7200 }), expires_in: 3600 })).toMatchObject({ expiresAt: ASKED + 3_600_000 });
  });

  it('ignores an exp already past by our clock (the clocks disagree)', () => {
    const token = jwt({ exp: (ASKED - 1_000) / 1000 });
    expect(read(200, { access_token: token, expires_in: 60 })).toMatchObject({ expiresAt: ASKED + 60_000 });
    expect(read(200, { access_token: token })).toMatchObject({ expiresAt: ASKED + 300_000 });
  });

  it('with an exp alone (no iat, no expires_in), keeps the token until then, but never less than the five minutes assumed', () => {
    expect(read(200, { access_token: jwt({ exp: (ASKED + 1_800_000) / 1000 }) })).toMatchObject({ expiresAt: ASKED + 1_800_000 });
    // A second away by our clock: a clock ahead of TimeBack's, more likely than a token issued to live a second.
    expect(read(200, { access_token: jwt({ exp: (ASKED + 1_000) / 1000 }) })).toMatchObject({ expiresAt: ASKED + 300_000 });
  });

  it('reads no lifetime from claims that are no numbers, or an exp not after iat', () => {
    expect(read(200, { access_token: jwt({ iat: 'soon', exp: 'later' }), expires_in: 60 })).toMatchObject({ expiresAt: ASKED + 60_000 });
    expect(read(200, { access_token: jwt({ iat: ASKED / 1000, exp: ASKED / 1000 }) })).toMatchObject({ expiresAt: ASKED + 300_000 });
    expect(read(200, { access_token: 'not.a.jwt', expires_in: 60 })).toMatchObject({ expiresAt: ASKED + 60_000 });
  });

  it('assumes five minutes when no lifetime is said, and never keeps a token beyond a day', () => {
    expect(read(200, { access_token: 'opaque' })).toMatchObject({ expiresAt: ASKED + 300_000 });
    expect(read(200, { access_token: 'opaque', expires_in: 10 * 365 * 86_400 })).toMatchObject({ expiresAt: ASKED + 86_400_000 });
  });

  it('calls a 2xx without a usable access_token unavailable, not refused', () => {
    const answer = read(200, { token: 'x' });
    expect(answer.kind).toBe('unavailable');
    if (answer.kind === 'unavailable') {
      expect(answer.error.retryable).toBe(true);
      expect(answer.error.message).toBe(`TimeBack's token endpoint ${endpoint.tokenUrl} answered 200 without a usable access_token`);
    }
  });

  it('calls 5xx, 408 and 429 unavailable, with their Retry-After', () => {
    for (const status of [408, 429, 500, 503]) {
      const answer = read(status, 'busy', '7');
      expect(answer.kind).toBe('unavailable');
      if (answer.kind === 'unavailable') {
        expect(answer.error.retryAfterMs).toBe(7_000);
        expect(answer.error.message).toBe(`TimeBack's token endpoint ${endpoint.tokenUrl} is unavailable (HTTP ${status}); will retry`);
      }
    }
  });

  it('words a refused client for the admin, without our credentials even when the endpoint echoes them', () => {
    const answer = read(401, { error: 'invalid_client', error_description: `bad Basic ${BASIC} or ${SECRET} or ${encodeURIComponent(SECRET)}` });
    expect(answer.kind).toBe('rejected');
    if (answer.kind === 'rejected') {
      expect(answer.error.retryable).toBe(false);
      expect(answer.error.message).toBe(
        'TimeBack refused the client credentials for client id "client-a" (HTTP 401 invalid_client: bad Basic [redacted] or [redacted] or [redacted]); check TIMEBACK_CLIENT_ID and TIMEBACK_CLIENT_SECRET',
      );
    }
  });

  it('reads the scopes the answer grants, and none when it does not say', () => {
    expect(read(200, { access_token: 'opaque', expires_in: 60, scope: `${EVENTS_WRITE_SCOPE} ${ROSTER}` })).toEqual({
      kind: 'token',
      value: 'opaque',
      expiresAt: ASKED + 60_000,
      scopes: [EVENTS_WRITE_SCOPE, ROSTER],
    });
    expect(read(200, { access_token: 'opaque', expires_in: 60 })).not.toHaveProperty('scopes');
  });

  it('points a scope refusal at TIMEBACK_SCOPES and a missing endpoint at TIMEBACK_TOKEN_URL', () => {
    const scope = read(400, { error: 'invalid_scope' });
    const missing = read(404, 'not here');
    expect(scope.kind === 'rejected' && scope.error.message).toContain('scopes "events.write roster.read"');
    expect(scope.kind === 'rejected' && scope.error.message).toContain('check TIMEBACK_SCOPES');
    expect(missing.kind === 'rejected' && missing.error.message).toBe(`No OAuth token endpoint at ${endpoint.tokenUrl} (HTTP 404); check TIMEBACK_TOKEN_URL`);
  });
});

describe('lifetimeSeconds', () => {
  it('reads a positive number, also written as text', () => {
    expect(lifetimeSeconds(3600)).toBe(3600);
    expect(lifetimeSeconds(' 90 ')).toBe(90);
  });

  it.each([undefined, null, 0, -5, '', 'soon', Number.POSITIVE_INFINITY])('takes %s as not said', (value) => {
    expect(lifetimeSeconds(value)).toBeUndefined();
  });
});

describe('grantedScopes', () => {
  it('splits a space-separated list, however spaced, and reads a list of strings too', () => {
    expect(grantedScopes(`  ${EVENTS_WRITE_SCOPE}\t ${ROSTER} `)).toEqual([EVENTS_WRITE_SCOPE, ROSTER]);
    expect(grantedScopes([ROSTER, ' '])).toEqual([ROSTER]);
  });

  it.each([undefined, null, '', '   ', 42, [ROSTER, 7], { scope: ROSTER }])('takes %s as not said', (value) => {
    expect(grantedScopes(value)).toBeUndefined();
  });
});

describe('missingEventsScope', () => {
  const asked = [EVENTS_WRITE_SCOPE, ROSTER];

  it('says nothing when the token has events.write or its answer names no scopes', () => {
    expect(missingEventsScope([ROSTER, EVENTS_WRITE_SCOPE], asked)).toBeUndefined();
    expect(missingEventsScope(undefined, asked)).toBeUndefined();
  });

  it('names the missing scope, the ones granted, and what to check', () => {
    expect(missingEventsScope([ROSTER], asked)).toBe(
      `TimeBack's token grants "${ROSTER}" but not "${EVENTS_WRITE_SCOPE}", which events need (check that the app holds that scope at TimeBack)`,
    );
    // A short form is not the scope TimeBack documents: said, though it may well work.
    expect(missingEventsScope(['events.write'], asked)).toContain('grants "events.write" but not');
  });

  it('points at TIMEBACK_SCOPES when the gateway did not ask for it', () => {
    expect(missingEventsScope([ROSTER], [ROSTER])).toMatch(/\(TIMEBACK_SCOPES does not ask for it\)$/);
  });
});
