/**
 * Limits guesses at a secret (the ingest keys, ADMIN_TOKEN) per client address: after
 * AUTH_FAILURE_LIMIT wrong keys from one address within AUTH_FAILURE_WINDOW, its next attempts
 * are answered 429 with Retry-After, without their key being looked at, until the window that
 * began with its first wrong key has passed.
 *
 * Any answer that lets a right key through tells the sender its key was right, so a limit
 * cannot both stop guesses and let a right key through from the same address. It must still
 * not lock Learn out: Learn may share its address with whoever sends wrong keys (a second Learn
 * left on an old key, another tenant behind Blackboard's NAT, everyone behind a proxy), and
 * what Learn does with an envelope refused is not known. So an address that sent a right key
 * within the last day is never refused unheard: its keys are still checked, and only its wrong
 * ones past the limit get 429. Guessing from such an address is not limited; every other
 * address gets AUTH_FAILURE_LIMIT guesses per window.
 *
 * Memory is bounded: at most MAX_ADDRESSES addresses are counted (the oldest window is
 * forgotten first) and at most MAX_KNOWN_GOOD remembered as having sent a right key; only a
 * right key adds to the latter, so an attacker cycling through addresses cannot flush it. No
 * timer runs: windows end when they are next looked at.
 *
 * The addresses known good outlive a restart (auth-known-good.ts keeps them in the database):
 * otherwise a restart would let whoever shares Learn's address lock Learn out until Learn's
 * next right key. The windows do not: a restart forgives the wrong keys counted so far.
 */
import type { Counter } from 'prom-client';
import { GatewayError } from './errors.ts';
import type { Logger } from './log.ts';

export type AuthRealm = 'ingest' | 'admin';

/** Addresses whose wrong keys are counted at once; each is a few dozen bytes. */
const MAX_ADDRESSES = 10_000;
/** Addresses remembered as having sent a right key: Learn's few, a proxy's. */
const MAX_KNOWN_GOOD = 1_000;
/** How long an address that sent a right key keeps its keys checked: Learn may be quiet all night. */
const KNOWN_GOOD_MS = 24 * 3_600_000;
/**
 * A known address's right key counts as a change worth saving once its last one is in an
 * earlier step of this length: Learn's steady stream then costs a save every few minutes,
 * not one per envelope, and a restart loses at most this much of the address's day.
 */
const KNOWN_GOOD_STEP_MS = 10 * 60_000;

export interface AuthFailureOptions {
  realm: AuthRealm;
  /** Wrong keys one address may send per window; 0 turns the limit off. */
  limit: number;
  windowMs: number;
  now: () => number;
  log: Logger;
  /** Counts 429s, labelled by realm. */
  refusals: Counter<'realm'>;
  maxAddresses?: number;
  maxKnownGood?: number;
  /**
   * Addresses known good before a restart, as `knownGoodEntries()` gave them: those older
   * than a day are dropped, and only the newest `maxKnownGood` kept.
   */
  knownGood?: ReadonlyArray<readonly [address: string, since: number]>;
}

export type AuthVerdict = { outcome: 'accepted' } | { outcome: 'wrong' } | { outcome: 'limited'; retryAfterSeconds: number };

export interface AuthFailures {
  /**
   * Runs `verify` (the key comparison) unless the address is over its limit, and records the
   * outcome. `limited` is to be answered 429 (see `tooManyWrongKeys`), `wrong` 401.
   */
  check(address: string, verify: () => boolean): AuthVerdict;
  /** Addresses counted now, and remembered as good (for tests of the bounds). */
  readonly sizes: { counted: number; knownGood: number };
  readonly realm: AuthRealm;
  /**
   * Goes up when the addresses known good change in a way worth saving: one is added, or
   * one's last right key moves on by a step (KNOWN_GOOD_STEP_MS). A counter, so that noting
   * a change on the request path costs no allocation, and a saver compares it with the one it saved.
   */
  readonly knownGoodVersion: number;
  /** The addresses known good now, with the time of each one's last right key, oldest first. */
  knownGoodEntries(): Array<[address: string, since: number]>;
}

interface Window {
  start: number;
  failures: number;
}

export function createAuthFailures(options: AuthFailureOptions): AuthFailures {
  const { realm, limit, windowMs, now, log, refusals } = options;
  const maxAddresses = options.maxAddresses ?? MAX_ADDRESSES;
  const maxKnownGood = options.maxKnownGood ?? MAX_KNOWN_GOOD;
  // Both in insertion order, which is the order of `start` / last success (entries are
  // re-inserted when either changes): the oldest are first, to expire or evict.
  const windows = new Map<string, Window>();
  const knownGood = new Map<string, number>();
  let knownGoodVersion = 0;
  if (options.knownGood) restoreKnownGood(knownGood, options.knownGood, now(), maxKnownGood);
  refusals.inc({ realm }, 0);

  const retryAfter = (window: Window, at: number) => Math.max(1, Math.ceil((window.start + windowMs - at) / 1000));

  /** The address's current window, if one is open. */
  function openWindow(address: string, at: number): Window | undefined {
    const window = windows.get(address);
    if (window && at - window.start < windowMs) return window;
    if (window) windows.delete(address);
    return undefined;
  }

  /** When the address last sent a right key, if that was within the last day. */
  function knownGoodSince(address: string, at: number): number | undefined {
    const since = knownGood.get(address);
    if (since === undefined) return undefined;
    if (at - since < KNOWN_GOOD_MS) return since;
    knownGood.delete(address);
    return undefined;
  }

  function remember<V>(map: Map<string, V>, address: string, value: V, max: number, expired: (value: V) => boolean) {
    map.delete(address);
    // Ended entries go first; if every one is live, the oldest goes.
    for (const [oldest, entry] of map) {
      if (map.size < max && !expired(entry)) break;
      map.delete(oldest);
    }
    map.set(address, value);
  }

  function limited(window: Window, at: number): AuthVerdict {
    refusals.inc({ realm });
    return { outcome: 'limited', retryAfterSeconds: retryAfter(window, at) };
  }

  return {
    check(address, verify) {
      if (limit === 0) return verify() ? { outcome: 'accepted' } : { outcome: 'wrong' };
      const at = now();
      let window = openWindow(address, at);
      const goodSince = knownGoodSince(address, at);
      const good = goodSince !== undefined;
      // Refused unheard: the key is not compared, so the answer says nothing about it.
      if (window && window.failures >= limit && !good) return limited(window, at);

      if (verify()) {
        if (!good || Math.floor(at / KNOWN_GOOD_STEP_MS) !== Math.floor(goodSince / KNOWN_GOOD_STEP_MS)) knownGoodVersion += 1;
        remember(knownGood, address, at, maxKnownGood, (since) => at - since >= KNOWN_GOOD_MS);
        return { outcome: 'accepted' };
      }

      if (!window) {
        window = { start: at, failures: 0 };
        remember(windows, address, window, maxAddresses, (entry) => at - entry.start >= windowMs);
      }
      window.failures += 1;
      if (window.failures === limit) {
        // Once per address and window; the address is the client's, never the key it sent.
        log.warn(
          { realm, address, failures: limit, windowSeconds: windowMs / 1000, retryAfterSeconds: retryAfter(window, at), knownGood: good },
          good
            ? `${limit} wrong keys from one address within the window; it sent a right key within the last day, so its keys are still checked, and its wrong ones get 429 until the window ends`
            : `${limit} wrong keys from one address within the window; its attempts get 429 until the window ends`,
        );
      }
      return window.failures > limit ? limited(window, at) : { outcome: 'wrong' };
    },

    get sizes() {
      return { counted: windows.size, knownGood: knownGood.size };
    },

    realm,

    get knownGoodVersion() {
      return knownGoodVersion;
    },

    knownGoodEntries() {
      const at = now();
      const entries: Array<[string, number]> = [];
      for (const [address, since] of knownGood) if (at - since < KNOWN_GOOD_MS) entries.push([address, since]);
      return entries;
    },
  };
}

/**
 * Fills `knownGood` (empty) from a saved list, as `remember` would have left it: oldest
 * first, none older than a day, at most `max`. A time after `at` (the clock was set back
 * since) counts as `at`, so that no address stays known good for longer than a day from now.
 */
function restoreKnownGood(knownGood: Map<string, number>, saved: ReadonlyArray<readonly [string, number]>, at: number, max: number): void {
  const live = saved
    .map(([address, since]): [string, number] => [address, Math.min(since, at)])
    .filter(([, since]) => at - since < KNOWN_GOOD_MS)
    .sort((a, b) => a[1] - b[1]);
  for (const [address, since] of live.slice(-max)) {
    knownGood.delete(address);
    knownGood.set(address, since);
  }
}

export const TOO_MANY_WRONG_KEYS = 'too-many-wrong-keys';

/** The 429 for an address over its limit: says when to try again, and nothing about the key. */
export function tooManyWrongKeys(retryAfterSeconds: number): GatewayError {
  return new GatewayError(429, TOO_MANY_WRONG_KEYS, `Too many wrong keys from this address; try again in ${retryAfterSeconds} s`, {
    headers: { 'retry-after': String(retryAfterSeconds) },
  });
}
