import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.ts';
import { startTimebackEmulator } from '../src/dev/timeback-emulator.ts';
import { createLogger } from '../src/log.ts';
import { startGateway } from '../src/server.ts';
import { envelope, sessionEvent } from './helpers/caliper-events.ts';

const capture = () => {
  const lines: string[] = [];
  return { lines, log: createLogger('trace', { write: (line: string) => void lines.push(line) }) };
};

describe('createLogger', () => {
  it('redacts secrets by key wherever they sit in a logged object', () => {
    const { lines, log } = capture();
    log.info(
      {
        authorization: 'Bearer top-level-secret',
        headers: { Authorization: 'raw-header-secret' },
        config: { ingestApiKeys: ['ingest-key-secret'], adminToken: 'admin-token-secret', timeback: { clientSecret: 'client-secret-value' } },
        response: { access_token: 'access-token-value', token: 'token-value' },
        // Each other key that names a secret, as callers spell them.
        request: { client_secret: 'form-secret-value', apiKey: 'api-key-value', apiKeys: ['api-keys-value'] },
        session: { accessToken: 'camel-token-value', password: 'password-value' },
      },
      'with secrets',
    );
    const text = lines.join('');
    for (const secret of [
      'top-level-secret',
      'raw-header-secret',
      'ingest-key-secret',
      'admin-token-secret',
      'client-secret-value',
      'access-token-value',
      'token-value',
      'form-secret-value',
      'api-key-value',
      'api-keys-value',
      'camel-token-value',
      'password-value',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(JSON.parse(text)).toMatchObject({ authorization: '[redacted]', headers: { Authorization: '[redacted]' } });
  });

  it('leaves the logged object as it was, keeps an error an error, and redacts a child logger\'s bindings', () => {
    const { lines, log } = capture();
    const headers = { authorization: 'Bearer header-secret', accept: 'application/json' };
    const err = Object.assign(new Error('token endpoint said no'), { response: { access_token: 'error-token-secret', status: 401 } });
    log.child({ request: { token: 'binding-secret' } }).warn({ headers, err }, 'refused');

    expect(headers.authorization).toBe('Bearer header-secret');
    expect(err.response.access_token).toBe('error-token-secret');
    const text = lines.join('');
    for (const secret of ['header-secret', 'error-token-secret', 'binding-secret']) expect(text).not.toContain(secret);
    expect(JSON.parse(text)).toMatchObject({
      request: { token: '[redacted]' },
      headers: { authorization: '[redacted]', accept: 'application/json' },
      err: { type: 'Error', message: 'token endpoint said no', response: { access_token: '[redacted]', status: 401 } },
    });
    expect((JSON.parse(text) as { err: { stack: string } }).err.stack).toContain('token endpoint said no');
  });
});

describe('the gateway log', () => {
  it('writes one JSON line per request with status and event count, and never a key or secret', { timeout: 20_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caliper-gateway-log-'));
    const secrets = {
      INGEST_API_KEYS: 'ingest-key-aaaa1111,ingest-key-bbbb2222',
      ADMIN_TOKEN: 'admin-token-cccc3333dddd',
      TIMEBACK_CLIENT_ID: 'client-id-eeee',
      TIMEBACK_CLIENT_SECRET: 'client-secret-ffff4444',
      TIMEBACK_APP_ID: '5e7c1f0a-8b2d-4c3e-9f1a-2b3c4d5e6f70',
    };
    // TimeBack is the emulator on loopback: the default TIMEBACK_BASE_URL is the real platform,
    // which translation's roster lookups would otherwise ask for a token.
    const emulator = await startTimebackEmulator({ clientId: secrets.TIMEBACK_CLIENT_ID, clientSecret: secrets.TIMEBACK_CLIENT_SECRET });
    const config = parseConfig({ DB_PATH: join(dir, 'gateway.db'), HOST: '127.0.0.1', PORT: '0', TIMEBACK_BASE_URL: emulator.url, ...secrets });
    const { lines, log } = capture();
    // A write waits 100 ms for a lock another process holds (5 s by default), then fails.
    const gateway = await startGateway(config, { log, writeLockWaitMs: 100 });
    const post = (authorization: string, body: unknown) =>
      fetch(`${gateway.url}/caliper`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    try {
      expect((await post('ingest-key-aaaa1111', envelope([sessionEvent(), sessionEvent()]))).status).toBe(200);
      expect((await post('Bearer ingest-key-bbbb2222', envelope([sessionEvent()]))).status).toBe(200);
      expect((await post('Bearer wrong-key-gggg5555', envelope([sessionEvent()]))).status).toBe(401);
      expect((await post('ingest-key-aaaa1111', { sensor: 'x' })).status).toBe(400);
      expect((await fetch(`${gateway.url}/admin/events`, { headers: { authorization: 'Bearer admin-guess-hhhh6666' } })).status).toBe(401);
      // A student's Learn id in the path is not a secret, but it is theirs.
      const forget = await fetch(`${gateway.url}/admin/roster-cache/jstudent-iiii7777`, {
        method: 'DELETE',
        headers: { authorization: 'Bearer admin-token-cccc3333dddd' },
      });
      expect(forget.status).toBe(404);
      // Another process holds the write lock for longer than a commit waits.
      const locker = new Database(gateway.store.file);
      locker.exec('BEGIN IMMEDIATE');
      try {
        expect((await post('ingest-key-aaaa1111', envelope([sessionEvent()]))).status).toBe(503);
      } finally {
        locker.exec('ROLLBACK');
        locker.close();
      }
    } finally {
      await gateway.close();
      await emulator.close();
      rmSync(dir, { recursive: true, force: true });
    }

    const text = lines.join('');
    const tokens = [...emulator.validTokens];
    for (const secret of ['aaaa1111', 'bbbb2222', 'cccc3333', 'client-secret-ffff4444', 'gggg5555', 'hhhh6666', 'iiii7777', ...tokens]) {
      expect(text).not.toContain(secret);
    }
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = entries.filter((entry) => entry.msg === 'request');
    expect(requests.map((entry) => [entry.method, entry.path, entry.status, entry.events, entry.error])).toEqual([
      ['POST', '/caliper', 200, 2, undefined],
      ['POST', '/caliper', 200, 1, undefined],
      ['POST', '/caliper', 401, undefined, 'unauthorized'],
      ['POST', '/caliper', 400, undefined, 'invalid-envelope'],
      ['GET', '/admin/events', 401, undefined, 'unauthorized'],
      ['DELETE', '/admin/roster-cache/:externalId', 404, undefined, 'not-cached'],
      ['POST', '/caliper', 503, 1, 'store-unavailable'],
    ]);
    // Learn shows its admin nothing of what it was told, so the log says which field was wrong;
    // an admin route's message, which can name a student, stays out (checked above).
    expect(requests[3]).toMatchObject({ reason: 'sendTime: expected an ISO 8601 date-time string (and 2 more problems, at dataVersion, data)' });
    expect(requests[5]!.reason).toBeUndefined();
  });
});
