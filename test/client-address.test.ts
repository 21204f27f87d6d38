import type { Server } from 'node:http';
import { request as httpRequest } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { addressKey, clientAddressReader, forwardedFor, parseAddressRange } from '../src/client-address.ts';

describe('addressKey', () => {
  it('keeps an IPv4 address, mapped or not', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::FFFF:192.0.2.7')).toBe('192.0.2.7');
  });

  it('counts an IPv6 address by its /64, however it is written', () => {
    const key = '2001:db8:0:1::/64';
    for (const address of ['2001:db8:0:1::1', '2001:0db8:0000:0001:ffff:ffff:ffff:ffff', '2001:db8::1:1:2:3:4', 'fe80::1%eth0'.replace('fe80::1', '2001:db8:0:1::9')]) {
      expect(addressKey(address), address).toBe(key);
    }
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('2001:db8::')).toBe('2001:db8:0:0::/64');
    expect(addressKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(addressKey('2001:db8:0:2::1')).not.toBe(key);
  });
});

describe('parseAddressRange', () => {
  it('takes addresses and networks', () => {
    expect(parseAddressRange('10.0.0.5')).toEqual({ address: '10.0.0.5', family: 'ipv4' });
    expect(parseAddressRange('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseAddressRange('fd00::/8')).toEqual({ address: 'fd00::', prefix: 8, family: 'ipv6' });
  });

  it('refuses anything else', () => {
    for (const entry of ['', 'proxy.internal', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0.0/-1', '300.0.0.1']) {
      expect(parseAddressRange(entry), entry).toBeUndefined();
    }
  });
});

/** The reader behind a real server on 127.0.0.1: the peer of every request is 127.0.0.1. */
describe('clientAddressReader', () => {
  let server: Server | undefined;
  let port = 0;

  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  async function listen(trustedProxies: string[]): Promise<void> {
    const app = new Hono();
    const clientAddress = clientAddressReader(trustedProxies);
    app.get('/who', (c) => c.text(clientAddress(c)));
    server = await new Promise<Server>((resolve) => {
      const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started as Server));
    });
    port = (server.address() as AddressInfo).port;
  }

  /** Who the reader says sent a request with these headers; an array sends one header line per value. */
  function who(headers: Record<string, string | string[]>): Promise<string> {
    return new Promise((resolve, reject) => {
      const request = httpRequest({ host: '127.0.0.1', port, path: '/who', headers }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => (response.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${response.statusCode}: ${body}`))));
      });
      request.on('error', reject);
      request.end();
    });
  }

  it('believes neither header from a peer that is not a trusted proxy', async () => {
    await listen(['10.0.0.0/8']);
    expect(await who({ forwarded: 'for=198.51.100.1', 'x-forwarded-for': '198.51.100.2' })).toBe('127.0.0.1');
    expect(await who({ forwarded: 'for=198.51.100.1' })).toBe('127.0.0.1');
  });

  it('reads Forwarded right to left through the trusted proxies, as X-Forwarded-For', async () => {
    await listen(['127.0.0.0/8', '10.0.0.0/8']);
    expect(await who({ forwarded: 'for=192.0.2.60;proto=http;by=203.0.113.43' })).toBe('192.0.2.60');
    // What the client wrote before the last untrusted hop is not believed.
    expect(await who({ forwarded: 'for=198.51.100.9, for=192.0.2.60, for=10.0.0.5' })).toBe('192.0.2.60');
    // Each proxy may add a header line of its own.
    expect(await who({ forwarded: ['for=198.51.100.9', 'for=192.0.2.61;proto=https', 'for="10.0.0.5:4711"'] })).toBe('192.0.2.61');
    expect(await who({ forwarded: 'FOR="192.0.2.62:4711"' })).toBe('192.0.2.62');
    // IPv6 in brackets, with a port or an obfuscated one, counted by its /64 as everywhere else.
    expect(await who({ forwarded: 'for="[2001:db8:cafe::17]:4711"' })).toBe('2001:db8:cafe:0::/64');
    expect(await who({ forwarded: 'for="[2001:db8:cafe::17]:_p1", for=10.0.0.5' })).toBe('2001:db8:cafe:0::/64');
  });

  it('stops at `unknown`, an obfuscated name or garbage: the last trusted hop that vouched is the client', async () => {
    await listen(['127.0.0.0/8', '10.0.0.0/8']);
    expect(await who({ forwarded: 'for=unknown' })).toBe('127.0.0.1');
    expect(await who({ forwarded: 'for=192.0.2.60, for=_hidden' })).toBe('127.0.0.1');
    expect(await who({ forwarded: 'for=192.0.2.60, for="_hidden", for=10.0.0.5' })).toBe('10.0.0.5');
    expect(await who({ forwarded: 'for=192.0.2.60, for=unknown, for=10.0.0.5' })).toBe('10.0.0.5');
    // Garbage to the left of the hops the proxies appended changes nothing.
    expect(await who({ forwarded: 'for=";;,,\\"", proto=@@, for=192.0.2.70' })).toBe('192.0.2.70');
  });

  it('counts the client written in X-Forwarded-For and Forwarded alike once, and the proxy when they disagree', async () => {
    await listen(['127.0.0.0/8']);
    // A proxy that writes both names the same client in each.
    expect(await who({ forwarded: 'for="[2001:db8:1:2::5]:443"', 'x-forwarded-for': '2001:db8:1:2::5' })).toBe('2001:db8:1:2::/64');
    expect(await who({ forwarded: 'for=192.0.2.80', 'x-forwarded-for': '192.0.2.80' })).toBe('192.0.2.80');
    // Behind a proxy that writes X-Forwarded-For, a client's own Forwarded cannot move it elsewhere,
    expect(await who({ forwarded: 'for=198.51.100.66', 'x-forwarded-for': '192.0.2.81' })).toBe('127.0.0.1');
    // and behind one that writes Forwarded, neither can its own X-Forwarded-For.
    expect(await who({ forwarded: 'for=192.0.2.82', 'x-forwarded-for': '198.51.100.67' })).toBe('127.0.0.1');
  });

  it('never fails on a hostile Forwarded, and counts it against the proxy', async () => {
    await listen(['127.0.0.0/8']);
    const hostile = [
      ' ',
      ',',
      ';',
      '=',
      '"',
      '""',
      'for',
      'for=',
      'for=""',
      'for="',
      'for="\\',
      'for=[',
      'for="[::1"',
      'for="[]:1"',
      'for="[1.2.3.4]"',
      'for=2001:db8::1',
      'for="2001:db8::1"',
      'for=1.2.3.4.5',
      'for=256.1.1.1',
      'for=1.2.3.4:',
      'for=1.2.3.4:port',
      'for=1.2.3.4;for=5.6.7.8',
      'for = 1.2.3.4',
      'for=\t1.2.3.4',
      'for="1.2.3.4\\"',
      '__proto__=1.2.3.4',
      'constructor=1',
      'for=%31.2.3.4',
      'for=\u00ff\u00fe',
      `for="${'\\"'.repeat(2_000)}"`,
      'for=1.2.3.4;'.repeat(600),
      '"'.repeat(5_000),
      '"'.repeat(5_001),
      // An unclosed quote swallows what a proxy appended after it: nothing can be read.
      'for=", for=192.0.2.90',
      // Else a client could write its own address before the quote it leaves open.
      'for=198.51.100.7;x=", for=192.0.2.90',
    ];
    for (const forwarded of hostile) {
      expect(await who({ forwarded }), JSON.stringify(forwarded.slice(0, 40))).toBe('127.0.0.1');
    }
    expect(await who({ forwarded: 'for=1.2.3.4 ;by=5.6.7.8 ;; ;' })).toBe('1.2.3.4');
    expect(await who({ forwarded: `${', '.repeat(3_000)}for=192.0.2.90` })).toBe('192.0.2.90');
  });
});

describe('forwardedFor', () => {
  it('reads the RFC 7239 examples', () => {
    expect(forwardedFor('for="_gazonk"')).toEqual([undefined]);
    expect(forwardedFor('For="[2001:db8:cafe::17]:4711"')).toEqual(['2001:db8:cafe::17']);
    expect(forwardedFor('for=192.0.2.60;proto=http;by=203.0.113.43')).toEqual(['192.0.2.60']);
    expect(forwardedFor('for=192.0.2.43, for=198.51.100.17')).toEqual(['192.0.2.43', '198.51.100.17']);
    expect(forwardedFor('for=192.0.2.43,for="[2001:db8:cafe::17]",for=unknown')).toEqual(['192.0.2.43', '2001:db8:cafe::17', undefined]);
    // A quoted comma or semicolon separates nothing.
    expect(forwardedFor('for="x,y;z", for=192.0.2.44')).toEqual([undefined, '192.0.2.44']);
  });

  it('never throws, and gives only addresses, whatever it is sent', () => {
    // A fixed seed: the same strings every run, made of what the grammar treats specially.
    let seed = 0x5eed;
    // Math.imul: a plain product passes 2 ** 53 and loses its low bits, which cut the cycle to 419 draws.
    const random = () => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
    const pieces = ['for', 'FOR', 'by', '=', ';', ',', ' ', '"', '\\', '[', ']', ':', '_', '.', '1', '192.0.2.1', '2001:db8::1', 'unknown', '4711', '\u00ff'];
    const pick = <T>(from: readonly T[]) => from[Math.floor(random() * from.length)]!;
    const piece = () => pick(pieces);
    const noise = (most: number) => Array.from({ length: Math.floor(random() * most) }, piece).join('');
    // Pieces strung at random almost never make a `for=` element, so half the headers are
    // elements around random values: the check below must meet addresses, not only undefined.
    const node = () => (random() < 0.5 ? pick(['192.0.2.1', '2001:db8::1', '192.0.2.1:4711', '1', 'unknown', '_hidden']) : noise(3));
    const value = () => pick(['', '"', '"[', '[']) + node() + pick(['', '"', ']"', ']']);
    const elements = () => Array.from({ length: 1 + Math.floor(random() * 3) }, () => `${pick(['for', 'FOR', 'by'])}=${value()}`).join(pick([',', ', ', ';', piece()]));
    let addresses = 0;
    for (let n = 0; n < 5_000; n++) {
      const header = n % 2 === 0 ? noise(40) : elements();
      for (const address of forwardedFor(header)) {
        if (address === undefined) continue;
        expect(isIP(address), header).not.toBe(0);
        addresses += 1;
      }
    }
    expect(addresses).toBeGreaterThan(30);
  });
});
