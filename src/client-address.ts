/**
 * Who is asking, as far as the wrong-key limit (auth-failures.ts) is concerned: the peer of
 * the connection, or, when that peer is a proxy named in TRUSTED_PROXIES, the address it says
 * it received the request from (X-Forwarded-For, or the standard Forwarded of RFC 7239).
 * Nobody else's headers are believed: anyone can send one, and a limit keyed on it would be
 * no limit.
 *
 * Which of the two headers: a proxy writes one of them (nginx, AWS ALB, Envoy, Caddy and
 * Traefik write X-Forwarded-For; HAProxy's `option forwarded` and some API gateways write
 * Forwarded) and passes the other on as the client sent it, and nothing in a request says
 * which is which (Spring's ForwardedHeaderFilter asks to be told; Express reads only
 * X-Forwarded-For). Preferring either would let a client behind a proxy that writes the
 * other make up a new address for every guess. So each is read alone when alone; when both
 * are there and name different clients, neither is believed and the request counts against
 * the proxy itself. A proxy that writes both names the same client in each.
 */
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

/** The key of a request whose peer is not known (`app.request()` in tests; a socket already gone). */
const UNKNOWN_ADDRESS = 'unknown';

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

/** Reads a request's client address, believing X-Forwarded-For and Forwarded only from `trustedProxies`. */
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

  // Each proxy appends the address it heard from; only the hops we trust vouch for the one
  // before them, so the client is the last address that is not one of ours. A hop that is no
  // address (`unknown`, an obfuscated `_name`, garbage) was not written by a proxy of ours, or
  // says it does not know: stop at the last one that vouched.
  const client = (peer: string, hops: ReadonlyArray<string | undefined>) => {
    let found = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i];
      if (hop === undefined || isIP(hop) === 0) break;
      found = hop;
      if (!isTrusted(hop)) break;
    }
    return found;
  };

  return (c) => {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const peer = incoming?.socket?.remoteAddress;
    if (!peer) return UNKNOWN_ADDRESS;
    if (trustedProxies.length === 0 || !isTrusted(peer)) return addressKey(peer);
    const xff = c.req.header('x-forwarded-for');
    const forwarded = c.req.header('forwarded');
    if (forwarded === undefined) return addressKey(client(peer, (xff ?? '').split(',').map(withoutPort)));
    const named = addressKey(client(peer, forwardedFor(forwarded)));
    if (xff === undefined) return named;
    // Both: if they name different clients, one of them is the client's own (see the header).
    return named === addressKey(client(peer, xff.split(',').map(withoutPort))) ? named : addressKey(peer);
  };
}

/** An X-Forwarded-For hop as an address: some proxies (Azure's) add the port, `192.0.2.1:4711` or `[2001:db8::1]:4711`. */
function withoutPort(hop: string): string {
  const text = hop.trim();
  return /^\[([^\]]+)\](?::\d+)?$/.exec(text)?.[1] ?? /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(text)?.[1] ?? text;
}

/** An HTTP token (RFC 9110): a parameter's name, or its value unquoted. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A node's port: digits, or obfuscated (`_port`). */
const NODE_PORT = String.raw`(?::(?:\d{1,5}|_[A-Za-z0-9._-]+))?`;
const FORWARDED_V6 = new RegExp(String.raw`^\[([0-9A-Fa-f:.]+)\]${NODE_PORT}$`);
const FORWARDED_V4 = new RegExp(String.raw`^(\d{1,3}(?:\.\d{1,3}){3})${NODE_PORT}$`);

/**
 * The address in the `for` parameter of each element of a Forwarded header (RFC 7239), in
 * order; undefined for an element without one that is an address: `for=unknown`, an
 * obfuscated `for=_hidden`, a malformed element. Several header lines arrive joined by commas,
 * which is how the RFC lists elements. Never throws; the header is at most the server's 16 KB
 * of headers, read once.
 */
export function forwardedFor(header: string): Array<string | undefined> {
  const elements: Array<string | undefined> = [];
  let pairs = 0;
  let address: string | undefined;
  let seenFor = false;
  let valid = true;
  let start = 0;
  let quoted = false;

  const endPair = (end: number) => {
    const pair = header.slice(start, end).trim();
    start = end + 1;
    if (pair === '') return;
    pairs += 1;
    const equals = pair.indexOf('=');
    const name = pair.slice(0, equals).toLowerCase();
    if (equals <= 0 || !TOKEN.test(name)) valid = false;
    else if (name === 'for') {
      // The RFC allows one of each parameter per element: two are a forgery, or a broken proxy.
      if (seenFor) valid = false;
      seenFor = true;
      address = forwardedNode(pair.slice(equals + 1));
    }
  };
  const endElement = (end: number) => {
    endPair(end);
    // Empty elements (`a, , b`) are allowed and mean nothing.
    if (pairs > 0) elements.push(valid ? address : undefined);
    pairs = 0;
    address = undefined;
    seenFor = false;
    valid = true;
  };

  for (let i = 0; i < header.length; i++) {
    const char = header[i];
    if (quoted) {
      if (char === '\\') i += 1;
      else if (char === '"') quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === ';') endPair(i);
    else if (char === ',') endElement(i);
  }
  // An unclosed quote swallowed the rest: what follows it cannot be told apart.
  if (quoted) valid = false;
  endElement(header.length);
  return elements;
}

/**
 * A Forwarded node (RFC 7239 section 6) as an address: `192.0.2.60`, `"192.0.2.60:4711"`,
 * `"[2001:db8:cafe::17]:4711"`, each optionally quoted; undefined for `unknown`, an obfuscated
 * `_name`, or anything else. IPv6 must be in brackets, as the RFC says: unbracketed, its last
 * group could be a port.
 */
function forwardedNode(value: string): string | undefined {
  let node = value;
  if (node.startsWith('"')) {
    if (node.length < 2 || !node.endsWith('"')) return undefined;
    node = node.slice(1, -1).replace(/\\(.)/g, '$1');
  } else if (!TOKEN.test(node.replace(/[:[\]]/g, ''))) {
    return undefined;
  }
  const v6 = FORWARDED_V6.exec(node)?.[1];
  if (v6 !== undefined) return isIP(v6) === 6 ? v6 : undefined;
  const v4 = FORWARDED_V4.exec(node)?.[1];
  return v4 !== undefined && isIP(v4) === 4 ? v4 : undefined;
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
