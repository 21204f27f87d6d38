/**
 * A refusal sent before the request's body was read (413 for a declared size over the limit,
 * 401, 415; 431 and 400 from Node's parser) must reach the sender even while its body is still arriving. The server hangs up
 * after such an answer; closed with the body unread, the socket was reset and the answer could
 * be lost (the sender saw a network error and sent the same body again). In the gateway
 * process, on loopback, each refusal is sent many times with a real body behind it.
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.ts';
import { createLingeringClose, type LingerLimits, type LingeringClose } from '../src/lingering-close.ts';
import { createLogger } from '../src/log.ts';
import { startGateway } from '../src/server.ts';
import { waitFor } from './helpers/wait-for.ts';
import { killGatewayProcesses, startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.ts';
import { makeTempDir, type TempDir } from './helpers/identity-harness.ts';
import { rawRequest, type RawRequest } from './helpers/raw-http.ts';

const INGEST_KEY = 'lingering-close-ingest-key-71c4';
const ADMIN_TOKEN = 'lingering-close-admin-token-0d93e2b85a';
const MAX_BODY_BYTES = 1024 * 1024;
/** Sent back to back, then in batches of this many at once. */
const TIMES = 50;
const AT_ONCE = 10;

let temp: TempDir;
let gateway: GatewayProcess;

beforeAll(async () => {
  temp = makeTempDir('lingering-close');
  gateway = await startGatewayProcess({
    DB_PATH: `${temp.dir}/gateway.db`,
    INGEST_API_KEYS: INGEST_KEY,
    ADMIN_TOKEN,
    MAX_BODY_BYTES: String(MAX_BODY_BYTES),
    // Every wrong key must get its own 401, not a 429.
    AUTH_FAILURE_LIMIT: '0',
  });
}, 30_000);

afterAll(async () => {
  await killGatewayProcesses();
  temp.remove();
});

/** A JSON body of `bytes` bytes. */
const jsonBody = (bytes: number) => Buffer.from(`{"pad":"${'x'.repeat(bytes - 10)}"}`, 'utf8');

const cases: Array<{ name: string; request: RawRequest; status: number; code: string }> = [
  {
    name: 'POST /caliper, 4 MiB sent against a 1 MiB MAX_BODY_BYTES',
    request: { path: '/caliper', headers: [['Authorization', `Bearer ${INGEST_KEY}`], ['Content-Type', 'application/json']], body: jsonBody(4 * MAX_BODY_BYTES) },
    status: 413,
    code: 'payload-too-large',
  },
  {
    name: 'POST /admin/replay, 3 MiB sent against its 1 MiB limit',
    request: { path: '/admin/replay', headers: [['Authorization', `Bearer ${ADMIN_TOKEN}`], ['Content-Type', 'application/json']], body: jsonBody(3 * 1024 * 1024) },
    status: 413,
    code: 'payload-too-large',
  },
  {
    name: 'POST /caliper with a wrong key and 1 MiB sent, no Expect',
    request: { path: '/caliper', headers: [['Authorization', 'Bearer not-the-key'], ['Content-Type', 'application/json']], body: jsonBody(MAX_BODY_BYTES) },
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'POST /caliper as text/plain, 1 MiB sent',
    request: { path: '/caliper', headers: [['Authorization', `Bearer ${INGEST_KEY}`], ['Content-Type', 'text/plain']], body: jsonBody(MAX_BODY_BYTES) },
    status: 415,
    code: 'unsupported-media-type',
  },
  {
    name: 'POST /admin/replay with a wrong token and 1 MiB sent, no Expect',
    request: { path: '/admin/replay', headers: [['Authorization', 'Bearer not-the-token'], ['Content-Type', 'application/json']], body: jsonBody(MAX_BODY_BYTES) },
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'POST /caliper with 20 KB of headers (over Node\'s 16 KB), then 4 MiB more',
    request: { path: '/caliper', headers: [['X-Pad', 'a'.repeat(20_000)]], framing: 'none', body: jsonBody(4 * MAX_BODY_BYTES) },
    status: 431,
    code: 'headers-too-large',
  },
  {
    name: 'POST /caliper with two different Content-Lengths (not valid HTTP), then 4 MiB more',
    request: { path: '/caliper', headers: [['Content-Length', '1'], ['Content-Length', '2']], framing: 'none', body: jsonBody(4 * MAX_BODY_BYTES) },
    status: 400,
    code: 'malformed-http',
  },
];

/** What went wrong with one attempt, or undefined when the sender got the refusal and its JSON body. */
async function attempt(testCase: (typeof cases)[number]): Promise<string | undefined> {
  try {
    const response = await rawRequest(gateway.url, testCase.request);
    if (response.status !== testCase.status) return `status ${response.status}`;
    const code = (JSON.parse(response.body) as { error?: { code?: unknown } }).error?.code;
    return code === testCase.code ? undefined : `code ${String(code)}`;
  } catch (error) {
    return (error as Error).message;
  }
}

describe('a refusal of a body the gateway does not read', () => {
  for (const testCase of cases) {
    it(`reaches every sender: ${testCase.name}`, { timeout: 60_000 }, async () => {
      const failures: string[] = [];
      for (let i = 0; i < TIMES; i += 1) {
        const problem = await attempt(testCase);
        if (problem) failures.push(`alone #${i + 1}: ${problem}`);
      }
      for (let i = 0; i < TIMES; i += AT_ONCE) {
        const problems = await Promise.all(Array.from({ length: AT_ONCE }, () => attempt(testCase)));
        problems.forEach((problem, j) => problem && failures.push(`together #${i + j + 1}: ${problem}`));
      }
      expect(failures).toEqual([]);
      // The gateway is still there and still answers.
      expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    });
  }
});

/**
 * A keep-alive sender (no `Connection` header, no `Expect`) that declares `declared` bytes
 * and pours them as fast as the gateway takes them, stopping only when the gateway hangs up
 * (as a sender that does not read the answer while it uploads): what it managed to send is
 * what the gateway read for a request it refused.
 */
async function pouringKeepAliveSender(
  path: string,
  headers: string,
  declared: number,
): Promise<{ answer: string; sent: number; hungUp: boolean; servedAfter?: string }> {
  const url = new URL(gateway.url);
  const socket = connect({ port: Number(url.port), host: url.hostname });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  let hungUp = false;
  const gone = new Promise<void>((resolve) => {
    const onGone = () => {
      hungUp = true;
      resolve();
    };
    socket.once('end', onGone);
    socket.once('close', onGone);
    // Writing to a connection the gateway closed: EPIPE or ECONNRESET (maybe both).
    socket.on('error', onGone);
  });
  socket.write(`POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\n${headers}Content-Length: ${declared}\r\n\r\n`);
  const piece = Buffer.alloc(64 * 1024, 0x20);
  let sent = 0;
  while (sent < declared && !hungUp) {
    const size = Math.min(piece.length, declared - sent);
    sent += size;
    if (!socket.write(piece.subarray(0, size))) await Promise.race([gone, new Promise((resolve) => socket.once('drain', resolve))]);
  }
  let servedAfter: string | undefined;
  if (!hungUp) {
    // All of it sent and the connection still open: the gateway read and dropped the whole
    // body, and serves the next request on it.
    const before = Buffer.concat(received).length;
    socket.write(`GET /healthz HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
    await waitFor('the next answer, or the gateway hanging up', () => Buffer.concat(received).length > before || hungUp);
    servedAfter = Buffer.concat(received).subarray(before).toString('latin1').split('\r\n')[0] || undefined;
  }
  socket.destroy();
  return { answer: Buffer.concat(received).toString('latin1'), sent, hungUp, servedAfter };
}

describe('a refusal answered before reading the body of a keep-alive sender', () => {
  const refusals = [
    { name: 'POST /caliper with a wrong key', path: '/caliper', headers: 'Authorization: Bearer not-the-key\r\nContent-Type: application/json\r\n', status: 401 },
    { name: 'POST /caliper as text/plain', path: '/caliper', headers: `Authorization: Bearer ${INGEST_KEY}\r\nContent-Type: text/plain\r\n`, status: 415 },
    { name: 'POST /admin/replay with a wrong token', path: '/admin/replay', headers: 'Authorization: Bearer not-the-token\r\nContent-Type: application/json\r\n', status: 401 },
  ];
  // Four times the most a linger reads (LINGER_MAX_BYTES): kept alive, the gateway read all of it.
  const POURED_BYTES = 64 * 1024 * 1024;
  it('hangs up (Connection: close, then a lingering close) instead of reading the whole declared body', { timeout: 60_000 }, async () => {
    const results = await Promise.all(refusals.map(({ path, headers }) => pouringKeepAliveSender(path, headers, POURED_BYTES)));
    refusals.forEach(({ name, status }, i) => {
      const { answer, sent, hungUp, servedAfter } = results[i]!;
      expect(answer, name).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect({ name, hungUp, servedAfter, sentAll: sent === POURED_BYTES }).toEqual({ name, hungUp: true, servedAfter: undefined, sentAll: false });
      expect(answer.split('\r\n\r\n')[0]!.toLowerCase(), name).toContain('connection: close');
    });
  });

  it('keeps the connection of a refusal whose small body had all arrived, and of one with no body', async () => {
    const url = new URL(gateway.url);
    const socket = connect({ port: Number(url.port), host: url.hostname });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let received = '';
    socket.setEncoding('latin1').on('data', (text: string) => (received += text));
    try {
      const body = '{"data":[]}';
      socket.write(`POST /caliper HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer not-the-key\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      await waitFor('the 401', () => received.includes('"unauthorized"'));
      socket.write(`GET /admin/stats HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer not-the-token\r\n\r\n`);
      await waitFor('the second 401', () => received.split('"unauthorized"').length === 3);
      socket.write(`GET /healthz HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
      await waitFor('the /healthz answer', () => received.split('HTTP/1.1 ').length === 4);
      const statuses = received.split('HTTP/1.1 ').slice(1).map((response) => response.slice(0, 3));
      expect(statuses).toEqual(['401', '401', '200']);
      expect(received.toLowerCase()).not.toContain('connection: close');
    } finally {
      socket.destroy();
    }
  });
});

/** A server that refuses every request unread, with `Connection: close`, as the gateway's 413 does. */
async function refusingServer(
  limits: Partial<LingerLimits>,
): Promise<{ server: Server; port: number; lingering: LingeringClose; closed: Promise<void>; served: () => number }> {
  const lingering = createLingeringClose(limits);
  let serverSideClosed!: () => void;
  const closed = new Promise<void>((resolve) => (serverSideClosed = resolve));
  let served = 0;
  const server = createServer((request, response) => {
    if (request.socket.destroyed) return;
    served += 1;
    request.socket.once('close', serverSideClosed);
    response.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
    response.end('{"error":{"code":"payload-too-large","message":"too large"}}');
  });
  // As server.ts does: before the handler, so that it can drop a request sent on a lingering connection.
  server.prependListener('request', (request) => lingering.watch(request));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, lingering, closed, served: () => served };
}

/**
 * A sender that declares `declared` bytes, sends `first` of them at once, and keeps its side
 * open when the server half-closes (as a sender still uploading does).
 */
async function sender(port: number, declared: number, first: Buffer, authorization = ''): Promise<{ socket: Socket; answer: Promise<string> }> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.on('error', () => socket.destroy());
  const answer = new Promise<string>((resolve) => {
    socket.once('end', () => resolve(Buffer.concat(received).toString('latin1')));
    socket.once('close', () => resolve(Buffer.concat(received).toString('latin1')));
  });
  socket.write(`POST /caliper HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${authorization}Content-Length: ${declared}\r\n\r\n`);
  socket.write(first);
  return { socket, answer };
}

const A_MINUTE = 60_000;

describe('the bounds of a lingering close', () => {
  it('answers, then reads until the sender hangs up: the sender gets the answer and an orderly close', async () => {
    const { server, port, lingering, closed } = await refusingServer({});
    try {
      const { socket, answer } = await sender(port, 4 * MAX_BODY_BYTES, jsonBody(2 * MAX_BODY_BYTES));
      expect(await answer).toMatch(/^HTTP\/1\.1 413 [^]*payload-too-large/);
      expect(lingering.count).toBe(1);
      socket.end();
      await closed;
      expect(lingering.count).toBe(0);
    } finally {
      server.close();
    }
  });

  it('does not serve a request sent after the refused body on the same connection', async () => {
    const { server, port, closed, served } = await refusingServer({ ms: A_MINUTE, idleMs: A_MINUTE });
    const { socket, answer } = await sender(port, 10, Buffer.from('{"a'));
    try {
      expect(await answer).toMatch(/^HTTP\/1\.1 413 /);
      socket.write('":123}\r\nGET /again HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await closed;
      expect(served()).toBe(1);
    } finally {
      socket.destroy();
      server.close();
    }
  });

  it('ends a sender that trickles a byte now and then at the total bound (slowloris), never at the idle one', { timeout: 20_000 }, async () => {
    const { server, port, lingering, closed } = await refusingServer({ ms: 300, idleMs: A_MINUTE });
    const { socket, answer } = await sender(port, 4 * MAX_BODY_BYTES, Buffer.from('{'));
    const trickle = setInterval(() => socket.writable && socket.write(' '), 20);
    try {
      expect(await answer).toMatch(/^HTTP\/1\.1 413 /);
      await closed;
      expect(lingering.count).toBe(0);
    } finally {
      clearInterval(trickle);
      socket.destroy();
      server.close();
    }
  });

  it('ends a sender that goes quiet at the idle bound', { timeout: 20_000 }, async () => {
    const { server, port, lingering, closed } = await refusingServer({ ms: A_MINUTE, idleMs: 200 });
    const { socket, answer } = await sender(port, 4 * MAX_BODY_BYTES, Buffer.from('{'));
    try {
      expect(await answer).toMatch(/^HTTP\/1\.1 413 /);
      await closed;
      expect(lingering.count).toBe(0);
    } finally {
      socket.destroy();
      server.close();
    }
  });

  it('ends a sender that keeps pouring once the byte bound is read', { timeout: 20_000 }, async () => {
    const { server, port, lingering, closed } = await refusingServer({ ms: A_MINUTE, idleMs: A_MINUTE, maxBytes: 64 * 1024 });
    // More than the loopback socket buffers hold, so the server must read past the bound.
    const { socket } = await sender(port, 64 * MAX_BODY_BYTES, jsonBody(32 * MAX_BODY_BYTES));
    try {
      await closed;
      expect(lingering.count).toBe(0);
    } finally {
      socket.destroy();
      server.close();
    }
  });

  it('does not hold up the gateway shutdown past SHUTDOWN_TIMEOUT', { timeout: 30_000 }, async () => {
    const dir = makeTempDir('lingering-shutdown');
    const config = parseConfig({ DB_PATH: join(dir.dir, 'gateway.db'), HOST: '127.0.0.1', PORT: '0', INGEST_API_KEYS: INGEST_KEY, MAX_BODY_BYTES: String(MAX_BODY_BYTES), SHUTDOWN_TIMEOUT: '1' });
    const running = await startGateway(config, { log: createLogger('silent'), linger: { ms: A_MINUTE, idleMs: A_MINUTE } });
    const { socket, answer } = await sender(Number(new URL(running.url).port), 4 * MAX_BODY_BYTES, Buffer.from('{'), `Authorization: Bearer ${INGEST_KEY}\r\n`);
    const trickle = setInterval(() => socket.writable && socket.write(' '), 20);
    try {
      expect(await answer).toMatch(/^HTTP\/1\.1 413 /);
      // Lingering for a minute unless shutdown cuts it.
      await running.close();
      await waitFor('the lingering connection to be closed', () => socket.destroyed || !socket.writable || socket.closed);
    } finally {
      clearInterval(trickle);
      socket.destroy();
      dir.remove();
    }
  });
});
