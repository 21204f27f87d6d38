/**
 * Requests Node's HTTP parser refuses before the app sees them (client-errors.ts), sent over a
 * raw socket to the real server: the gateway's JSON error, the connection closed, a warning.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.ts';
import { startLoopbackGateway, type LoopbackGateway } from './helpers/loopback-gateway.ts';
import { waitFor } from './helpers/wait-for.ts';
import { openWire, requestHead } from './helpers/wire.ts';

const KEY = 'client-errors-key-5b2e';

let running: LoopbackGateway | undefined;
const logs: string[] = [];
afterEach(async () => {
  await running?.close();
  running = undefined;
  logs.length = 0;
});

describe('requests Node refuses before the app sees them', () => {
  const parsedLogs = () => logs.map((text) => JSON.parse(text) as Record<string, unknown>);
  const cases: Array<[string, Record<string, string | number>, number, string, string]> = [
    ['headers over 16 KB', { 'X-Forwarded-For': '10.0.0.1, '.repeat(2_000) }, 431, 'headers-too-large', 'HPE_HEADER_OVERFLOW'],
    ['both Content-Length and Transfer-Encoding', { 'Content-Length': 5, 'Transfer-Encoding': 'chunked' }, 400, 'malformed-http', 'HPE_INVALID_TRANSFER_ENCODING'],
  ];
  for (const [what, headers, status, code, parserError] of cases) {
    it(`${what}: ${status} with a JSON error, the connection closed, and a warning in the log`, async () => {
      running = await startLoopbackGateway({
        key: KEY,
        maxBodyBytes: 64 * 1024,
        dirPrefix: 'caliper-gateway-client-errors',
        log: createLogger('debug', { write: (line: string) => void logs.push(line) }),
      });
      const { url } = running.gateway;
      const wire = await openWire(url);
      wire.write(requestHead(url, 'POST /caliper HTTP/1.1', { Authorization: KEY, 'Content-Type': 'application/json', ...headers }));
      const [answer] = await wire.waitForResponses(1);
      expect(answer!.status).toBe(status);
      expect(answer!.headers['content-type']).toBe('application/json');
      // As every answer the app gives (app.ts): a browser must not sniff the body into HTML.
      expect(answer!.headers['x-content-type-options']).toBe('nosniff');
      expect(JSON.parse(answer!.body)).toMatchObject({ error: { code } });
      await wire.serverClosed;
      expect(parsedLogs().find((entry) => entry.code === code)).toMatchObject({ level: 'warn', status, parserError });
      // The warning names the problem, never what was sent.
      expect(logs.join('')).not.toContain('10.0.0.1');
    });
  }

  it('reads and drops what the refused sender still writes after the answer, then closes in order (no reset)', async () => {
    running = await startLoopbackGateway({
      key: KEY,
      maxBodyBytes: 64 * 1024,
      dirPrefix: 'caliper-gateway-client-errors',
      log: createLogger('debug', { write: (line: string) => void logs.push(line) }),
    });
    const { url } = running.gateway;
    // Half-open, as a sender still uploading: our side stays open after the gateway's FIN.
    const socket = connect({ port: Number(new URL(url).port), host: '127.0.0.1', allowHalfOpen: true });
    let received = '';
    let failure: string | undefined;
    socket.setEncoding('latin1').on('data', (text: string) => (received += text));
    socket.on('error', (error: NodeJS.ErrnoException) => (failure = error.code));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(requestHead(url, 'POST /caliper HTTP/1.1', { Authorization: KEY, 'X-Pad': 'a'.repeat(20_000) }));
    await waitFor('the 431', () => received.includes('"headers-too-large"'));
    for (let i = 0; i < 32; i += 1) {
      await new Promise<void>((resolve) => socket.write(Buffer.alloc(16 * 1024, 0x61), () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    socket.end();
    await closed;
    expect(failure).toBeUndefined();
    expect(received.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(parsedLogs().filter((entry) => entry.code === 'headers-too-large')).toHaveLength(1);
  });
});
