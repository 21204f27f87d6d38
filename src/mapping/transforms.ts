/**
 * The named transforms a rule may apply to a value read from the input. Each returns
 * undefined when its input does not fit, so the next path in a `from` list is tried.
 */
import { withoutTrailingSlashes } from '../ingest/envelope-schema.ts';
import { isRecord } from '../is-record.ts';
import { toCaliperDateTime, toCaliperDuration } from './date-time.ts';
import { copyEntity } from './entity-copy.ts';
import { toTimebackIri, toUrlIri, toUrnUuid } from './iri.ts';

export type Transform = (value: unknown) => unknown;

const NUMERIC_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') {
    const text = value.trim();
    if (!NUMERIC_TEXT.test(text)) return undefined;
    const number = Number(text);
    return Number.isFinite(number) ? number : undefined;
  }
  return undefined;
}

function withoutQueryOrFragment(url: string): string {
  const cut = url.search(/[?#]/);
  return cut === -1 ? url : url.slice(0, cut);
}

export const TRANSFORMS = {
  string: (value) =>
    typeof value === 'string'
      ? value
      : (typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean'
        ? String(value)
        : undefined,
  number: toNumber,
  integer: (value) => {
    const number = toNumber(value);
    return number !== undefined && Number.isInteger(number) ? number : undefined;
  },
  // Learn sends some flags as text ("catUserDefined": "false").
  boolean: (value) => {
    if (typeof value === 'boolean') return value;
    if (typeof value !== 'string') return undefined;
    const text = value.trim().toLowerCase();
    return text === 'true' ? true : text === 'false' ? false : undefined;
  },
  positive: (value) => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined),
  datetime: (value) => (typeof value === 'string' ? toCaliperDateTime(value) : undefined),
  // Caliper's durations are ISO 8601 (`PT30M54S`); seconds as a number say nothing of the unit.
  duration: (value) => (typeof value === 'string' ? toCaliperDuration(value) : undefined),
  'urn-uuid': (value) => (typeof value === 'string' ? toUrnUuid(value) : undefined),
  iri: (value) => (typeof value === 'string' ? toTimebackIri(value.trim()) : undefined),
  // As `iri`, without an IRI whose path ends in a slash: Learn writes `…/sessions/` (empty
  // `name`) for a session it has no id for, and every such event would share that one id.
  'named-iri': (value) => {
    if (typeof value !== 'string') return undefined;
    const iri = toTimebackIri(value.trim());
    if (iri === undefined || !iri.startsWith('https://')) return iri;
    const path = withoutQueryOrFragment(iri).slice('https://'.length).replace(/^[^/]*/, '');
    return path.length > 1 && path.endsWith('/') ? undefined : iri;
  },
  'url-iri': (value) => (typeof value === 'string' ? toUrlIri(value.trim()) : undefined),
  id: (value) => {
    if (typeof value === 'string') return value === '' ? undefined : value;
    if (!isRecord(value)) return undefined;
    const id = value.id ?? value['@id'];
    return typeof id === 'string' && id !== '' ? id : undefined;
  },
  // Launch URLs often carry the user's details in their query string.
  'strip-query': (value) => (typeof value === 'string' ? withoutQueryOrFragment(value) || undefined : undefined),
  'url-origin': (value) => {
    if (typeof value !== 'string' || !/^https?:\/\//i.test(value)) return undefined;
    try {
      const origin = new URL(value).origin;
      return origin === 'null' ? undefined : origin;
    } catch {
      return undefined;
    }
  },
  'last-segment': (value) => {
    if (typeof value !== 'string') return undefined;
    const path = withoutTrailingSlashes(withoutQueryOrFragment(value));
    const slash = path.lastIndexOf('/');
    const segment = slash >= 0 ? path.slice(slash + 1) : path.slice(path.lastIndexOf(':') + 1);
    return segment === '' ? undefined : segment;
  },
  lowercase: (value) => (typeof value === 'string' ? value.toLowerCase() : undefined),
  entity: copyEntity,
} satisfies Record<string, Transform>;

export type TransformName = keyof typeof TRANSFORMS;
export const TRANSFORM_NAMES = Object.keys(TRANSFORMS) as [TransformName, ...TransformName[]];

/** What each transform takes, for the message when a `required` value comes out empty. */
export const TRANSFORM_EXPECTS: Record<TransformName, string> = {
  string: 'text, a number or true/false',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  positive: 'a number above zero',
  datetime: 'an ISO 8601 date-time with a time zone',
  duration: 'an ISO 8601 duration',
  'urn-uuid': 'a UUID',
  iri: 'an https:// or urn:uuid: IRI',
  'named-iri': 'an https:// or urn:uuid: IRI not ending in a slash',
  'url-iri': 'a URL',
  id: 'an entity or an IRI',
  'strip-query': 'a URL',
  'url-origin': 'an http:// or https:// URL',
  'last-segment': 'an IRI',
  lowercase: 'text',
  entity: 'a Caliper entity',
};
