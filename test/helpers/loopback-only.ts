/**
 * Set up before every test file (vitest.config.ts): tests talk only to loopback addresses.
 * A gateway started in-process with a default TIMEBACK_BASE_URL would look up the real
 * platform, and treat the failure as TimeBack being away, so nothing else would notice. Here
 * the lookup of any name but localhost is refused before it leaves the machine, and the test
 * that made it fails, naming the host.
 *
 * Gateways and commands run as processes of their own are not watched: this patches only the
 * test worker.
 */
import dns from 'node:dns';
import { isIP } from 'node:net';
import { afterAll, afterEach } from 'vitest';

const looked: string[] = [];

const isLoopback = (hostname: string) => {
  const name = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return name === 'localhost' || name.endsWith('.localhost') || (isIP(name) === 4 ? name.startsWith('127.') : name === '::1');
};

const refusal = (hostname: string) =>
  Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname} (tests talk only to loopback addresses)`), {
    code: 'ENOTFOUND',
    syscall: 'getaddrinfo',
    hostname,
  });

const lookup = dns.lookup;
dns.lookup = function (hostname: string, ...rest: unknown[]) {
  if (isLoopback(hostname)) return (lookup as (...args: unknown[]) => void).call(dns, hostname, ...rest);
  looked.push(hostname);
  const callback = rest.at(-1) as (error: Error) => void;
  process.nextTick(() => callback(refusal(hostname)));
} as typeof dns.lookup;

const lookupPromise = dns.promises.lookup;
dns.promises.lookup = async function (hostname: string, ...rest: unknown[]) {
  if (isLoopback(hostname)) return (lookupPromise as (...args: unknown[]) => Promise<unknown>).call(dns.promises, hostname, ...rest);
  looked.push(hostname);
  throw refusal(hostname);
} as typeof dns.promises.lookup;

function check(when: string) {
  if (looked.length === 0) return;
  const hosts = [...new Set(looked.splice(0))];
  throw new Error(`${when} looked up ${hosts.join(', ')}: tests talk only to loopback addresses (point the URL at the emulator or 127.0.0.1)`);
}

afterEach(() => check('this test'));
afterAll(() => check('this file, after its last test,'));
