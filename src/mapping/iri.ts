/**
 * The identifiers TimeBack accepts: `urn:uuid:<uuid>` (lowercase), `https://…` URLs, and
 * `urn:email:` (which is personal data, so the PII guard stops it unless a rule allows e-mail).
 * TimeBack resolves every IRI it receives to an entity, so anything else is refused here
 * rather than by TimeBack after delivery.
 */
import { uuidV5 } from './event-ids.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const URN_UUID = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/**
 * What no id may hold: white space, the C0 and C1 controls and DEL (which RFC 3987's IRIs leave
 * out), and the bidirectional formatting characters, which §4.1 says an IRI MUST NOT contain:
 * they make an id read differently from what it is. (`\s` alone let all but the spaces through.)
 */
const NOT_IN_IDS = String.raw`\s\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069`;
// Scheme, then a host of at least one character.
const HTTPS_URL = new RegExp(String.raw`^https:\/\/[^${NOT_IN_IDS}/?#@]+(?:[/?#][^${NOT_IN_IDS}]*)?$`);
const URN_EMAIL = new RegExp(String.raw`^urn:email:[^${NOT_IN_IDS}@]+@[^${NOT_IN_IDS}@]+$`);
const HTTP_URL = new RegExp(String.raw`^http:\/\/[^${NOT_IN_IDS}/?#@]+(?:[/?#][^${NOT_IN_IDS}]*)?$`);

/** The namespace for UUIDs named by a URL (NameSpace_URL, RFC 4122 Appendix C, kept by RFC 9562). */
const URL_NAMESPACE = Buffer.from('6ba7b8119dad11d180b400c04fd430c8', 'hex');

/** A bare UUID, in any case. */
export function isUuid(text: string): boolean {
  return UUID.test(text);
}

/** `urn:uuid:<uuid>` with the URN and the UUID in lowercase. */
export function isUrnUuid(text: string): boolean {
  return URN_UUID.test(text);
}

export function isHttpsUrl(text: string): boolean {
  return HTTPS_URL.test(text);
}

/** True for an IRI TimeBack accepts as an entity id. */
export function isTimebackIri(text: string): boolean {
  return isUrnUuid(text) || isHttpsUrl(text) || URN_EMAIL.test(text);
}

/** A bare UUID or any-case `urn:uuid:` to lowercase `urn:uuid:<uuid>`; undefined otherwise. */
export function toUrnUuid(text: string): string | undefined {
  const trimmed = text.trim();
  const bare = trimmed.length > 9 && trimmed.slice(0, 9).toLowerCase() === 'urn:uuid:' ? trimmed.slice(9) : trimmed;
  return isUuid(bare) ? `urn:uuid:${bare.toLowerCase()}` : undefined;
}

/**
 * Keeps `https://` URLs and `urn:uuid:` IRIs (the latter lowercased, as TimeBack asks), drops
 * everything else. `urn:email:` is left out on purpose: a rule that means to send e-mail
 * addresses writes them explicitly and lists `email` in `allowPii`.
 */
export function toTimebackIri(text: string): string | undefined {
  if (isHttpsUrl(text)) return text;
  if (text.length > 9 && text.slice(0, 9).toLowerCase() === 'urn:uuid:') return toUrnUuid(text);
  return undefined;
}

/**
 * A URL as an id TimeBack accepts: `https://` as it is; `http://`, which TimeBack refuses, as the
 * `urn:uuid:` of its UUID v5 in RFC 9562's URL namespace. Some LTI tools are still served over
 * http; the same URL always gives the same id, so a tool's launches stay one tool, and no https
 * address the tool may not serve is made up. Anything else is no URL: undefined.
 */
export function toUrlIri(text: string): string | undefined {
  if (isHttpsUrl(text)) return text;
  return HTTP_URL.test(text) ? `urn:uuid:${uuidV5(URL_NAMESPACE, text)}` : undefined;
}
