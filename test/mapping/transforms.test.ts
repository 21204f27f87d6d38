import { describe, expect, it } from 'vitest';
import { TRANSFORMS, TRANSFORM_NAMES } from '../../src/mapping/transforms.ts';
import { toCaliperDateTime } from '../../src/mapping/date-time.ts';
import { gradeEvent, ltiLaunch, SITE } from './learn-events.ts';

const t = TRANSFORMS;

describe('transforms', () => {
  it('string: numbers and booleans to text, text as is, nothing else', () => {
    expect(t.string(12.5)).toBe('12.5');
    expect(t.string(false)).toBe('false');
    expect(t.string('x')).toBe('x');
    expect(t.string(Number.NaN)).toBeUndefined();
    expect(t.string({})).toBeUndefined();
    expect(t.string([1])).toBeUndefined();
  });

  it('number: numbers, or text that is one', () => {
    expect(t.number(3)).toBe(3);
    expect(t.number(' 39.45 ')).toBe(39.45);
    expect(t.number('-1e3')).toBe(-1000);
    expect(t.number('12abc')).toBeUndefined();
    expect(t.number('')).toBeUndefined();
    expect(t.number(Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(t.number(true)).toBeUndefined();
  });

  it('integer: whole numbers only', () => {
    expect(t.integer(4)).toBe(4);
    expect(t.integer('7')).toBe(7);
    expect(t.integer(4.5)).toBeUndefined();
    expect(t.integer('4.5')).toBeUndefined();
  });

  it('boolean: true/false and Learn\'s "true"/"false" text', () => {
    expect(t.boolean(true)).toBe(true);
    expect(t.boolean('false')).toBe(false);
    expect(t.boolean(' TRUE ')).toBe(true);
    expect(t.boolean('yes')).toBeUndefined();
    expect(t.boolean(1)).toBeUndefined();
  });

  it('positive: numbers above zero (skips Learn\'s maxScore 0)', () => {
    expect(t.positive(160)).toBe(160);
    expect(t.positive(0)).toBeUndefined();
    expect(t.positive(-2)).toBeUndefined();
    expect(t.positive('5')).toBeUndefined();
  });

  it('datetime: any ISO 8601 date-time with a zone, to UTC with milliseconds', () => {
    expect(t.datetime('2024-03-04T07:58:31+01:00')).toBe('2024-03-04T06:58:31.000Z');
    expect(t.datetime('2024-03-04T07:58:31.123456Z')).toBe('2024-03-04T07:58:31.123Z');
    expect(t.datetime('2024-03-04T07:58Z')).toBe('2024-03-04T07:58:00.000Z');
    expect(t.datetime('2024-03-04T23:30:00-0230')).toBe('2024-03-05T02:00:00.000Z');
    expect(t.datetime('2024-03-04T07:58:31.5-05')).toBe('2024-03-04T12:58:31.500Z');
    expect(t.datetime('2024-03-04T07:58:31.123Z')).toBe('2024-03-04T07:58:31.123Z');
    expect(t.datetime('2024-03-04T07:58:31')).toBeUndefined();
    expect(t.datetime('2024-02-30T00:00:00Z')).toBeUndefined();
    expect(t.datetime('2023-02-29T00:00:00.000Z')).toBeUndefined();
    expect(t.datetime('2024-02-29T00:00:00.000Z')).toBe('2024-02-29T00:00:00.000Z');
    expect(t.datetime('2024-03-04T24:00:00Z')).toBeUndefined();
    expect(t.datetime('yesterday')).toBeUndefined();
    expect(t.datetime(1709539111000)).toBeUndefined();
  });

  it('duration: ISO 8601 durations only', () => {
    expect(t.duration('PT30M54S')).toBe('PT30M54S');
    expect(t.duration(' P1DT2H ')).toBe('P1DT2H');
    expect(t.duration('PT0.5S')).toBe('PT0.5S');
    expect(t.duration('P3W')).toBe('P3W');
    expect(t.duration('1800')).toBeUndefined();
    expect(t.duration(1800)).toBeUndefined();
    expect(t.duration('30 minutes')).toBeUndefined();
    expect(t.duration('P')).toBeUndefined();
    expect(t.duration('PT')).toBeUndefined();
  });

  it('urn-uuid: bare or prefixed UUIDs to lowercase urn:uuid:', () => {
    expect(t['urn-uuid']('9A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D')).toBe('urn:uuid:9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
    expect(t['urn-uuid']('URN:UUID:9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d')).toBe('urn:uuid:9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
    expect(t['urn-uuid']('9a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d')).toBeUndefined();
    expect(t['urn-uuid']('_12_1')).toBeUndefined();
  });

  it('iri: keeps https:// and urn:uuid: IRIs, drops the rest', () => {
    expect(t.iri(`${SITE}/users/abc`)).toBe(`${SITE}/users/abc`);
    expect(t.iri('URN:UUID:9A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D')).toBe('urn:uuid:9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
    expect(t.iri('http://insecure.example/a')).toBeUndefined();
    expect(t.iri('urn:email:a@b.example')).toBeUndefined();
    expect(t.iri('9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d')).toBeUndefined();
    expect(t.iri('https://')).toBeUndefined();
  });

  it('id: an entity or an IRI to its id', () => {
    expect(t.id({ id: 'https://x.example/1', type: 'Forum' })).toBe('https://x.example/1');
    expect(t.id({ '@id': 'https://x.example/2' })).toBe('https://x.example/2');
    expect(t.id('https://x.example/3')).toBe('https://x.example/3');
    expect(t.id({ type: 'Forum' })).toBeUndefined();
    expect(t.id(['https://x.example/4'])).toBeUndefined();
  });

  it('strip-query: drops ?query and #fragment', () => {
    expect(t['strip-query']('https://tool.example.org/launch?user=lm&x=1#top')).toBe('https://tool.example.org/launch');
    expect(t['strip-query']('https://tool.example.org/a#b')).toBe('https://tool.example.org/a');
    expect(t['strip-query']('?only')).toBeUndefined();
    expect(t['strip-query'](3)).toBeUndefined();
  });

  it('url-iri: keeps https:// URLs, names an http:// URL by its UUID v5 in the URL namespace, drops the rest', () => {
    expect(t['url-iri']('https://tool.example.org/launch')).toBe('https://tool.example.org/launch');
    // uuid.uuid5(uuid.NAMESPACE_URL, 'http://tool.example') in Python.
    expect(t['url-iri']('http://tool.example')).toBe('urn:uuid:9e097298-da72-5236-aa84-811c47a3fb02');
    expect(t['url-iri'](' http://tool.example ')).toBe('urn:uuid:9e097298-da72-5236-aa84-811c47a3fb02');
    expect(t['url-iri']('http://tool.example/')).not.toBe('urn:uuid:9e097298-da72-5236-aa84-811c47a3fb02');
    expect(t['url-iri']('urn:uuid:9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d')).toBeUndefined();
    expect(t['url-iri']('ftp://files.example/x')).toBeUndefined();
    expect(t['url-iri']('http://')).toBeUndefined();
    expect(t['url-iri']('http://a b.example/')).toBeUndefined();
    expect(t['url-iri'](7)).toBeUndefined();
  });

  it('url-origin: scheme, host and port of a URL', () => {
    expect(t['url-origin']('https://tool.example.org:8443/launch?user=lm')).toBe('https://tool.example.org:8443');
    expect(t['url-origin']('https://tool.example.org/launch')).toBe('https://tool.example.org');
    expect(t['url-origin']('not a url')).toBeUndefined();
    expect(t['url-origin']('ftp://files.example/x')).toBeUndefined();
  });

  it('last-segment: the last path segment of an IRI', () => {
    expect(t['last-segment'](`${SITE}/users/aa11bb22?x=1`)).toBe('aa11bb22');
    expect(t['last-segment'](`${SITE}/users/aa11bb22/`)).toBe('aa11bb22');
    expect(t['last-segment']('urn:uuid:9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d')).toBe('9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
    expect(t['last-segment']('')).toBeUndefined();
    // In one pass: a trailing-slash regex was retried at every slash of a long run.
    const slashes = '/'.repeat(200_000);
    expect(t['last-segment'](`${SITE}/users/aa11bb22${slashes}?x=1`)).toBe('aa11bb22');
    expect(t['last-segment'](`${SITE}/users${slashes}aa11bb22`)).toBe('aa11bb22');
  });

  it('named-iri: an IRI as iri keeps it, unless its path ends in a slash', () => {
    expect(t['named-iri'](`${SITE}/sessions/4F1A9C3E`)).toBe(`${SITE}/sessions/4F1A9C3E`);
    expect(t['named-iri']('https://school.example.edu/')).toBe('https://school.example.edu/');
    expect(t['named-iri']('https://school.example.edu')).toBe('https://school.example.edu');
    expect(t['named-iri']('URN:UUID:9A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D')).toBe('urn:uuid:9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
    expect(t['named-iri'](`${SITE}/sessions/`)).toBeUndefined();
    expect(t['named-iri'](`${SITE}/sessions/?x=1`)).toBeUndefined();
    expect(t['named-iri'](`${SITE}/sessions/#top`)).toBeUndefined();
    expect(t['named-iri'](`${SITE}/sessions/4F1A?next=/home/`)).toBe(`${SITE}/sessions/4F1A?next=/home/`);
    expect(t['named-iri']('http://school.example.edu/sessions/1')).toBeUndefined();
    expect(t['named-iri'](7)).toBeUndefined();
  });

  it('lowercase: text to lowercase', () => {
    expect(t.lowercase('BIO-110')).toBe('bio-110');
    expect(t.lowercase(5)).toBeUndefined();
  });

  it('every documented transform exists, and no other', () => {
    expect(TRANSFORM_NAMES).toEqual([
      'string', 'number', 'integer', 'boolean', 'positive', 'datetime', 'duration', 'urn-uuid', 'iri', 'named-iri', 'url-iri', 'id',
      'strip-query', 'url-origin', 'last-segment', 'lowercase', 'entity',
    ]);
  });
});

describe('entity', () => {
  const grade = gradeEvent();

  it('keeps 1.2 vocabulary, drops people, extensions, @context and empties, rewrites date-times', () => {
    expect(t.entity((grade.object as Record<string, unknown>).assignable)).toEqual({
      id: `${SITE}/gradableItems/_310_1`,
      type: 'Assessment',
      maxScore: 40,
      dateToSubmit: '2024-03-08T23:59:00.000Z',
    });
    const attempt = t.entity(grade.object) as Record<string, unknown>;
    expect(attempt.assignee).toBeUndefined();
    expect(attempt).toMatchObject({ type: 'Attempt', count: 1, startedAtTime: '2024-03-05T08:00:12.010Z' });
  });

  it('keeps only the properties of the entity\'s own type, so the copy passes the validator', () => {
    expect(t.entity({ id: 'https://x.example/c/1', type: 'Chapter', index: 0, maxScore: 3, name: 'Chapter 1' })).toEqual({
      id: 'https://x.example/c/1',
      type: 'Chapter',
      name: 'Chapter 1',
    });
    expect(t.entity({ id: 'https://x.example/f/1', type: 'Frame', index: 0 })).toEqual({ id: 'https://x.example/f/1', type: 'Frame', index: 0 });
  });

  it('reduces entities Caliper does not define (Blackboard types) to their id', () => {
    const launch = ltiLaunch();
    expect(t.entity(launch.object)).toBe(`${SITE}/ltiLaunches/6e0d1c2b-3a49-4f58-8e67-7d6c5b4a3928`);
    expect(t.entity({ id: 'https://x.example/p', type: 'Page', isPartOf: { id: 'https://x.example/c', type: `http://caliper.blackboard.com/caliper/v1/Content`, handler: 'x' } })).toEqual({
      id: 'https://x.example/p',
      type: 'Page',
      isPartOf: 'https://x.example/c',
    });
  });

  it('withholds LTI parameters, IP addresses and user agents even where 1.2 has a property for them', () => {
    const session = t.entity({
      id: 'https://x.example/s/1',
      type: 'LtiSession',
      messageParameters: { lis_person_name_full: 'Lena Martin' },
      client: { id: 'https://x.example/c', type: 'SoftwareApplication', ipAddress: '203.0.113.9', userAgent: 'Mozilla/5.0', host: 'x.example' },
      user: { id: 'https://x.example/u/1', type: 'Person', name: 'Lena' },
    });
    expect(session).toEqual({
      id: 'https://x.example/s/1',
      type: 'LtiSession',
      client: { id: 'https://x.example/c', type: 'SoftwareApplication', host: 'x.example' },
    });
  });

  it('leaves out text people wrote: a post and its subject, a thread title, a comment, a bookmark note, an open answer', () => {
    const forum = { id: 'https://x.example/f/1', type: 'Forum', name: 'CHEM10 discussion' };
    const thread = { id: 'https://x.example/t/1', type: 'Thread', name: 'Homework 3', description: 'Stuck on part b', isPartOf: forum };
    expect(
      t.entity({ id: 'https://x.example/m/5', type: 'Message', name: 'Re: part b', description: 'reply', body: 'I think it is the oxygen.', isPartOf: thread }),
    ).toEqual({
      id: 'https://x.example/m/5',
      type: 'Message',
      // The forum is the course's, named by its teacher: its name stays.
      isPartOf: { id: 'https://x.example/t/1', type: 'Thread', isPartOf: forum },
    });
    expect(t.entity({ id: 'https://x.example/c/1', type: 'Comment', value: 'Nice work!' })).toEqual({ id: 'https://x.example/c/1', type: 'Comment' });
    expect(t.entity({ id: 'https://x.example/b/1', type: 'BookmarkAnnotation', bookmarkNotes: 'reread' })).toEqual({ id: 'https://x.example/b/1', type: 'BookmarkAnnotation' });
    expect(t.entity({ id: 'https://x.example/r/1', type: 'OpenEndedResponse', value: 'Because…' })).toEqual({ id: 'https://x.example/r/1', type: 'OpenEndedResponse' });
    // A chosen answer is not writing: it stays.
    expect(t.entity({ id: 'https://x.example/r/2', type: 'MultipleChoiceResponse', value: 'C' })).toEqual({ id: 'https://x.example/r/2', type: 'MultipleChoiceResponse', value: 'C' });
  });

  it('drops person IRIs in person-valued properties and persons from lists', () => {
    expect(
      t.entity({
        id: 'https://x.example/doc',
        type: 'Document',
        creators: [{ id: 'https://x.example/u/1', type: 'Person' }, { id: 'https://x.example/org', type: 'Organization' }],
        assignee: 'https://x.example/u/2',
      }),
    ).toEqual({ id: 'https://x.example/doc', type: 'Document', creators: [{ id: 'https://x.example/org', type: 'Organization' }] });
    // A search's creator is the person who searched (and the terms are what they typed).
    expect(t.entity({ id: 'https://x.example/q/1', type: 'Query', creator: 'https://x.example/u/3', searchTerms: 'photosynthesis' })).toEqual({
      id: 'https://x.example/q/1',
      type: 'Query',
    });
    expect(t.entity({ id: 'https://x.example/q/2', type: 'Query', creator: { id: 'https://x.example/u/3', type: 'Person' } })).toEqual({
      id: 'https://x.example/q/2',
      type: 'Query',
    });
  });

  it('keeps only id and type of a person the rule asked for directly (an instructor who graded)', () => {
    expect(t.entity({ id: 'https://x.example/u/9', type: 'Person', name: 'Pat Grader', extensions: { 'bb:user.externalId': 'pgrader' } })).toEqual({
      id: 'https://x.example/u/9',
      type: 'Person',
    });
  });

  it('applies the 1.1 → 1.2 renames', () => {
    expect(t.entity({ id: 'https://x.example/r', type: 'Result', totalScore: 8 })).toEqual({ id: 'https://x.example/r', type: 'Result', resultScore: 8 });
    expect(t.entity({ id: 'https://x.example/d', type: 'Document', alignedLearningObjective: [{ id: 'https://x.example/lo', type: 'LearningObjective' }], objectType: 'x' })).toEqual({
      id: 'https://x.example/d',
      type: 'Document',
      learningObjectives: [{ id: 'https://x.example/lo', type: 'LearningObjective' }],
    });
    // Attempt.actor becomes assignee (a person, so it is then left out); Session.actor likewise.
    expect(t.entity({ id: 'https://x.example/at', type: 'Attempt', actor: { id: 'https://x.example/u', type: 'Person' } })).toEqual({ id: 'https://x.example/at', type: 'Attempt' });
  });

  it('leaves out entities whose id TimeBack would not accept, and date-times it cannot read', () => {
    expect(t.entity({ id: 'http://insecure.example/a', type: 'Document' })).toBeUndefined();
    expect(t.entity({ id: 'https://x.example/d', type: 'Document', dateCreated: 'last week', isPartOf: { id: 'http://insecure.example/c', type: 'Chapter' } })).toEqual({
      id: 'https://x.example/d',
      type: 'Document',
    });
    expect(t.entity({ type: 'SystemIdentifier', identifier: 'abc', identifierType: 'SystemId' })).toEqual({ type: 'SystemIdentifier', identifier: 'abc', identifierType: 'SystemId' });
  });

  it('keeps ISO 8601 durations and leaves out any other (seconds as a number or as text)', () => {
    expect(t.entity({ id: 'https://x.example/v', type: 'VideoObject', duration: 'PT18M40S' })).toEqual({ id: 'https://x.example/v', type: 'VideoObject', duration: 'PT18M40S' });
    expect(t.entity({ id: 'https://x.example/s', type: 'Session', duration: 1800 })).toEqual({ id: 'https://x.example/s', type: 'Session' });
    expect(t.entity({ id: 'https://x.example/s', type: 'Session', duration: '1800' })).toEqual({ id: 'https://x.example/s', type: 'Session' });
    expect(t.entity({ id: 'https://x.example/v#t', type: 'MediaLocation', currentTime: '5:30' })).toEqual({ id: 'https://x.example/v#t', type: 'MediaLocation' });
  });

  it('copies lists of entities and normalises IMS type IRIs', () => {
    expect(t.entity([{ id: 'https://x.example/1', type: 'http://purl.imsglobal.org/caliper/Page' }, 'https://x.example/2', 'not an iri', null])).toEqual([
      { id: 'https://x.example/1', type: 'Page' },
      'https://x.example/2',
    ]);
    expect(t.entity([])).toBeUndefined();
  });

  it('stops at a bounded depth on hostile nesting', () => {
    let nested: Record<string, unknown> = { id: 'https://x.example/leaf', type: 'Page' };
    for (let i = 0; i < 200; i++) nested = { id: `https://x.example/${i}`, type: 'Page', isPartOf: nested };
    // Copied down to some depth well short of the 201 levels sent, where an entity is left as its IRI.
    let at = t.entity(nested) as Record<string, unknown> | string;
    let levels = 0;
    while (typeof at === 'object' && at !== null) {
      levels += 1;
      at = at.isPartOf as Record<string, unknown> | string;
    }
    expect(levels).toBeGreaterThan(1);
    expect(levels).toBeLessThan(100);
    expect(at).toMatch(/^https:\/\/x\.example\/\d+$/);
  });
});

describe('toCaliperDateTime', () => {
  it('accepts every date-time form intake accepts', () => {
    for (const text of ['2024-03-04T07:58:31.248Z', '2024-03-04T07:58:31Z', '2024-03-04T07:58Z', '2024-03-04T07:58:31.123456789+05:30', '2024-03-04T07:58:31+0530']) {
      expect(toCaliperDateTime(text)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
  });
});
