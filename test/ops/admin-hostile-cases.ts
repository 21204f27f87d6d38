/**
 * The hostile-input catalogue for `admin-hostile-input.test.ts`: requests a careless admin, a
 * script with a bug or someone without the token could send to `/admin/*` and the routes
 * that answer without a key (`GET /caliper`, `/healthz`, `/readyz`, `/metrics`), each with the
 * answer the README's HTTP API section requires. None of them may change the database.
 *
 * Generated where a pattern exists (every bad value × every parameter that takes it), so a
 * new parameter gets the same treatment by adding it to a list.
 */
import type { RawRequest } from '../helpers/raw-http.ts';

export const ADMIN_TOKEN = 'hostile-admin-token-7d41c9e2a0b3';
export const INGEST_KEY = 'hostile-admin-ingest-key-3e8f0a61';
/** Roster cache rows the database starts with: Learn ids that must never reach a log line. */
export const CACHED_STUDENTS = ['hostile.student1', 'hostile.student2@school.test', 'hostile.student3'];
/** Learn ids sent in requests but never cached: they must not reach a log line either. */
export const SENT_STUDENT = 'hostile.sent.student9';
/** POST /admin/replay's body limit (the README's 1 MiB). */
const REPLAY_BODY_LIMIT = 1024 * 1024;

export interface AdminCase {
  group: string;
  name: string;
  request: RawRequest;
  status: number;
  /**
   * The error code in `{"error": {"code", "message"}}`; undefined for an answer that is no
   * refusal (a probe, or a token form HTTP allows); `http-parser` for requests Node's parser
   * refuses before any route runs.
   */
  code?: string;
  /** Something the message must contain (the parameter or field it names). */
  mentions?: string;
  /** Extra response headers the answer must carry. */
  header?: [string, RegExp];
}

const bearer = (token = ADMIN_TOKEN): Array<[string, string]> => [['Authorization', `Bearer ${token}`]];

function get(path: string, headers = bearer()): RawRequest {
  return { method: 'GET', path, headers };
}

function replay(body: string | Buffer, headers: Array<[string, string]> = [...bearer(), ['Content-Type', 'application/json']]): RawRequest {
  return { method: 'POST', path: '/admin/replay', headers, body };
}

const invalid = (group: string, name: string, request: RawRequest, mentions: string, code = 'invalid-request'): AdminCase => ({
  group,
  name,
  request,
  status: 400,
  code,
  mentions,
});

function authCases(): AdminCase[] {
  const group = 'admin token';
  const unauthorized = (name: string, request: RawRequest): AdminCase => ({
    group,
    name,
    request,
    status: 401,
    code: 'unauthorized',
    mentions: 'Authorization: Bearer',
    header: ['www-authenticate', /^Bearer realm=/],
  });
  const onEvents = (name: string, headers: Array<[string, string]>) => unauthorized(name, get('/admin/events', headers));
  const wrong = 'hostile-admin-token-7d41c9e2a0b4';
  const cases: AdminCase[] = [
    onEvents('no Authorization header', []),
    onEvents('an empty Authorization header', [['Authorization', '']]),
    onEvents('"Bearer" and no token', [['Authorization', 'Bearer']]),
    onEvents('"Bearer" and spaces', [['Authorization', 'Bearer    ']]),
    onEvents('the token without a scheme', [['Authorization', ADMIN_TOKEN]]),
    onEvents('the token as Basic credentials', [['Authorization', `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`]]),
    onEvents('the token under the Token scheme', [['Authorization', `Token ${ADMIN_TOKEN}`]]),
    onEvents('"Bearer:" with a colon', [['Authorization', `Bearer:${ADMIN_TOKEN}`]]),
    onEvents('a wrong token of the same length', bearer(wrong)),
    onEvents('the token less its last character', bearer(ADMIN_TOKEN.slice(0, -1))),
    onEvents('the token and one more character', bearer(`${ADMIN_TOKEN}0`)),
    onEvents('the token in upper case', bearer(ADMIN_TOKEN.toUpperCase())),
    onEvents('the token twice in one header', [['Authorization', `Bearer ${ADMIN_TOKEN}, Bearer ${ADMIN_TOKEN}`]]),
    // Two Authorization headers reach the app joined ("a, b"): never a match, whichever comes first.
    onEvents('the token, then a wrong one, in two Authorization headers', [...bearer(), ...bearer(wrong)]),
    onEvents('a wrong token, then the token, in two Authorization headers', [...bearer(wrong), ...bearer()]),
    onEvents('the token with a space inside', bearer(`${ADMIN_TOKEN.slice(0, 10)} ${ADMIN_TOKEN.slice(10)}`)),
    onEvents('the token with a Latin-1 byte inside', bearer(`${ADMIN_TOKEN}\u00e9`)),
    onEvents('a token of 8,000 characters', bearer('t'.repeat(8_000))),
    onEvents('the token in the query string only', []),
    onEvents('the token in a cookie only', [['Cookie', `token=${ADMIN_TOKEN}`]]),
    unauthorized('an ingest key for the admin token', get('/admin/events', bearer(INGEST_KEY))),
    unauthorized('no token, on GET /admin/events/1', get('/admin/events/1', [])),
    unauthorized('no token, on GET /admin/roster-cache', get('/admin/roster-cache', [])),
    unauthorized('a wrong token, on DELETE /admin/roster-cache', { method: 'DELETE', path: '/admin/roster-cache', headers: bearer(wrong) }),
    unauthorized('a wrong token, on DELETE /admin/roster-cache/<id>', {
      method: 'DELETE',
      path: `/admin/roster-cache/${CACHED_STUDENTS[0]}`,
      headers: bearer(wrong),
    }),
    unauthorized('a wrong token, on POST /admin/replay', replay('{}', [...bearer(wrong), ['Content-Type', 'application/json']])),
    unauthorized('no token, on POST /admin/replay with a bad body', replay('{"status":', [['Content-Type', 'application/json']])),
    // Refused before a byte of the body is read, with 2 MiB of it on the way (server.ts lingers so the 401 arrives).
    unauthorized('a wrong token, on POST /admin/replay with a 2 MiB body', replay(JSON.stringify({ ids: [1], pad: 'x'.repeat(2 * REPLAY_BODY_LIMIT) }), [...bearer(wrong), ['Content-Type', 'application/json']])),
    unauthorized('no token, on an admin path no route takes', get('/admin/nothing-here', [])),
    unauthorized('no token, on /admin itself', get('/admin/', [])),
    unauthorized('no token, on OPTIONS /admin/events (a browser preflight)', { method: 'OPTIONS', path: '/admin/events', headers: [['Origin', 'https://elsewhere.test']] }),
    // A HEAD answer has no body to check: its status and challenge.
    { ...unauthorized('no token, on HEAD /admin/events', { method: 'HEAD', path: '/admin/events', headers: [] }), code: undefined, mentions: undefined },
    // A header value with a NUL is not HTTP: Node's parser refuses it before any route runs.
    { group, name: 'the token with a NUL after it', request: get('/admin/events', [['Authorization', `Bearer ${ADMIN_TOKEN}\u0000`]]), status: 400, code: 'http-parser' },
    { group, name: 'the token with a NUL inside', request: get('/admin/events', [['Authorization', `Bearer ${ADMIN_TOKEN.slice(0, 6)}\u0000${ADMIN_TOKEN.slice(6)}`]]), status: 400, code: 'http-parser' },
  ];
  // The query-string case above sends no header; give it the token in its query.
  cases.find((c) => c.name === 'the token in the query string only')!.request.path = `/admin/events?access_token=${ADMIN_TOKEN}`;
  // Forms HTTP allows: the scheme is case-insensitive (RFC 9110 §11.1), and the space around a
  // header's value is no part of it. Each reads, and writes nothing.
  const allowed = (name: string, authorization: string): AdminCase => ({
    group,
    name,
    request: get('/admin/events?limit=1', [['Authorization', authorization]]),
    status: 200,
  });
  cases.push(
    allowed('a lower-case scheme', `bearer ${ADMIN_TOKEN}`),
    allowed('an upper-case scheme', `BEARER ${ADMIN_TOKEN}`),
    allowed('two spaces after the scheme', `Bearer  ${ADMIN_TOKEN}`),
    allowed('a trailing space and tab after the token', `Bearer ${ADMIN_TOKEN} \t`),
  );
  return cases;
}

/** Values no number parameter takes, with what each must be told. */
const BAD_NUMBERS: Array<[string, string]> = [
  ['abc', 'must be a number'],
  ['NaN', 'must be a number'],
  ['1.5', 'must be a whole number'],
  ['-1', 'must be at least'],
  ['Infinity', 'must be a number'],
  ['1e400', 'must be a number'],
  ['0x10', 'must be a number'],
  ['1e2', 'must be a number'],
  ['%2012', 'must be a number'],
];

function eventListCases(): AdminCase[] {
  const group = 'GET /admin/events';
  const bad = (query: string, mentions: string) => invalid(group, `?${query}`, get(`/admin/events?${query}`), mentions);
  return [
    ...['delivered2', 'DEAD', '', 'd%D0%B5ad', 'dead%00', '%zz', 'dead,skipped'].map((value) => bad(`fate=${value}`, 'fate: must be one of')),
    bad('status=sent', 'status: must be one of'),
    bad('status=pending&fate=dead', 'fate: status and fate are one filter'),
    bad('reason=', 'reason'),
    bad('reason=%20%20%20', 'reason'),
    ...BAD_NUMBERS.map(([value, message]) => bad(`limit=${value}`, `limit: ${message.replace('at least', 'at least 1')}`)),
    bad('limit=', 'limit: must be at least 1'),
    bad('limit=0', 'limit: must be at least 1'),
    bad('limit=501', 'limit: must be at most 500'),
    bad('limit=99999999999999999999', 'limit'),
    ...['0', '-5', '1.5', 'abc', 'NaN', '', '0x10', '1e3'].map((value) => bad(`before=${value}`, 'before: must be an event number from 1 to 9007199254740991')),
    bad('before=99999999999999999999', 'before: must be an event number from 1 to 9007199254740991'),
    bad(`before=${'9'.repeat(400)}`, 'before: must be an event number from 1 to 9007199254740991'),
    bad('foo=1', 'foo: unknown parameter; use fate (or status), reason, limit, before'),
    bad('Fate=dead', 'Fate: unknown parameter'),
    bad('limit[]=1', 'limit[]'),
    bad('%zz=1', 'unknown parameter'),
    // A reason no event has is a filter like any other: an empty page, nothing changed.
    { group, name: '?reason= of 100 characters', request: get(`/admin/events?reason=${'r'.repeat(100)}`), status: 200 },
    // Longer than any the gateway gives: refused, as replay refuses it.
    invalid(group, '?reason= of 10,000 characters', get(`/admin/events?reason=${'r'.repeat(10_000)}`), 'reason: must be at most 100 characters'),
    // Two values for one filter: which one was meant cannot be known.
    bad('fate=dead&fate=skipped', 'fate: give it once'),
    bad('limit=1&limit=500', 'limit: give it once'),
    bad('foo=1&foo=2', 'foo: unknown parameter'),
    bad(`${'x'.repeat(5_000)}=1`, 'unknown parameter'),
    bad(Array.from({ length: 500 }, (_, i) => `p${i}=1`).join('&'), 'unknown parameter'),
  ];
}

function eventCases(): AdminCase[] {
  const group = 'GET /admin/events/:seq';
  const bad = (seq: string) => invalid(group, `seq ${seq.length > 40 ? `of ${seq.length} characters` : seq}`, get(`/admin/events/${seq}`), 'seq: must be an event number from 1 to 9007199254740991');
  const unmatched = (path: string): AdminCase => ({ group, name: path, request: get(path), status: 404, code: 'not-found', mentions: 'No route' });
  return [
    ...['0', '-1', 'abc', '1.5', 'Infinity', '1e400', '0x10', '1e2', '0b11', '%zz', '99999999999999999999', '9'.repeat(5_000), `${SENT_STUDENT}`].map(bad),
    { group, name: 'a seq no event has', request: get('/admin/events/4294967296'), status: 404, code: 'not-found', mentions: 'No event 4294967296' },
    unmatched('/admin/events/1/'),
    unmatched('/admin/events/1/input'),
    // Dot segments, plain or encoded, are resolved as in any URL (to /admin/, which no route takes).
    unmatched('/admin/events/..'),
    unmatched('/admin/events/%2e%2e'),
    { group, name: 'GET /admin/', request: get('/admin/'), status: 404, code: 'not-found', mentions: 'No route for GET /admin/' },
    { group, name: 'OPTIONS /admin/events/1', request: { method: 'OPTIONS', path: '/admin/events/1', headers: bearer() }, status: 404, code: 'not-found', mentions: 'No route for OPTIONS' },
    { group, name: 'DELETE /admin/events/1', request: { method: 'DELETE', path: '/admin/events/1', headers: bearer() }, status: 404, code: 'not-found', mentions: 'No route for DELETE' },
    { group, name: '/admin/events/../events, the list', request: get('/admin/events/../events?limit=1'), status: 200 },
  ];
}

function replayCases(): AdminCase[] {
  const group = 'POST /admin/replay';
  const bad = (name: string, body: string, mentions: string) => invalid(group, name, replay(body), mentions);
  const notJson = (name: string, request: RawRequest) => invalid(group, name, request, 'not valid JSON', 'invalid-json');
  const deep = 100_000;
  return [
    notJson('a body that is not JSON', replay('status=dead')),
    notJson('JSON cut short', replay('{"status":')),
    notJson('a trailing comma', replay('{"status":"dead",}')),
    notJson('single quotes', replay("{'status':'dead'}")),
    notJson('a lone invalid UTF-8 byte', replay(Buffer.from([0xff]))),
    notJson('form-encoded, as curl -d sends it', replay('status=dead&reason=http-400', [...bearer(), ['Content-Type', 'application/x-www-form-urlencoded']])),
    notJson('nesting 100,000 deep', replay(`${'['.repeat(deep)}${']'.repeat(deep)}`.slice(0, -1))),
    bad('an array', '[]', '(root)'),
    bad('null', 'null', '(root)'),
    bad('a string', '"dead"', '(root)'),
    bad('a number', '4711', '(root)'),
    bad('true', 'true', '(root)'),
    bad('an array nested 100,000 deep', `${'['.repeat(deep)}${']'.repeat(deep)}`, '(root)'),
    bad('ids nested 100,000 deep', `{"ids":${'['.repeat(deep)}${']'.repeat(deep)}}`, 'ids[0]'),
    bad('status delivered', '{"status":"delivered"}', 'status: delivered events are not replayed'),
    bad('status pending', '{"status":"pending"}', 'status'),
    bad('status as a number', '{"status":3}', 'status'),
    bad('fate bogus', '{"fate":"bogus"}', 'fate'),
    bad('status and fate that differ', '{"status":"dead","fate":"skipped"}', 'fate: status and fate are one filter'),
    bad('a duplicate key, the last one bad', '{"status":"dead","status":"delivered"}', 'status'),
    bad('an empty reason', '{"reason":""}', 'reason: must not be empty'),
    bad('a blank reason', '{"reason":"   "}', 'reason: must not be empty'),
    bad('a reason that is a number', '{"reason":400}', 'reason'),
    bad('a reason that is a list', '{"reason":["http-400"]}', 'reason'),
    ...['"yesterday"', '"2026-13-45"', '""', '1700000000', '"2026-11-01 00:00"', '"2026-11-01T00:00:00"'].map((since) =>
      bad(`since ${since}`, `{"since":${since}}`, 'since: must be an ISO 8601'),
    ),
    bad('ids as a string', '{"ids":"4711"}', 'ids'),
    bad('ids as a number', '{"ids":4711}', 'ids'),
    bad('ids as an object', '{"ids":{"0":4711}}', 'ids'),
    ...['true', 'null', '""', '"   "', '{}', '[1]'].map((id) => bad(`an id ${id}`, `{"ids":[1,${id}]}`, 'ids[1]')),
    ...['0', '-1', '1.5', '1e300', '1e400', '9007199254740993'].map((id) => bad(`an id ${id}`, `{"ids":[1,${id}]}`, 'ids[1]: must be an event number from 1 to 9007199254740991')),
    // Longer than any Learn or output id: refused by its length, never looked up or echoed.
    bad('an id of 600,000 characters', JSON.stringify({ ids: [1, `${SENT_STUDENT}${'i'.repeat(600_000)}`] }), 'ids[1]: must be at most 1024 characters (this one has 600021)'),
    bad('10,001 ids', JSON.stringify({ ids: Array.from({ length: 10_001 }, (_, i) => i + 1) }), 'ids: name at most 10,000 events'),
    bad('an unknown field, id for ids', '{"id":[1]}', 'id: unknown field; use status (or fate), reason, since, ids'),
    bad('an unknown field beside good ones', '{"status":"dead","dryRun":true}', 'dryRun: unknown field'),
    bad('a __proto__ field', '{"__proto__":{"status":"dead"}}', '__proto__'),
    bad('a constructor field', '{"constructor":{}}', 'constructor'),
    bad('a field with a name of 10,000 characters', `{"${'k'.repeat(10_000)}":1}`, 'unknown field'),
    {
      group,
      // Refused unread, with the body still arriving: the 413 must not be lost to a reset
      // when the server hangs up (lingering-close.ts).
      name: 'a body over the limit (declared), 2 MiB sent',
      request: replay(JSON.stringify({ ids: [1], pad: 'x'.repeat(2 * REPLAY_BODY_LIMIT) })),
      status: 413,
      code: 'payload-too-large',
      mentions: 'POST /admin/replay',
    },
    {
      group,
      name: 'a Content-Length one byte over the limit, body never sent',
      request: { ...replay(''), headers: [...bearer(), ['Content-Type', 'application/json'], ['Content-Length', String(REPLAY_BODY_LIMIT + 1)]], framing: 'none' },
      status: 413,
      code: 'payload-too-large',
      mentions: 'POST /admin/replay',
    },
    {
      group,
      name: 'a body over the limit (chunked)',
      request: { ...replay(`{"ids":[${'1,'.repeat(REPLAY_BODY_LIMIT / 2)}1]}`), framing: 'chunked', chunkSize: 16 * 1024 },
      status: 413,
      code: 'payload-too-large',
      mentions: 'POST /admin/replay',
    },
    {
      group,
      name: 'a Content-Length of a gigabyte, and no body',
      request: { ...replay(''), headers: [...bearer(), ['Content-Type', 'application/json'], ['Content-Length', String(1024 ** 3)]], framing: 'none' },
      status: 413,
      code: 'payload-too-large',
      mentions: 'POST /admin/replay',
    },
    { group, name: 'GET', request: get('/admin/replay'), status: 404, code: 'not-found', mentions: 'No route for GET /admin/replay' },
    { group, name: 'PUT', request: { ...replay('{}'), method: 'PUT' }, status: 404, code: 'not-found', mentions: 'No route for PUT' },
  ];
}

function rosterCases(): AdminCase[] {
  const group = '/admin/roster-cache';
  const bad = (method: 'GET' | 'DELETE', query: string, mentions: string) =>
    invalid(group, `${method} ?${query}`, { method, path: `/admin/roster-cache?${query}`, headers: bearer() }, mentions);
  const notCached = (name: string, encoded: string): AdminCase => ({
    group,
    name: `DELETE ${name}`,
    request: { method: 'DELETE', path: `/admin/roster-cache/${encoded}`, headers: bearer() },
    status: 404,
    code: 'not-cached',
    mentions: 'is not in the roster cache',
  });
  return [
    ...['maybe', '', 'FOUND', 'found%00', '%zz'].map((value) => bad('GET', `outcome=${value}`, 'outcome: must be one of found, not-found, ambiguous')),
    ...BAD_NUMBERS.map(([value, message]) => bad('GET', `limit=${value}`, `limit: ${message.replace('at least', 'at least 1')}`)),
    bad('GET', 'limit=1001', 'limit: must be at most 1000'),
    ...['-1', '1.5', 'abc', 'NaN'].map((value) => bad('GET', `offset=${value}`, 'offset: must be')),
    bad('GET', 'outcomes=found', 'outcomes: unknown parameter; use outcome, limit, offset'),
    bad('GET', 'outcome=found&outcome=not-found', 'outcome: give it once'),
    // A clear that ignored a mistake would clear more than was meant.
    bad('DELETE', 'outcome=maybe', 'outcome: must be one of'),
    bad('DELETE', 'outcome=', 'outcome: must be one of'),
    bad('DELETE', 'outcom=not-found', 'outcom: unknown parameter; use outcome'),
    bad('DELETE', 'limit=1', 'limit: unknown parameter; use outcome'),
    bad('DELETE', `externalId=${CACHED_STUDENTS[0]}`, 'externalId: unknown parameter'),
    // Taken by its first value, this cleared the not-found entries.
    bad('DELETE', 'outcome=not-found&outcome=found', 'outcome: give it once'),
    notCached('a Learn id never cached', SENT_STUDENT),
    // No cached id can be this long (Learn's are trimmed and at most 1,024 characters), nor blank.
    invalid(group, 'DELETE an id of 6,000 characters', { method: 'DELETE', path: `/admin/roster-cache/${'k'.repeat(6_000)}`, headers: bearer() }, 'a Learn externalId is at most 1024 characters (this one has 6000)'),
    invalid(group, 'DELETE a blank id', { method: 'DELETE', path: '/admin/roster-cache/%20%0A%09', headers: bearer() }, 'a Learn externalId must not be empty'),
    notCached('an id with a line break and an escape', encodeURIComponent(`${SENT_STUDENT}\n\u001b[31m`)),
    notCached('an id with an encoded slash', encodeURIComponent(`${SENT_STUDENT}/x`)),
    notCached('an id with odd unicode', encodeURIComponent(`${SENT_STUDENT}\u202e\u0301\ud83d\ude00`)),
    notCached('an id that is a bad percent-encoding', `${SENT_STUDENT}%zz`),
    // Dot segments are resolved as in any URL: to /admin/, which no route takes; never to the clear.
    ...['..', '%2e%2e', '.%2E', `${SENT_STUDENT}/../..`].map(
      (path): AdminCase => ({
        group,
        name: `DELETE /admin/roster-cache/${path}`,
        request: { method: 'DELETE', path: `/admin/roster-cache/${path}`, headers: bearer() },
        status: 404,
        code: 'not-found',
        mentions: 'No route for DELETE /admin/',
      }),
    ),
    {
      group,
      name: 'DELETE an id with an unencoded slash',
      request: { method: 'DELETE', path: `/admin/roster-cache/${CACHED_STUDENTS[1]}/x`, headers: bearer() },
      status: 404,
      code: 'not-found',
      mentions: 'No route',
    },
    {
      group,
      name: 'DELETE with a trailing slash',
      request: { method: 'DELETE', path: '/admin/roster-cache/', headers: bearer() },
      status: 404,
      code: 'not-found',
      mentions: 'No route',
    },
    {
      group,
      name: 'DELETE a path of 12,000 characters',
      request: { method: 'DELETE', path: `/admin/roster-cache/${SENT_STUDENT}/${'p'.repeat(12_000)}`, headers: bearer() },
      status: 404,
      code: 'not-found',
      mentions: 'No route',
    },
    { group, name: 'POST', request: { method: 'POST', path: '/admin/roster-cache', headers: bearer(), body: '{}' }, status: 404, code: 'not-found', mentions: 'No route' },
    {
      group,
      name: 'PUT an id',
      request: { method: 'PUT', path: `/admin/roster-cache/${CACHED_STUDENTS[0]}`, headers: bearer(), body: '{}' },
      status: 404,
      code: 'not-found',
      mentions: 'No route',
    },
  ];
}

function openRouteCases(): AdminCase[] {
  const group = 'routes without a key';
  const noRoute = (method: string, path: string): AdminCase => ({
    group,
    name: `${method} ${path}`,
    request: { method, path, body: method === 'GET' ? undefined : '{}' },
    status: 404,
    code: 'not-found',
    mentions: `No route for ${method}`,
  });
  const answered = (name: string, request: RawRequest, status: number): AdminCase => ({ group, name, request, status });
  return [
    noRoute('POST', '/healthz'),
    noRoute('DELETE', '/healthz'),
    noRoute('POST', '/readyz'),
    noRoute('PUT', '/metrics'),
    noRoute('GET', '/healthz/'),
    noRoute('GET', '/metrics/x'),
    noRoute('GET', '/HEALTHZ'),
    noRoute('GET', '/admin-events'),
    // Decoded for routing: the message must not carry the line break and escape as sent.
    { ...noRoute('GET', '/nowhere/%0A%1B[31m'), mentions: 'No route for GET "/nowhere/\\n\\u001b[31m"' },
    { group, name: 'PUT /caliper', request: { method: 'PUT', path: '/caliper', body: '{}' }, status: 405, code: 'method-not-allowed', mentions: 'POST' },
    { group, name: 'DELETE /caliper', request: { method: 'DELETE', path: '/caliper' }, status: 405, code: 'method-not-allowed', mentions: 'POST' },
    // Probes take no parameters, and ignore the ones they are sent.
    answered('GET /healthz with a query and a wrong token', { method: 'GET', path: '/healthz?verbose=1&%zz', headers: bearer('wrong') }, 200),
    answered('GET /caliper with an odd query', { method: 'GET', path: `/caliper?x=${'%zz'.repeat(100)}` }, 200),
    answered('GET /metrics asking for OpenMetrics', { method: 'GET', path: '/metrics', headers: [['Accept', 'application/openmetrics-text']] }, 200),
    answered('HEAD /healthz', { method: 'HEAD', path: '/healthz' }, 200),
    // Not ready (no TimeBack settings): the answer is the report, not an error.
    answered('GET /readyz with the admin token', { method: 'GET', path: '/readyz', headers: bearer() }, 503),
  ];
}

export function adminCases(): AdminCase[] {
  return [...authCases(), ...eventListCases(), ...eventCases(), ...replayCases(), ...rosterCases(), ...openRouteCases()];
}
