/**
 * Personal data that must not reach TimeBack unless the rule that produced the event lists
 * its category in `allowPii` (mappings/README.md "Personal data"). TimeBack needs the
 * student's platform id and nothing more about anyone.
 */
import { isIP } from 'node:net';
import { formatPath } from '../errors.ts';
import { PII_CATEGORIES, type PiiCategory } from './rule-schema.ts';

export type PiiFinding =
  | {
      category: PiiCategory;
      /** Where in the event, e.g. `object.extensions["bb:user.externalId"]`. */
      path: string;
    }
  /** A value nested deeper than MAX_DEPTH: not looked into, so not let through either. */
  | { tooDeep: true; path: string };

const NAME_KEYS = new Set(['name', 'givenName', 'familyName', 'additionalName']);

// `local@domain` where the domain has a dot inside it. Not one regex with `[^@]+\.[^@]+`:
// where the dot goes is ambiguous, so a long run of dots took quadratic time to refuse (a
// 150,000-character name held the event loop for 12 s). Here each part is matched once.
const EMAIL_PARTS = /^(?:mailto:)?[^\s@:/]+@([^\s@/]+)$/i;
const EMAIL_IRI = /^(?:mailto|urn:email):/i;
// Cheap pre-checks, so most strings (IRIs, names of things) skip the exact tests.
const MAYBE_IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const MAYBE_IPV6 = /^[0-9a-f:.]*:[0-9a-f:.]*$/i;

const KEY_CATEGORIES = new Map<string, PiiCategory>([
  ['ipAddress', 'ip-address'],
  ['bb:request.headers.ipAddress', 'ip-address'],
  ['userAgent', 'user-agent'],
  ['bb:request.headers.agent', 'user-agent'],
  ['launchParameters', 'lti-parameters'],
  ['messageParameters', 'lti-parameters'],
  ['customParameters', 'lti-parameters'],
]);

function keyCategory(key: string): PiiCategory | undefined {
  const known = KEY_CATEGORIES.get(key);
  if (known !== undefined) return known;
  if (key.length === 5 && key.toLowerCase() === 'email') return 'email';
  if (key.startsWith('oauth_') || key.startsWith('lis_person_')) return 'lti-parameters';
  return undefined;
}

function valueCategory(text: string): PiiCategory | undefined {
  if (text.includes('@') && isEmail(text)) return 'email';
  const first = text.charCodeAt(0);
  // An IRI that starts mailto: or urn:email: names an address even when it is malformed.
  if (((first | 0x20) === 0x6d || (first | 0x20) === 0x75) && EMAIL_IRI.test(text)) return 'email';
  const maybeIp = (first >= 48 && first <= 57 && MAYBE_IPV4.test(text)) || (text.length >= 2 && text.length <= 45 && MAYBE_IPV6.test(text));
  return maybeIp && isIP(text) !== 0 ? 'ip-address' : undefined;
}

/** True for `[mailto:]local@domain` where the domain has a dot that is neither its first nor its last character. */
function isEmail(text: string): boolean {
  const domain = EMAIL_PARTS.exec(text)?.[1];
  return domain !== undefined && domain.lastIndexOf('.', domain.length - 2) > 0;
}

/**
 * How deep the check looks. A rule that copies a value whole (`{ from: … }`, extensions)
 * copies whatever nesting the sender chose, so what lies deeper is refused, not sent
 * unchecked: an address 100 levels down in a copied extension used to reach TimeBack.
 */
export const MAX_PII_DEPTH = 64;
const TOO_DEEP = 'too-deep';

/** The first personal data in `event` that `allowed` does not cover, or undefined. */
export function findPii(event: unknown, allowed: ReadonlySet<PiiCategory>): PiiFinding | undefined {
  if (allowed.size === PII_CATEGORIES.length) return undefined;
  const path: PropertyKey[] = [];
  const category = visit(event, allowed, path, 0);
  if (category === undefined) return undefined;
  return category === TOO_DEEP ? { tooDeep: true, path: formatPath(path) } : { category, path: formatPath(path) };
}

/** Depth-first; on a finding, `path` is left pointing at it. */
function visit(value: unknown, allowed: ReadonlySet<PiiCategory>, path: PropertyKey[], depth: number): PiiCategory | typeof TOO_DEEP | undefined {
  if (typeof value === 'string') {
    const category = valueCategory(value);
    return category !== undefined && !allowed.has(category) ? category : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > MAX_PII_DEPTH) return TOO_DEEP;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      const found = visit(value[i], allowed, path, depth + 1);
      if (found) return found;
      path.pop();
    }
    return undefined;
  }
  const record = value as Record<string, unknown>;
  const isPerson = record.type === 'Person';
  for (const key in record) {
    if (!Object.prototype.hasOwnProperty.call(record, key)) continue;
    path.push(key);
    const byKey = isPerson && NAME_KEYS.has(key) ? 'name' : keyCategory(key);
    if (byKey !== undefined && !allowed.has(byKey)) return byKey;
    const found = visit(record[key], allowed, path, depth + 1);
    if (found) return found;
    path.pop();
  }
  return undefined;
}
