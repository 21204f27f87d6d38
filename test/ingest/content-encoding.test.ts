/**
 * Compressed envelopes over a real socket to the gateway's own HTTP server: gzip and
 * deflate are decoded and stored, the size limit applies to what they decode to, and any
 * other coding is refused by name before the body is read.
 */
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/server.ts';
import { envelope, sessionEvent } from '../helpers/caliper-events.ts';
import { startLoopbackGateway, type LoopbackGateway } from '../helpers/loopback-gateway.ts';
import { rawRequest } from '../helpers/raw-http.ts';

const KEY = 'content-encoding-key-71b2';
const LIMIT = 256 * 1024;

let running: LoopbackGateway;
let gateway: Gateway;

// One gateway for the file (starting one takes a second or two); each test counts the rows it added.
beforeAll(async () => {
  running = await startLoopbackGateway({ key: KEY, maxBodyBytes: LIMIT, dirPrefix: 'caliper-gateway-encoding' });
  gateway = running.gateway;
});
afterAll(() => running.close());

type Table = 'envelopes' | 'events';
const rows = (table: Table) => (gateway.store.sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
let before: Record<Table, number>;
beforeEach(() => {
  before = { envelopes: rows('envelopes'), events: rows('events') };
});
/** Rows this test added. */
const count = (table: Table) => rows(table) - before[table];

function post(encoding: string, body: Buffer) {
  return rawRequest(gateway.url, {
    headers: [
      ['Authorization', KEY],
      ['Content-Type', 'application/json'],
      ['Content-Encoding', encoding],
    ],
    body,
  });
}

describe('POST /caliper with a Content-Encoding', () => {
  const codings: Array<[string, string, (text: string) => Buffer]> = [
    ['gzip', 'gzip', (text) => gzipSync(text)],
    ['x-gzip', 'x-gzip', (text) => gzipSync(text)],
    ['deflate (zlib format)', 'deflate', (text) => deflateSync(text)],
    ['deflate sent raw', 'deflate', (text) => deflateRawSync(text)],
    ['identity', 'identity', (text) => Buffer.from(text)],
  ];
  for (const [what, header, encode] of codings) {
    it(`stores an envelope sent as ${what}`, async () => {
      const response = await post(header, encode(JSON.stringify(envelope([sessionEvent(), sessionEvent()]))));
      expect(response.status).toBe(200);
      expect(count('events')).toBe(2);
    });
  }

  it('413 for a small gzip body that inflates past MAX_BODY_BYTES (a zip bomb), storing nothing', async () => {
    // 64 times the limit, sent as a few kilobytes.
    const bomb = gzipSync(Buffer.concat([Buffer.from('{"data":["'), Buffer.alloc(64 * LIMIT, 'a')]));
    expect(bomb.length).toBeLessThan(LIMIT);
    const response = await post('gzip', bomb);
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'payload-too-large', message: expect.stringContaining('decompressed') } });
    expect(count('envelopes')).toBe(0);
  });

  it('400 naming the coding for a body that is not what its Content-Encoding says', async () => {
    const response = await post('gzip', Buffer.from(JSON.stringify(envelope([sessionEvent()]))));
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'malformed-body', message: expect.stringContaining('gzip') } });
    expect(count('envelopes')).toBe(0);
  });

  for (const header of ['br', 'compress', 'gzip, gzip']) {
    it(`415 for Content-Encoding "${header}", naming it and what is accepted, storing nothing`, async () => {
      const response = await post(header, Buffer.from(JSON.stringify(envelope([sessionEvent()]))));
      expect(response.status).toBe(415);
      expect(response.headers['accept-encoding']).toBe('gzip, deflate');
      const { error } = JSON.parse(response.body) as { error: { code: string; message: string } };
      expect(error.code).toBe('unsupported-content-encoding');
      expect(error.message).toContain(JSON.stringify(header));
      expect(count('envelopes')).toBe(0);
    });
  }
});
