/**
 * Who is asking, as far as the wrong-key limit (auth-failures.ts) is concerned: the peer of
 * the connection, or, when that peer is a proxy named in TRUSTED_PROXIES, the address it says
 * it received the request from (X-Forwarded-For). Nobody else's X-Forwarded-For is believed:
 * anyone can send one, and a limit keyed on it would be no limit.
 */
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

/** The key of a request whose peer is not known (`app.request()` in tests; a socket already gone). */
export const UNKNOWN_ADDRESS = 'unknown';

/** A TRUSTED_PROXIES entry: an address, or a network as `address/prefix-length`. */
export function parseAddressRange(entry: string): { address: string; prefix?: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (prefix === undefined) return { address, family };
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (version === 4 ? 32 : 128)) return undefined;
  return { address, prefix: Number(prefix), family };
}

/** Reads a request's client address, believing X-Forwarded-For only from `trustedProxies`. */
export function clientAddressReader(trustedProxies: readonly string[]): (c: Context) => string {
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const range = parseAddressRange(entry);
    // config.ts refused anything else already.
    if (!range) continue;
    if (range.prefix === undefined) trusted.addAddress(range.address, range.family);
    else trusted.addSubnet(range.address, range.prefix, range.family);
  }
  const isTrusted = (address: string) => {
    const version = isIP(address);
    return version !== 0 && trusted.check(address, version === 4 ? 'ipv4' : 'ipv6');
  };

  return (c) => {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const peer = incoming?.socket?.remoteAddress;
    if (!peer) return UNKNOWN_ADDRESS;
    if (trustedProxies.length === 0 || !isTrusted(peer)) return addressKey(peer);
    // Each proxy appends the address it heard from; only the hops we trust vouch for the one
    // before them, so the client is the last address that is not one of ours.
    const hops = (c.req.header('x-forwarded-for') ?? '').split(',').map(withoutPort);
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      // A hop that is no address was not written by a proxy of ours: stop at the last one that vouched.
      if (isIP(hop) === 0) break;
      client = hop;
      if (!isTrusted(hop)) break;
    }
    return addressKey(client);
  };
}

/** An X-Forwarded-For hop as an address: some proxies (Azure's) add the port, `192.0.2.1:4711` or `[2001:db8::1]:4711`. */
function withoutPort(hop: string): string {
  const text = hop.trim();
  return /^\[([^\]]+)\](?::\d+)?$/.exec(text)?.[1] ?? /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(text)?.[1] ?? text;
}

/**
 * The key an address is counted under. An IPv4 address as written (`::ffff:192.0.2.1` is
 * 192.0.2.1); an IPv6 address by its /64, which is what one subscriber or host is given: by
 * single address, one machine would have 2^64 fresh budgets.
 */
export function addressKey(address: string): string {
  const bare = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)?.[1];
  if (mapped) return mapped;
  if (isIP(bare) !== 6) return bare;
  const [head = '', tail] = bare.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').flatMap((group) => (group.includes('.') ? ['0', '0'] : [group])));
  const before = groups(head);
  const after = tail === undefined ? [] : groups(tail);
  const full = [...before, ...Array<string>(8 - before.length - after.length).fill('0'), ...after];
  return `${full
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}
