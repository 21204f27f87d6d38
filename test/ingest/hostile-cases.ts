/**
 * The hostile-input catalogue for `hostile-input.test.ts`: requests a careless or malicious
 * sender could make to POST /caliper, each with the answer the contract requires, and the
 * good requests ("controls") interleaved with them, each with what it must store.
 *
 * Generated, not hand-listed where a pattern exists (every field × every wrong type, every
 * cut point of a good body), so a new field or check gets the same treatment for free.
 */
import { randomUUID } from 'node:crypto';
import type { RawRequest } from '../helpers/raw-http.ts';

export const KEY = 'hostile-input-key-0f3a9c71';
/** MAX_BODY_BYTES for the gateway under test: room for 5,001 small events, cheap to exceed. */
export const BODY_LIMIT = 1024 * 1024;

const CALIPER_1_1 = 'http://purl.imsglobal.org/ctx/caliper/v1p1';
const SENSOR = '0d9f4e1a-6b2c-4a7d-9e3f-5c8b1a2d4e60';
const SEND_TIME = '2026-11-02T14:00:05.000Z';

export interface BadCase {
  group: string;
  name: string;
  request: RawRequest;
  status: number;
  /**
   * The error code in `{"error": {"code", "message"}}`; `http-parser` for requests Node's
   * HTTP parser refuses before the app sees them (a bare 400 or 431, and the connection closed).
   */
  code: string;
  /** Something the message must contain (the field it names). */
  mentions?: string;
  /** Extra response headers the answer must carry. */
  header?: [string, RegExp];
}

export interface Control {
  group: string;
  name: string;
  request: RawRequest;
  /** New rows it must leave: events waiting for translation, and malformed events kept as rejected. */
  pending: number;
  rejected: number;
}

/** The smallest event intake accepts: id, type, actor, action, eventTime. */
function tinyEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: `urn:uuid:${randomUUID()}`,
    type: 'SessionEvent',
    actor: 'urn:hostile:student',
    action: 'LoggedIn',
    eventTime: '2026-11-02T14:00:00.000Z',
    ...overrides,
  };
}

function envelopeOf(data: unknown, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { sensor: SENSOR, sendTime: SEND_TIME, dataVersion: CALIPER_1_1, data, ...overrides };
}

const goodText = (events = 1) => JSON.stringify(envelopeOf(Array.from({ length: events }, () => tinyEvent())));

/** A POST with the right key and content type. */
function post(body: string | Buffer): RawRequest {
  return { headers: json(), body };
}

function json(contentType = 'application/json', authorization = `Bearer ${KEY}`): Array<[string, string]> {
  return [
    ['Authorization', authorization],
    ['Content-Type', contentType],
  ];
}

const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part))));

/** A good envelope's text with `marker` (a JSON string in an event) replaced by raw `replacement`. */
function spliced(replacement: string | Buffer): Buffer {
  const marker = '"@@SPLICE@@"';
  const text = JSON.stringify(envelopeOf([tinyEvent({ extensions: { note: '@@SPLICE@@' } })]));
  const at = text.indexOf(marker);
  return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.isBuffer(replacement) ? replacement : Buffer.from(replacement), Buffer.from(text.slice(at + marker.length))]);
}

function authCases(): BadCase[] {
  const wrong = (name: string, authorization: string | undefined): BadCase => ({
    group: 'keys',
    name,
    request: { headers: authorization === undefined ? [['Content-Type', 'application/json']] : json('application/json', authorization), body: goodText() },
    status: 401,
    code: 'unauthorized',
    header: ['www-authenticate', /^Bearer realm="caliper-gateway"/],
  });
  const other = 'a-different-key-4c1d88e2';
  return [
    wrong('no Authorization header', undefined),
    wrong('an empty Authorization header', ''),
    wrong('"Bearer" with no key', 'Bearer'),
    wrong('"Bearer " and spaces', 'Bearer    '),
    wrong('a wrong key, raw', other),
    wrong('a wrong key, as Bearer', `Bearer ${other}`),
    wrong('the key with its last character cut, raw', KEY.slice(0, -1)),
    wrong('the key with a character added, as Bearer', `Bearer ${KEY}x`),
    wrong('the key in upper case', KEY.toUpperCase()),
    wrong('the key as HTTP Basic credentials', `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`),
    wrong('the key behind another scheme', `Token ${KEY}`),
    wrong('the key twice', `Bearer ${KEY} ${KEY}`),
    wrong('an 8 KB key', `Bearer ${'k'.repeat(8 * 1024)}`),
    {
      ...wrong('the key in the query string only', undefined),
      request: { path: `/caliper?key=${KEY}&api_key=${KEY}`, headers: [['Content-Type', 'application/json']], body: goodText() },
    },
    // Two Authorization headers reach the app joined ("a, b"): never a match, whichever comes first.
    { ...wrong('the key, then a wrong key, in two Authorization headers', KEY), request: { headers: [...json('application/json', KEY), ['Authorization', other]], body: goodText() } },
    { ...wrong('a wrong key, then the key, in two Authorization headers', other), request: { headers: [...json('application/json', other), ['Authorization', `Bearer ${KEY}`]], body: goodText() } },
    // 401 comes first: no other check may tell an unauthenticated caller anything.
    { ...wrong('a wrong key and a wrong content type', other), request: { headers: json('text/plain', other), body: goodText() } },
    { ...wrong('a wrong key and malformed JSON', other), request: { headers: json('application/json', other), body: '{"sensor":' } },
    {
      ...wrong('a wrong key and an oversize Content-Length', other),
      request: { headers: [...json('application/json', other), ['Content-Length', String(BODY_LIMIT * 4)]], body: '{', framing: 'none' },
    },
  ];
}

function contentTypeCases(): BadCase[] {
  const refused = (contentType: string | undefined, body: string | Buffer = goodText()): BadCase => ({
    group: 'content types',
    name: contentType === undefined ? 'no Content-Type' : `Content-Type: ${contentType}`,
    request: {
      headers: contentType === undefined ? [['Authorization', KEY]] : json(contentType),
      body,
    },
    status: 415,
    code: 'unsupported-media-type',
    mentions: 'Content-Type',
  });
  const charset: BadCase[] = ['latin1', 'iso-8859-1', '"utf-16"', 'UTF-16LE', 'us-ascii', 'windows-1252'].map((name) => ({
    ...refused(`application/json; charset=${name}`),
    mentions: 'UTF-8',
  }));
  return [
    refused(undefined),
    refused(''),
    refused('text/plain'),
    refused('text/json'),
    refused('application/x-www-form-urlencoded', `payload=${encodeURIComponent(goodText())}`),
    refused('multipart/form-data; boundary=----x'),
    refused('application/xml'),
    refused('application/jsonx'),
    refused('application/json-seq'),
    refused('application/ld+json'),
    refused('application/*'),
    refused('*/*'),
    refused('json'),
    refused('application/json, text/plain'),
    ...charset,
    {
      ...refused('application/json; charset=utf-16'),
      request: { headers: json('application/json; charset=utf-16'), body: Buffer.from(`\ufeff${goodText()}`, 'utf16le') },
      mentions: 'UTF-8',
    },
  ];
}

function syntaxCases(): BadCase[] {
  const malformed = (name: string, body: string | Buffer, mentions?: string): BadCase => ({
    group: 'JSON syntax',
    name,
    request: post(body),
    status: 400,
    code: 'malformed-json',
    ...(mentions === undefined ? {} : { mentions }),
  });
  const good = goodText(2);
  // Every proper prefix of an object is invalid JSON: cut a good body at spread-out points.
  const cuts = [0, 1, 2, 10, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, -2, -1].map((at) =>
    Math.round(at < 0 ? good.length + at : at < 1 ? good.length * at : at),
  );
  const truncated = [...new Set(cuts)].map((at) => malformed(`the body cut after ${at} of ${good.length} characters`, good.slice(0, at)));
  const event = JSON.stringify(tinyEvent());
  return [
    ...truncated,
    malformed('only whitespace', ' \r\n\t '),
    malformed('a trailing comma in the envelope', `${good.slice(0, -1)},}`, 'trailing comma'),
    malformed('a trailing comma in data', JSON.stringify(envelopeOf([])).replace('[]', `[${event},]`), 'trailing comma'),
    malformed('a trailing comma in an event', JSON.stringify(envelopeOf([])).replace('[]', `[${event.slice(0, -1)},}]`)),
    malformed('a bad escape \\x41', spliced('"\\x41"')),
    malformed('a short \\u escape', spliced('"\\u12"')),
    malformed('a \\u escape with a non-hex digit', spliced('"\\u12G4"')),
    malformed("an escaped single quote \\'", spliced('"it\\\'s"')),
    malformed('a backslash at the end of a string', spliced('"abc\\"')),
    malformed('NaN', spliced('NaN')),
    malformed('Infinity', spliced('Infinity')),
    malformed('-Infinity', spliced('-Infinity')),
    malformed('undefined', spliced('undefined')),
    malformed('a // comment', `// Learn envelope\n${good}`),
    malformed('a /* */ comment', good.replace('{', '{/* sensor below */')),
    malformed('single-quoted strings', spliced("'single'"), 'double quotes'),
    malformed('an unquoted property name', good.replace('"sensor"', 'sensor')),
    malformed('a number with a leading zero', spliced('0123'), 'leading zero'),
    malformed('a hex number', spliced('0x1F')),
    malformed('a number with a plus sign', spliced('+1')),
    malformed('a number starting with a dot', spliced('.5')),
    malformed('a number ending with a dot', spliced('5.')),
    malformed('a raw tab inside a string', spliced('"a\tb"'), 'control character'),
    malformed('a raw newline inside a string', spliced('"line\nbreak"'), 'control character'),
    malformed('a raw NUL byte inside a string', spliced(bytes('"a', [0], 'b"')), 'control character'),
    malformed('a raw NUL byte between values', good.replace(',', ',\u0000')),
    malformed('two JSON values', `${good}${good}`),
    malformed('a value after the envelope', `${good} x`),
    malformed('a missing colon', good.replace('"sensor":', '"sensor" ')),
    malformed('a missing comma', good.replace(',"sendTime"', ' "sendTime"')),
    malformed('an extra closing brace', `${good}}`),
    malformed('an unterminated string', '{"sensor":"abc'),
    malformed('true spelled in capitals', spliced('TRUE')),
    malformed('a smart-quoted property name', good.replace('"sensor"', '\u201csensor\u201d')),
  ];
}

function unicodeCases(): BadCase[] {
  const good = goodText();
  const malformed = (name: string, body: Buffer | string, mentions?: string): BadCase => ({
    group: 'odd unicode',
    name,
    request: post(body),
    status: 400,
    code: 'malformed-json',
    ...(mentions === undefined ? {} : { mentions }),
  });
  const notUtf8 = (name: string, raw: number[]) => malformed(name, spliced(bytes('"a', raw, 'b"')), 'UTF-8');
  return [
    malformed('a byte-order mark and then garbage', `\ufeff{garbage}`),
    malformed('two byte-order marks', `\ufeff\ufeff${good}`),
    malformed('UTF-16LE with its byte-order mark', Buffer.from(`\ufeff${good}`, 'utf16le'), 'UTF-8'),
    malformed('UTF-16BE with its byte-order mark', Buffer.from(`\ufeff${good}`, 'utf16le').swap16(), 'UTF-8'),
    malformed('UTF-32LE', Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), ...[...good].map((c) => Buffer.from([c.charCodeAt(0), 0, 0, 0]))]), 'UTF-8'),
    notUtf8('an overlong "/" (C0 AF)', [0xc0, 0xaf]),
    notUtf8('an overlong three-byte "/" (E0 80 AF)', [0xe0, 0x80, 0xaf]),
    notUtf8('an overlong NUL (C0 80, modified UTF-8)', [0xc0, 0x80]),
    notUtf8('a lone surrogate encoded as bytes (ED A0 80, CESU-8)', [0xed, 0xa0, 0x80]),
    notUtf8('a surrogate pair encoded as two three-byte sequences', [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]),
    notUtf8('a lone continuation byte', [0x80]),
    notUtf8('a lead byte without its continuation', [0xe2, 0x82]),
    notUtf8('the bytes FE FF', [0xfe, 0xff]),
    notUtf8('a code point above U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80]),
    notUtf8('Latin-1 "é" (E9)', [0xe9]),
    malformed('a multi-byte character cut at the end of the body', bytes(good.slice(0, -2), [0xe2, 0x82])),
    malformed('a right-to-left mark between values', good.replace(',', ',\u200f'), 'U+200F'),
    malformed('a no-break space between values', good.replace(',', ',\u00a0'), 'U+00A0'),
    malformed('a line separator between values', good.replace(',', ',\u2028'), 'U+2028'),
    malformed('a zero-width space before the envelope', `\u200b${good}`, 'U+200B'),
    malformed('a right-to-left override in a property name position', good.replace('{', '{\u202e')),
  ];
}

function envelopeCases(): BadCase[] {
  const invalid = (name: string, body: unknown, mentions: string): BadCase => ({
    group: 'wrong types',
    name,
    request: post(typeof body === 'string' ? body : JSON.stringify(body)),
    status: 400,
    code: 'invalid-envelope',
    mentions,
  });
  const wrongValues: Array<[string, unknown]> = [
    ['a number', 42],
    ['null', null],
    ['true', true],
    ['an array', ['x']],
    ['an object', { id: 'x' }],
    ['a huge number', 1e308],
  ];
  const fields = ['sensor', 'sendTime', 'dataVersion', 'data'] as const;
  const cases: BadCase[] = [];
  for (const field of fields) {
    const missing = envelopeOf([tinyEvent()]);
    delete missing[field];
    cases.push(invalid(`${field} missing`, missing, field));
    for (const [what, value] of wrongValues) {
      if (field === 'data' && Array.isArray(value)) continue; // an array of junk is a good envelope of bad events
      cases.push(invalid(`${field} is ${what}`, envelopeOf([tinyEvent()], { [field]: value }), field));
    }
  }
  const roots: Array<[string, string]> = [
    ['an array of envelopes', JSON.stringify([envelopeOf([tinyEvent()])])],
    ['a string', '"envelope"'],
    ['a number', '7'],
    ['null', 'null'],
    ['true', 'true'],
    ['an empty object', '{}'],
  ];
  return [
    ...cases,
    ...roots.map(([what, body]) => invalid(`the body is ${what}`, body, what === 'an empty object' ? 'sensor' : '(root)')),
    invalid('sensor is empty', envelopeOf([tinyEvent()], { sensor: '' }), 'sensor'),
    invalid('sensor is blank', envelopeOf([tinyEvent()], { sensor: ' \t ' }), 'sensor'),
    // Over the 1,024 characters an event id may have: the sensor goes into every row and the resend index.
    invalid('sensor is one character too long', envelopeOf([tinyEvent()], { sensor: `${SENSOR}${'0'.repeat(1_024 - SENSOR.length + 1)}` }), 'sensor'),
    invalid('sendTime is not a date', envelopeOf([tinyEvent()], { sendTime: 'yesterday' }), 'sendTime'),
    invalid('sendTime has no time', envelopeOf([tinyEvent()], { sendTime: '2026-11-02' }), 'sendTime'),
    invalid('sendTime has no time zone', envelopeOf([tinyEvent()], { sendTime: '2026-11-02T14:00:05' }), 'sendTime'),
    invalid('sendTime in month 13', envelopeOf([tinyEvent()], { sendTime: '2026-13-02T14:00:05Z' }), 'sendTime'),
    invalid('sendTime as epoch milliseconds in a string', envelopeOf([tinyEvent()], { sendTime: '1793628005000' }), 'sendTime'),
    invalid('data is empty', envelopeOf([]), 'data'),
    invalid('data is a string', envelopeOf('[{}]'), 'data'),
  ];
}

function dataVersionCases(): BadCase[] {
  const unsupported = (dataVersion: string, name = JSON.stringify(dataVersion)): BadCase => ({
    group: 'dataVersion',
    name: `dataVersion ${name}`,
    request: post(JSON.stringify(envelopeOf([tinyEvent()], { dataVersion }))),
    status: 422,
    code: 'unsupported-data-version',
    mentions: 'dataVersion',
  });
  return [
    unsupported('http://purl.imsglobal.org/ctx/caliper/v1p2'),
    unsupported('http://purl.imsglobal.org/ctx/caliper/v1p0'),
    unsupported('https://purl.imsglobal.org/ctx/caliper/v1p1'),
    unsupported('HTTP://PURL.IMSGLOBAL.ORG/CTX/CALIPER/V1P1'),
    unsupported(` ${CALIPER_1_1}`),
    unsupported(`${CALIPER_1_1} `),
    unsupported(`${CALIPER_1_1}#`),
    unsupported(`${CALIPER_1_1}?v=2`),
    unsupported('v1p1'),
    unsupported('1.1'),
    unsupported(''),
    unsupported(`${CALIPER_1_1}\u200f`),
    unsupported('x'.repeat(256 * 1024), '(a 256 KB string)'),
    // Refused in one pass: a trailing-slash regex held the event loop for seconds on these.
    unsupported(`a${'/'.repeat(200_000)}b`, '(200,000 slashes between two letters)'),
    unsupported(`${'/'.repeat(200_000)}${CALIPER_1_1}`, '(200,000 slashes, then the IRI)'),
  ];
}

function duplicateKeyCases(): BadCase[] {
  // JSON.parse keeps the last of repeated keys, and so must everything after it.
  const good = goodText();
  const withRepeat = (key: string, value: string) => good.replace('{', `{"${key}":${value},`);
  return [
    {
      group: 'duplicate keys',
      name: 'dataVersion v1p1, then again as v1p2',
      request: post(good.replace(/}$/, ',"dataVersion":"http://purl.imsglobal.org/ctx/caliper/v1p2"}')),
      status: 422,
      code: 'unsupported-data-version',
      mentions: 'v1p2',
    },
    {
      group: 'duplicate keys',
      name: 'good data, then data again as a string',
      request: post(good.replace(/}$/, ',"data":"none"}')),
      status: 400,
      code: 'invalid-envelope',
      mentions: 'data',
    },
    {
      group: 'duplicate keys',
      name: 'good data, then data again empty',
      request: post(good.replace(/}$/, ',"data":[]}')),
      status: 400,
      code: 'invalid-envelope',
      mentions: 'data',
    },
    {
      group: 'duplicate keys',
      name: 'a good sensor, then sensor again as null',
      request: post(good.replace(/}$/, ',"sensor":null}')),
      status: 400,
      code: 'invalid-envelope',
      mentions: 'sensor',
    },
    {
      group: 'duplicate keys',
      name: 'sendTime repeated, the last one not a date',
      request: post(good.replace(/}$/, ',"sendTime":"soon"}')),
      status: 400,
      code: 'invalid-envelope',
      mentions: 'sendTime',
    },
    {
      group: 'duplicate keys',
      name: 'a syntax error inside a repeated key',
      request: post(withRepeat('data', '[1,,2]')),
      status: 400,
      code: 'malformed-json',
    },
  ];
}

function sizeCases(): BadCase[] {
  const tooLarge = (name: string, request: RawRequest): BadCase => ({
    group: 'oversize bodies',
    name,
    request,
    status: 413,
    code: 'payload-too-large',
    mentions: 'MAX_BODY_BYTES',
  });
  // A real envelope just over the limit: big events, all well-formed.
  const padded = (bytesWanted: number) => {
    const event = tinyEvent({ extensions: { note: 'x'.repeat(16 * 1024) } });
    const count = Math.ceil(bytesWanted / JSON.stringify(event).length);
    return JSON.stringify(envelopeOf(Array.from({ length: count }, () => tinyEvent({ extensions: { note: 'x'.repeat(16 * 1024) } }))));
  };
  const overLimit = padded(BODY_LIMIT + 1);
  const declared = (length: string) => ({
    headers: [...json(), ['Content-Length', length]] as Array<[string, string]>,
    body: '{',
    framing: 'none' as const,
  });
  return [
    tooLarge('a real envelope one event over the limit, with Content-Length', post(overLimit)),
    tooLarge('a real envelope over the limit, chunked', { ...post(overLimit), framing: 'chunked', chunkSize: 64 * 1024 }),
    tooLarge('chunked in tiny chunks over the limit', { ...post(`{"sensor":"${'s'.repeat(BODY_LIMIT)}"}`), framing: 'chunked', chunkSize: 16 * 1024 }),
    tooLarge('a Content-Length one byte over the limit, body never sent', declared(String(BODY_LIMIT + 1))),
    tooLarge('a Content-Length of 10 GB', declared(String(10 * 1024 ** 3))),
    tooLarge('a Content-Length of 2^60, beyond exact integers', declared(String(2n ** 60n))),
    {
      group: 'oversize bodies',
      name: 'the content type is checked before the size',
      request: { headers: [...json('text/plain'), ['Content-Length', String(BODY_LIMIT * 2)]], body: '{', framing: 'none' },
      status: 415,
      code: 'unsupported-media-type',
    },
  ];
}

function nestingAndHugeCases(): BadCase[] {
  const depth = 10_000;
  const deepArray = '['.repeat(depth) + ']'.repeat(depth);
  const deepObject = '{"a":'.repeat(depth) + '{}' + '}'.repeat(depth);
  const huge = 'h'.repeat(512 * 1024);
  const envelopeText = (field: string, raw: string) => {
    const marker = '"@@FIELD@@"';
    const text = JSON.stringify(envelopeOf([tinyEvent()], { [field]: '@@FIELD@@' }));
    return text.replace(marker, raw);
  };
  return [
    { group: 'deep nesting', name: `the body is an array nested ${depth} deep`, request: post(deepArray), status: 400, code: 'invalid-envelope', mentions: '(root)' },
    { group: 'deep nesting', name: `sensor is an array nested ${depth} deep`, request: post(envelopeText('sensor', deepArray)), status: 400, code: 'invalid-envelope', mentions: 'sensor' },
    { group: 'deep nesting', name: `dataVersion is an object nested ${depth} deep`, request: post(envelopeText('dataVersion', deepObject)), status: 400, code: 'invalid-envelope', mentions: 'dataVersion' },
    { group: 'deep nesting', name: `data is an object nested ${depth} deep`, request: post(envelopeText('data', deepObject)), status: 400, code: 'invalid-envelope', mentions: 'data' },
    { group: 'deep nesting', name: '100,000 unclosed arrays', request: post('['.repeat(100_000)), status: 400, code: 'malformed-json' },
    { group: 'deep nesting', name: '100,000 unclosed objects', request: post('{"a":'.repeat(100_000)), status: 400, code: 'malformed-json' },
    { group: 'deep nesting', name: 'a syntax error 20,000 objects deep', request: post(`${'{"a":'.repeat(20_000)}NaN${'}'.repeat(20_000)}`), status: 400, code: 'malformed-json' },
    { group: 'deep nesting', name: 'a syntax error inside an event nested 10,000 deep', request: post(spliced(`${'['.repeat(depth)}1,,${']'.repeat(depth)}`)), status: 400, code: 'malformed-json' },
    { group: 'huge strings', name: 'a 512 KB sendTime', request: post(JSON.stringify(envelopeOf([tinyEvent()], { sendTime: huge }))), status: 400, code: 'invalid-envelope', mentions: 'sendTime' },
    { group: 'huge strings', name: 'a 512 KB sensor', request: post(JSON.stringify(envelopeOf([tinyEvent()], { sensor: huge }))), status: 400, code: 'invalid-envelope', mentions: 'sensor' },
    { group: 'huge strings', name: 'a 512 KB sensor of spaces', request: post(JSON.stringify(envelopeOf([tinyEvent()], { sensor: ' '.repeat(512 * 1024) }))), status: 400, code: 'invalid-envelope', mentions: 'sensor' },
    { group: 'huge strings', name: 'a 512 KB property name holding NaN', request: post(`{"${huge}":NaN}`), status: 400, code: 'malformed-json' },
    { group: 'huge strings', name: 'a 512 KB string never closed', request: post(`{"sensor":"${huge}`), status: 400, code: 'malformed-json', mentions: 'never closed' },
    { group: 'huge strings', name: 'a 512 KB string with a bad escape at its end', request: post(spliced(`"${huge}\\q"`)), status: 400, code: 'malformed-json', mentions: 'escape' },
    { group: 'huge strings', name: 'a 512 KB number as the sensor', request: post(envelopeText('sensor', '9'.repeat(512 * 1024))), status: 400, code: 'invalid-envelope', mentions: 'sensor' },
    { group: 'huge strings', name: '5,001 events (one over the limit)', request: post(goodText(5_001)), status: 413, code: 'payload-too-large', mentions: 'data' },
    { group: 'huge strings', name: '5,001 nulls as data', request: post(JSON.stringify(envelopeOf(Array.from({ length: 5_001 }, () => null)))), status: 413, code: 'payload-too-large', mentions: '5000' },
  ];
}

function methodCases(): BadCase[] {
  return ['PUT', 'DELETE', 'PATCH', 'OPTIONS'].map((method) => ({
    group: 'methods',
    name: `${method} /caliper`,
    request: { method, headers: json(), body: method === 'DELETE' || method === 'OPTIONS' ? '' : goodText() },
    status: 405,
    code: 'method-not-allowed',
    mentions: method,
    header: ['allow', /POST/],
  }));
}

/**
 * Requests that are not HTTP/1.1 as Node parses it: Node answers them itself (a bare 400 or
 * 431, then closes) before any route runs, so there is no JSON body, and nothing to store.
 */
function transportCases(): BadCase[] {
  const good = goodText(3);
  const refused = (name: string, request: RawRequest, status = 400): BadCase => ({ group: 'HTTP framing', name, request, status, code: 'http-parser' });
  return [
    refused('both Content-Length and Transfer-Encoding: chunked', { headers: [...json(), ['Content-Length', String(good.length)], ['Transfer-Encoding', 'chunked']], body: good, framing: 'none' }),
    refused('two different Content-Length headers', { headers: [...json(), ['Content-Length', String(good.length)], ['Content-Length', '5']], body: good, framing: 'none' }),
    refused('a Content-Length that is not a number', { headers: [...json(), ['Content-Length', 'lots']], body: good, framing: 'none' }),
    refused('a negative Content-Length', { headers: [...json(), ['Content-Length', '-1']], body: good, framing: 'none' }),
    refused('a Content-Length beyond 2^64', { headers: [...json(), ['Content-Length', '99999999999999999999999']], body: good, framing: 'none' }),
    refused('a chunk size that is not hex', { headers: [...json(), ['Transfer-Encoding', 'chunked']], body: `zz\r\n${good}\r\n0\r\n\r\n`, framing: 'none' }),
    refused('a NUL byte in a header value', { headers: json('application/json', `Bearer ${KEY}\u0000`), body: good }),
    refused('a Content-Length longer than the body, then the sender hangs up', { headers: [...json(), ['Content-Length', String(good.length + 100)]], body: good, framing: 'none', endEarly: true }),
    refused('a chunked body whose sender hangs up before the last chunk', { headers: json(), body: good, framing: 'chunked', chunkSize: 100, endEarly: true }),
    refused('an Authorization header of 20 KB (over the header size limit)', { headers: json('application/json', `Bearer ${'k'.repeat(20 * 1024)}`), body: good }, 431),
  ];
}

export function badCases(): BadCase[] {
  return [
    ...authCases(),
    ...contentTypeCases(),
    ...syntaxCases(),
    ...unicodeCases(),
    ...envelopeCases(),
    ...dataVersionCases(),
    ...duplicateKeyCases(),
    ...sizeCases(),
    ...nestingAndHugeCases(),
    ...methodCases(),
    ...transportCases(),
  ];
}

/**
 * Good requests with odd but legal content. Each stores exactly what it says; together with
 * the bad requests around them they prove a refusal never takes a good neighbour with it.
 */
export function controls(): Control[] {
  const control = (name: string, request: RawRequest, pending: number, rejected = 0): Control => ({ group: 'controls', name, request, pending, rejected });
  const one = () => JSON.stringify(envelopeOf([tinyEvent()]));
  const malformedEvents: unknown[] = [
    null,
    1,
    'an event',
    [],
    {},
    tinyEvent({ id: 1 }),
    tinyEvent({ id: '   ' }),
    tinyEvent({ type: '' }),
    tinyEvent({ eventTime: undefined }),
    tinyEvent({ eventTime: 'yesterday' }),
    tinyEvent({ eventTime: '2026-11-02T14:00:00' }),
    tinyEvent({ actor: 5 }),
    tinyEvent({ actor: [] }),
    tinyEvent({ actor: { id: 7 } }),
    tinyEvent({ action: null }),
    // Over the 1,024 characters an id, type or action may have (held whole, they went into the row and its index).
    tinyEvent({ id: `urn:uuid:${'0'.repeat(200_000)}` }),
    tinyEvent({ type: 'T'.repeat(1_025) }),
    tinyEvent({ action: ` ${'A'.repeat(1_025)} ` }),
  ];
  const deepElement = '['.repeat(10_000) + ']'.repeat(10_000);
  const deepInside = '{"a":'.repeat(10_000) + '{}' + '}'.repeat(10_000);
  const splicedEvent = (raw: string) => {
    const text = JSON.stringify(envelopeOf([tinyEvent({ extensions: { deep: '@@X@@' } })]));
    return text.replace('"@@X@@"', raw);
  };
  return [
    control('raw key', { headers: json('application/json', KEY), body: one() }, 1),
    control('Bearer key, lower case scheme and extra spaces', { headers: json('application/json', `bearer    ${KEY}  `), body: one() }, 1),
    control('Content-Type with charset=UTF-8 in capitals', { headers: json('Application/JSON; charset="UTF-8"'), body: one() }, 1),
    control('Content-Type with charset=utf8 and no space', { headers: json('application/json;charset=utf8'), body: one() }, 1),
    control('chunked body', { headers: json(), body: JSON.stringify(envelopeOf([tinyEvent(), tinyEvent()])), framing: 'chunked', chunkSize: 50 }, 2),
    control('a byte-order mark before the envelope', post(`\ufeff${one()}`), 1),
    control('dataVersion with a trailing slash', post(JSON.stringify(envelopeOf([tinyEvent()], { dataVersion: `${CALIPER_1_1}/` }))), 1),
    control(
      'strings with RTL marks, escaped NULs, emoji, a line separator and an escaped lone surrogate',
      post(JSON.stringify(envelopeOf([tinyEvent({ extensions: { name: '\u202eevil\u200f \u0000 🎓 \u2028 e\u0301' } })])).replace('\\u0000', '\\u0000\\ud800')),
      1,
    ),
    control('repeated keys: a bad dataVersion, then a good one', post(one().replace(/}$/, `,"dataVersion":"${CALIPER_1_1}"}`).replace('{', '{"dataVersion":"v9",')), 1),
    control('repeated keys: junk data, then good data', post(one().replace('{', '{"data":"junk",')), 1),
    control('repeated event id inside one event: the last one counts', post(JSON.stringify(envelopeOf([tinyEvent()])).replace('{"id":', `{"id":"urn:uuid:${randomUUID()}","id":`)), 1),
    control('a 512 KB property name the envelope does not use', post(one().replace('{', `{"${'k'.repeat(512 * 1024)}":1,`)), 1),
    control(`malformed events (${malformedEvents.length}) around two good ones, kept as rejected`, post(JSON.stringify(envelopeOf([tinyEvent(), ...malformedEvents, tinyEvent()]))), 2, malformedEvents.length),
    control('an event that is an array nested 10,000 deep, kept as rejected', post(JSON.stringify(envelopeOf([tinyEvent(), '@@X@@'])).replace('"@@X@@"', deepElement)), 1, 1),
    control('a good event carrying an object nested 10,000 deep', post(splicedEvent(deepInside)), 1),
    control('5,000 events (the most an envelope may hold)', post(goodText(5_000)), 5_000),
  ];
}
