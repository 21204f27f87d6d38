import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CALIPER_1_1, envelope, forumEvent, sessionEvent, TEST_SITE } from '../helpers/caliper-events.ts';
import { createTestGateway, postCaliper, TEST_KEY, type TestGateway } from '../helpers/test-gateway.ts';
import { storedInputs } from '../helpers/stored-inputs.ts';
import { firstUnshown } from '../helpers/unshown.ts';
import { MAX_EVENT_FIELD_CHARS } from '../../src/ingest/envelope-schema.ts';
import { writerThreadStopped } from '../../src/store/writer-thread.ts';
import { createStoreWriter } from '../../src/store/writer.ts';

const NOW = Date.UTC(2026, 2, 2, 10, 1, 10);

let gateway: TestGateway;
let woken = 0;

beforeEach(() => {
  woken = 0;
  gateway = createTestGateway({ now: () => NOW, onEventsStored: () => void (woken += 1) });
});
afterEach(() => gateway.close());

interface EventRow {
  seq: number;
  envelope_id: number;
  sensor: string;
  source_id: string | null;
  type: string | null;
  action: string | null;
  event_time: string | null;
  raw: string;
  fate: string;
  stage: string | null;
  reason: string | null;
  detail: string | null;
  next_attempt_at: number | null;
  received_at: number;
}

const events = (g = gateway): EventRow[] => {
  const inputs = storedInputs(g.store.sqlite);
  const rows = g.store.sqlite.prepare('SELECT * FROM events ORDER BY seq').all() as EventRow[];
  return rows.map((row, i) => ({ ...row, raw: inputs[i]!.raw! }));
};
const envelopes = (g = gateway) =>
  g.store.sqlite.prepare('SELECT * FROM envelopes ORDER BY id').all() as Array<Record<string, number | string>>;

async function errorOf(response: Response) {
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as { error: { code: string; message: string } };
  return body.error;
}

describe('POST /caliper accepts an envelope', () => {
  it('stores every event as pending, then answers 200 with an empty body', async () => {
    const sent = envelope([sessionEvent(), forumEvent()]);
    const response = await postCaliper(gateway, sent);

    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
    const rows = events();
    expect(rows).toHaveLength(2);
    const data = sent.data as Array<Record<string, string>>;
    rows.forEach((row, i) => {
      expect(row).toMatchObject({
        sensor: TEST_SITE,
        source_id: data[i]!.id,
        type: data[i]!.type,
        action: data[i]!.action,
        event_time: data[i]!.eventTime,
        fate: 'pending',
        stage: 'translate',
        reason: null,
        next_attempt_at: NOW,
        received_at: NOW,
      });
      expect(JSON.parse(row.raw)).toEqual(data[i]);
    });
    expect(envelopes()).toEqual([
      expect.objectContaining({ sensor: TEST_SITE, event_count: 2, stored_count: 2, rejected_count: 0, duplicate_count: 0 }),
    ]);
    expect(woken).toBe(1);
  });

  it('stores each event as the exact text Learn sent, spacing and escapes included', async () => {
    const first = JSON.stringify(sessionEvent({ id: 'a3c1e2f4-0b5d-4c6e-8f7a-9b0c1d2e3f40' }), null, 2).replace(
      '"LoggedIn"',
      '"Logged\\u0049n"',
    );
    const second = JSON.stringify(forumEvent({ note: 'brackets ] } and a quote \\" inside', data: [1, { data: 2 }] }));
    const body = `{\n  "sensor": "${TEST_SITE}",\n  "dataVersion": "${CALIPER_1_1}",\n  "sendTime": "2026-03-02T10:01:09.120Z",\n  "data": [ ${first} ,\n${second}\n]\n}`;
    const response = await postCaliper(gateway, undefined, { raw: body });

    expect(response.status).toBe(200);
    expect(events().map((row) => row.raw)).toEqual([first, second]);
    expect(events()[0]!.action).toBe('LoggedIn');
  });

  it('accepts both key forms and every configured key', async () => {
    gateway.close();
    gateway = createTestGateway({ keys: ['first-key-1f2e3d4c', 'second-key-9a8b7c6d'] });
    const send = (authorization: string) =>
      postCaliper(gateway, envelope([sessionEvent()]), { headers: { authorization } });

    expect((await send('first-key-1f2e3d4c')).status).toBe(200);
    expect((await send('Bearer first-key-1f2e3d4c')).status).toBe(200);
    expect((await send('second-key-9a8b7c6d')).status).toBe(200);
    expect((await send('bearer   second-key-9a8b7c6d')).status).toBe(200);
    expect(events()).toHaveLength(4);
  });

  it('accepts application/json with parameters', async () => {
    for (const contentType of ['application/json; charset=utf-8', 'Application/JSON;charset="UTF-8"']) {
      const response = await postCaliper(gateway, envelope([sessionEvent()]), { headers: { 'content-type': contentType } });
      expect(response.status).toBe(200);
    }
  });

  it('accepts a 5,000-event envelope of about 25 MB', { timeout: 60_000 }, async () => {
    const data = Array.from({ length: 5000 }, () => forumEvent({}, 4200));
    const body = JSON.stringify(envelope(data));
    expect(body.length).toBeGreaterThan(24_000_000);

    const response = await postCaliper(gateway, undefined, { raw: body });

    expect(response.status).toBe(200);
    const count = gateway.store.sqlite.prepare("SELECT count(*) AS n FROM events WHERE fate = 'pending'").get() as { n: number };
    expect(count.n).toBe(5000);
    expect(envelopes()[0]).toMatchObject({ event_count: 5000, stored_count: 5000, bytes: Buffer.byteLength(body) });
  });

  it('logs one line for the request with its status and event count', async () => {
    await postCaliper(gateway, envelope([sessionEvent(), sessionEvent(), sessionEvent()]));
    const lines = gateway.logLines().filter((line) => line.msg === 'request');
    expect(lines).toEqual([expect.objectContaining({ level: 'info', method: 'POST', path: '/caliper', status: 200, events: 3 })]);
  });

  it('counts received, stored, duplicate and rejected events in the metrics', async () => {
    const repeated = sessionEvent();
    await postCaliper(gateway, envelope([repeated, sessionEvent(), { ...sessionEvent(), action: '' }]));
    await postCaliper(gateway, envelope([repeated]));

    const text = await gateway.metrics.render();
    expect(text).toMatch(/^caliper_gateway_envelopes_received_total 2$/m);
    expect(text).toMatch(/^caliper_gateway_events_received_total 4$/m);
    expect(text).toMatch(/^caliper_gateway_events_stored_total 2$/m);
    expect(text).toMatch(/^caliper_gateway_events_duplicate_total 1$/m);
    expect(text).toMatch(/^caliper_gateway_events_rejected_total\{reason="invalid-event"\} 1$/m);
  });
});

describe('POST /caliper checks each event on its own', () => {
  it('stores malformed events as rejected with the message, and the rest as pending', async () => {
    const good = sessionEvent();
    const badTime = sessionEvent({ eventTime: 'yesterday' });
    const noId = forumEvent();
    delete noId.id;
    const response = await postCaliper(gateway, envelope([good, badTime, noId, 'not an event', forumEvent({ actor: null })]));

    expect(response.status).toBe(200);
    const rows = events();
    expect(rows.map((row) => [row.fate, row.reason, row.stage])).toEqual([
      ['pending', null, 'translate'],
      ['rejected', 'invalid-event', null],
      ['rejected', 'invalid-event', null],
      ['rejected', 'invalid-event', null],
      ['rejected', 'invalid-event', null],
    ]);
    expect(rows[1]!.detail).toMatch(/^data\[1\]\.eventTime: expected an ISO 8601 date-time/);
    expect(rows[1]!.source_id).toBe(badTime.id);
    expect(rows[2]!.detail).toMatch(/^data\[2\]\.id: /);
    expect(rows[2]!.source_id).toBeNull();
    expect(rows[3]).toMatchObject({ detail: 'data[3]: expected an event object', raw: '"not an event"' });
    expect(rows[4]!.detail).toMatch(/^data\[4\]\.actor: /);
    expect(JSON.parse(rows[2]!.raw)).toEqual(noId);
    expect(envelopes()[0]).toMatchObject({ event_count: 5, stored_count: 1, rejected_count: 4, duplicate_count: 0 });
  });

  it('keeps an event over 1 MiB as rejected, without reading it', async () => {
    // 3 bytes of JSON, a heap object each: parsed, 60 MB of these took the gateway to 4.3 GB.
    const marker = '"@@DENSE@@"';
    const dense = `[${'{},'.repeat(400_000)}{}]`;
    const text = JSON.stringify(envelope([sessionEvent(), forumEvent({ extensions: '@@DENSE@@' })])).replace(marker, dense);
    const response = await postCaliper(gateway, undefined, { raw: text });

    expect(response.status).toBe(200);
    const rows = events();
    expect(rows.map((row) => [row.fate, row.reason, row.stage])).toEqual([
      ['pending', null, 'translate'],
      ['rejected', 'invalid-event', null],
    ]);
    expect(rows[1]!.detail).toMatch(/^data\[1\]: the event is \d+ bytes; an event over 1048576 bytes is kept as sent, not read$/);
    expect(rows[1]!.raw).toContain(dense);
    expect(envelopes()[0]).toMatchObject({ event_count: 2, stored_count: 1, rejected_count: 1 });
  });

  it('rejects an event whose id is over the bound, keeping a short stand-in for it, and stores its resend once', async () => {
    const longId = `urn:uuid:${'7'.repeat(600_000)}`;
    const long = sessionEvent({ id: longId });
    const sent = envelope([sessionEvent(), long, forumEvent()]);
    const response = await postCaliper(gateway, sent);
    const resend = await postCaliper(gateway, envelope([{ ...long }]));

    expect(response.status).toBe(200);
    expect(resend.status).toBe(200);
    const rows = events();
    expect(rows.map((row) => [row.fate, row.reason])).toEqual([
      ['pending', null],
      ['rejected', 'invalid-event'],
      ['pending', null],
    ]);
    expect(rows[1]!.detail).toBe(
      `data[1].id: the event id has ${longId.length} characters; at most ${MAX_EVENT_FIELD_CHARS} are allowed (Learn's are UUIDs)`,
    );
    expect(rows[1]!.source_id).toMatch(/^urn:uuid:7+… \(600009 characters, sha256 [0-9a-f]{64}\)$/);
    expect(rows[1]!.source_id!.length).toBeLessThan(200);
    expect(JSON.parse(rows[1]!.raw)).toEqual(long);
    expect(envelopes().map((row) => [row.stored_count, row.rejected_count, row.duplicate_count])).toEqual([
      [2, 1, 0],
      [0, 0, 1],
    ]);
  });

  it('stores a resent event once, within one envelope and across envelopes', async () => {
    const once = sessionEvent();
    const first = await postCaliper(gateway, envelope([once, { ...once }, sessionEvent()]));
    const resend = await postCaliper(gateway, envelope([{ ...once }, forumEvent()]));

    expect(first.status).toBe(200);
    expect(resend.status).toBe(200);
    expect(events().filter((row) => row.source_id === once.id)).toHaveLength(1);
    expect(events()).toHaveLength(3);
    expect(envelopes().map((row) => [row.stored_count, row.duplicate_count])).toEqual([
      [2, 1],
      [1, 1],
    ]);
  });

  it('keeps two different events that share an id (Learn does not promise unique ids)', async () => {
    const first = sessionEvent();
    const second = { ...first, eventTime: '2026-03-02T10:40:03.112Z' };
    await postCaliper(gateway, envelope([first, second]));
    expect(events().filter((row) => row.source_id === first.id).map((row) => row.event_time)).toEqual([
      first.eventTime,
      second.eventTime,
    ]);
    expect(envelopes()[0]).toMatchObject({ stored_count: 2, duplicate_count: 0 });
  });

  it('keeps the same event id from different sensors apart', async () => {
    const shared = sessionEvent();
    await postCaliper(gateway, envelope([shared]));
    await postCaliper(gateway, envelope([{ ...shared }], { sensor: 'b6f2d8e0-3c4a-4e1b-9d7f-0a2c4e6f8b1d' }));
    expect(events()).toHaveLength(2);
  });
});

describe('POST /caliper refuses bad requests, storing nothing', () => {
  afterEach(() => {
    expect(events()).toEqual([]);
    expect(envelopes()).toEqual([]);
    expect(woken).toBe(0);
  });

  it('401 without an Authorization header', async () => {
    const response = await postCaliper(gateway, envelope([sessionEvent()]), { headers: { authorization: '' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await errorOf(response)).toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/^No API key/) });
  });

  it('401 with a wrong key, in either form', async () => {
    for (const authorization of ['wrong-key-00000000', 'Bearer wrong-key-00000000', `Bearer ${TEST_KEY}x`, `Basic ${TEST_KEY}`]) {
      const response = await postCaliper(gateway, envelope([sessionEvent()]), { headers: { authorization } });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
      expect((await errorOf(response)).message).toMatch(/not recognised/);
    }
  });

  it('401 comes before every other check', async () => {
    const response = await postCaliper(gateway, undefined, {
      headers: { authorization: 'nope-nope-nope', 'content-type': 'text/plain' },
      raw: 'not json',
    });
    expect(response.status).toBe(401);
  });

  it('415 unless the body is declared as UTF-8 JSON', async () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'application/json; charset=iso-8859-1']) {
      const response = await postCaliper(gateway, envelope([sessionEvent()]), { headers: { 'content-type': contentType } });
      expect(response.status).toBe(415);
      expect(await errorOf(response)).toMatchObject({ code: 'unsupported-media-type' });
    }
    const missing = await gateway.app.request('/caliper', {
      method: 'POST',
      headers: { authorization: TEST_KEY },
      body: new Blob([JSON.stringify(envelope([sessionEvent()]))]),
    });
    expect(missing.status).toBe(415);
    expect((await errorOf(missing)).message).toMatch(/got none/);
  });

  it('400 for malformed JSON, saying where', async () => {
    const text = JSON.stringify(envelope([sessionEvent(), sessionEvent()])).replace('"type":"Person",', '"type":"Person"');
    const response = await postCaliper(gateway, undefined, { raw: text });
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe('malformed-json');
    expect(error.message).toMatch(/^The body is not valid JSON in data\[0\]\.actor\.type \(line 1, column \d+\): expected "," or "}" after a property value, found """$/);
  });

  it('400 for a syntax error in an event over 1 MiB, or in a body over 1 MiB that is no envelope, saying where', async () => {
    const dense = (n: number) => `[${'{},'.repeat(n)}{}]`;
    const cases: Array<[string, string, RegExp]> = [
      [
        JSON.stringify(envelope([sessionEvent(), forumEvent({ extensions: '@@X@@' })])).replace('"@@X@@"', dense(400_000).replace(/]$/, ',]')),
        'malformed-json',
        /^The body is not valid JSON in data\[1\]\.extensions\[400001\] \(line 1, column \d+\): /,
      ],
      [dense(400_000), 'invalid-envelope', /^\(root\): expected a Caliper envelope object/],
      [`{"sensor":"s","data":${dense(400_000).replace('[', '{"a":[')}}}`, 'invalid-envelope', /^data: expected a list of events/],
      [JSON.stringify({ ...envelope([sessionEvent()]), extensions: '@@X@@' }).replace('"@@X@@"', dense(400_000)), 'invalid-envelope', /^\(root\): the envelope's members besides data take \d+ characters/],
    ];
    for (const [text, code, message] of cases) {
      const response = await postCaliper(gateway, undefined, { raw: text });
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toMatchObject({ code, message: expect.stringMatching(message) });
    }
    expect(events()).toEqual([]);
  });

  it('400 for an empty body and for bytes that are not UTF-8', async () => {
    const empty = await postCaliper(gateway, undefined, { raw: '' });
    expect(empty.status).toBe(400);
    expect((await errorOf(empty)).message).toMatch(/empty/);
    const latin1 = await postCaliper(gateway, undefined, { raw: new Uint8Array([0x7b, 0x22, 0xe9, 0x22, 0x7d]) });
    expect(latin1.status).toBe(400);
    expect((await errorOf(latin1)).message).toMatch(/UTF-8/);
  });

  it('400 for an envelope with a missing or wrong field, naming it', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [[sessionEvent()], /^\(root\): expected a Caliper envelope object/],
      [{ ...envelope([sessionEvent()]), sendTime: undefined }, /^sendTime: /],
      [{ ...envelope([sessionEvent()]), sendTime: '2026-03-02' }, /^sendTime: expected an ISO 8601 date-time/],
      [{ ...envelope([sessionEvent()]), sensor: ' ' }, /^sensor: the sensor id is empty/],
      [
        { ...envelope([sessionEvent()]), sensor: `${TEST_SITE}${'0'.repeat(MAX_EVENT_FIELD_CHARS)}` },
        new RegExp(`^sensor: the sensor id has ${TEST_SITE.length + MAX_EVENT_FIELD_CHARS} characters; at most ${MAX_EVENT_FIELD_CHARS} are allowed`),
      ],
      [{ ...envelope([sessionEvent()]), dataVersion: 1.1 }, /^dataVersion: /],
      [envelope([]), /^data: the envelope holds no events/],
      [{ ...envelope([]), data: { 0: sessionEvent() } }, /^data: expected a list of events/],
    ];
    for (const [body, message] of cases) {
      const response = await postCaliper(gateway, body);
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toMatchObject({ code: 'invalid-envelope', message: expect.stringMatching(message) });
    }
    expect(events()).toEqual([]);
    expect(envelopes()).toEqual([]);
  });

  it('413 for an envelope with more than 5,000 events, however few bytes: over the size limit, not malformed', async () => {
    // Learn sends at most 5,000; another sender hears what to do (send fewer), as for too many bytes.
    const response = await postCaliper(gateway, envelope(Array.from({ length: 5001 }, () => ({ id: 'x' }))));
    expect(response.status).toBe(413);
    expect(await errorOf(response)).toMatchObject({
      code: 'payload-too-large',
      message: 'data: an envelope holds at most 5000 events (this one has 5001); send fewer events per envelope',
    });
  });

  it('422 for a dataVersion other than Caliper 1.1', async () => {
    const response = await postCaliper(gateway, envelope([sessionEvent()], { dataVersion: 'http://purl.imsglobal.org/ctx/caliper/v1p2' }));
    expect(response.status).toBe(422);
    expect(await errorOf(response)).toMatchObject({
      code: 'unsupported-data-version',
      message: expect.stringContaining('"http://purl.imsglobal.org/ctx/caliper/v1p2" is not supported'),
    });
  });

  it('never echoes a bidi override, C1 control or line separator of the body raw in a refusal', async () => {
    // Each message quotes a part of the body; the answer must not carry it as a terminal would
    // misshow it (Trojan Source), whatever quoted it.
    const refusals = [
      // An escape sequence json-syntax.ts does not know: a backslash, then U+202E.
      ['{"dataVersion":"x","data":["\\\u202e"]}', 400, /invalid escape/],
      // A token that starts no JSON value.
      ['{"dataVersion":\u202e}', 400, /found .* \(U\+202E\)/],
      // A dataVersion quoted with an Arabic letter mark, a C1 control and a line separator.
      [JSON.stringify(envelope([sessionEvent()], { dataVersion: 'v1\u061c\u0085\u2028' })), 422, /is not supported/],
    ] as const;
    for (const [raw, status, message] of refusals) {
      const response = await postCaliper(gateway, undefined, { raw });
      expect(response.status).toBe(status);
      const text = await response.text();
      expect(firstUnshown(text), raw).toBeUndefined();
      expect((JSON.parse(text) as { error: { message: string } }).error.message).toMatch(message);
    }
  });

  it('413 when Content-Length is over the limit, before reading the body', async () => {
    gateway.close();
    gateway = createTestGateway({ env: { MAX_BODY_BYTES: '2048' } });
    const body = JSON.stringify(envelope([forumEvent({}, 4000)]));
    const response = await postCaliper(gateway, undefined, {
      raw: body,
      headers: { 'content-length': String(Buffer.byteLength(body)) },
    });
    expect(response.status).toBe(413);
    expect(await errorOf(response)).toMatchObject({ code: 'payload-too-large', message: expect.stringMatching(/limit of 2048 bytes/) });
  });

  it('413 while reading a chunked body that grows over the limit', async () => {
    gateway.close();
    gateway = createTestGateway({ env: { MAX_BODY_BYTES: '4096' } });
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        // Far more than the limit if it were all read: the reader must stop early.
        if (pulled > 1000) controller.close();
        else controller.enqueue(new TextEncoder().encode(pulled === 1 ? '{"data":["' : 'x'.repeat(1024)));
      },
    });
    const response = await gateway.app.request('/caliper', {
      method: 'POST',
      headers: { authorization: TEST_KEY, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(pulled).toBeLessThan(20);
  });
});

describe('POST /caliper answers 503 when the store cannot write', () => {
  const expectNothingStored = () => {
    const check = new Database(gateway.config.dbPath, { readonly: true });
    try {
      expect(check.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 0 });
      expect(check.prepare('SELECT count(*) AS n FROM envelopes').get()).toEqual({ n: 0 });
    } finally {
      check.close();
    }
  };

  it('rolls back an envelope that fails halfway, leaving no part of it', async () => {
    // A trigger makes the third event's insert fail, after two rows went in.
    gateway.store.sqlite.exec(`CREATE TRIGGER fail_third BEFORE INSERT ON events
      WHEN (SELECT count(*) FROM events) >= 2 BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END`);
    const response = await postCaliper(gateway, envelope([sessionEvent(), sessionEvent(), sessionEvent()]));

    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await errorOf(response)).toMatchObject({ code: 'store-unavailable', message: expect.stringMatching(/nothing from this envelope was stored/) });
    expectNothingStored();
    expect(woken).toBe(0);
    expect(gateway.logLines()).toContainEqual(expect.objectContaining({ level: 'error', code: 'store-unavailable' }));
  });

  // The writer thread can stop after a group's COMMIT returned and before it said so: intake
  // hears only that it stopped. Whether or not the envelope landed, Learn is told so, and its
  // resend is stored once.
  it.each([
    ['after committing the envelope', true],
    ['before committing the envelope', false],
  ])('503 saying the commit could not be confirmed when the writer thread stops %s, and stores the resend once', async (_when, committed) => {
    gateway.close();
    let stops = 1;
    gateway = createTestGateway({
      now: () => NOW,
      writer: (store) => {
        const own = createStoreWriter(store);
        return {
          ...own,
          async writeEnvelope(batch) {
            if (stops === 0) return own.writeEnvelope(batch);
            stops -= 1;
            if (committed) await own.writeEnvelope(batch);
            // What writer-thread.ts says of the writes outstanding when the thread exits.
            throw writerThreadStopped(1);
          },
        };
      },
    });
    const sent = envelope([sessionEvent(), forumEvent()]);
    const response = await postCaliper(gateway, sent);

    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    const error = await errorOf(response);
    expect(error.code).toBe('store-unavailable');
    expect(error.message).toBe(
      'The event store stopped before it could confirm whether this envelope was stored. Send it again: events already stored are recognised and stored once.',
    );
    expect(events()).toHaveLength(committed ? 2 : 0);

    expect((await postCaliper(gateway, sent)).status).toBe(200);
    expect(events()).toHaveLength(2);
    expect(envelopes().at(-1)).toMatchObject({ stored_count: committed ? 0 : 2, duplicate_count: committed ? 2 : 0 });
  });

  it('503 when another process holds the write lock', async () => {
    gateway.store.sqlite.pragma('busy_timeout = 20');
    const other = new Database(gateway.config.dbPath);
    other.exec('BEGIN IMMEDIATE');
    try {
      const response = await postCaliper(gateway, envelope([sessionEvent()]));
      expect(response.status).toBe(503);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expectNothingStored();
  });

  it('503 when the database is read-only', async () => {
    gateway.store.sqlite.pragma('query_only = ON');
    const response = await postCaliper(gateway, envelope([sessionEvent()]));
    expect(response.status).toBe(503);
    gateway.store.sqlite.pragma('query_only = OFF');
    expectNothingStored();
  });

  it('503 when the database is closed', async () => {
    gateway.store.close();
    const response = await postCaliper(gateway, envelope([sessionEvent()]));
    expect(response.status).toBe(503);
    expectNothingStored();
  });

  it('fails only the envelope that broke when envelopes are committed together', async () => {
    gateway.store.sqlite.exec(`CREATE TRIGGER refuse_marked BEFORE INSERT ON events
      WHEN NEW.action = 'Refuse' BEGIN SELECT RAISE(ABORT, 'simulated'); END`);
    const [good, bad, alsoGood] = await Promise.all([
      postCaliper(gateway, envelope([sessionEvent()])),
      postCaliper(gateway, envelope([sessionEvent(), sessionEvent({ action: 'Refuse' })])),
      postCaliper(gateway, envelope([forumEvent()])),
    ]);
    expect([good.status, bad.status, alsoGood.status]).toEqual([200, 503, 200]);
    expect(events().map((row) => row.action)).toEqual(['LoggedIn', 'Created']);
    expect(envelopes()).toHaveLength(2);
  });
});

describe('GET /caliper', () => {
  it('describes the endpoint as Caliper 1.2 endpoint configuration', async () => {
    const response = await gateway.app.request('/caliper');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      caliperSupportedVersions: [CALIPER_1_1],
      caliperMaximumPayloadSize: gateway.config.maxBodyBytes,
    });
  });

  it('405 for other methods', async () => {
    const response = await gateway.app.request('/caliper', { method: 'PUT' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, POST');
  });
});

describe('POST /caliper under MAX_BYTES_IN_FLIGHT', () => {
  /** A body whose first bytes arrive now and the rest when `finish` is called: a slow sender. */
  function slowBody(text: string) {
    let finish!: () => void;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(text.slice(0, 10)));
        finish = () => {
          controller.enqueue(new TextEncoder().encode(text.slice(10)));
          controller.close();
        };
      },
    });
    return { body, finish };
  }

  it('reads no more bodies at once than the bound allows: a request over it waits, then hears 503 with nothing stored', async () => {
    const bounded = createTestGateway({ env: { MAX_BYTES_IN_FLIGHT: '1024' }, intakeMaxWaitMs: 200 });
    try {
      // A sender whose body is still arriving holds its bytes: the bound is full.
      const slow = JSON.stringify(envelope([sessionEvent()]));
      const { body, finish } = slowBody(slow);
      const first = postCaliper(bounded, undefined, {
        raw: body,
        headers: { 'content-length': String(Buffer.byteLength(slow)) },
        duplex: 'half',
      });

      const refused = await postCaliper(bounded, envelope([sessionEvent(), sessionEvent()]));
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect((await errorOf(refused)).code).toBe('busy');
      expect(events(bounded)).toHaveLength(0);
      const scrape = await bounded.metrics.render();
      expect(scrape).toMatch(/^caliper_gateway_intake_busy_total 1$/m);
      expect(scrape).toMatch(new RegExp(`^caliper_gateway_intake_bytes_in_flight ${Buffer.byteLength(slow)}$`, 'm'));

      // Once the first is in, the next goes through at once.
      finish();
      expect((await first).status).toBe(200);
      expect((await postCaliper(bounded, envelope([sessionEvent(), sessionEvent()]))).status).toBe(200);
      expect(events(bounded).map((row) => row.envelope_id)).toEqual([1, 2, 2]);
    } finally {
      bounded.close();
    }
  });

  it('does not hold MAX_BODY_BYTES for a chunked body: small ones still go on side by side', async () => {
    const bounded = createTestGateway({ env: { MAX_BYTES_IN_FLIGHT: String(3 * 1024 * 1024) }, intakeMaxWaitMs: 200 });
    try {
      // No Content-Length: the size is unknown until the body ends.
      const { body, finish } = slowBody(JSON.stringify(envelope([sessionEvent()])));
      const first = postCaliper(bounded, undefined, { raw: body, duplex: 'half' });
      // Had the first held MAX_BODY_BYTES (64 MiB), this one would wait and hear 503.
      expect((await postCaliper(bounded, envelope([sessionEvent()]))).status).toBe(200);
      finish();
      expect((await first).status).toBe(200);
    } finally {
      bounded.close();
    }
  });
});
