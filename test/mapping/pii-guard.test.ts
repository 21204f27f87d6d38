import { describe, expect, it } from 'vitest';
import { findPii, MAX_PII_DEPTH } from '../../src/mapping/pii-guard.ts';
import { PII_CATEGORIES, type PiiCategory } from '../../src/mapping/rule-schema.ts';

const none = new Set<PiiCategory>();
const only = (...categories: PiiCategory[]) => new Set<PiiCategory>(categories);

describe('the personal-data guard', () => {
  it('finds nothing in an event without personal data', () => {
    const event = {
      actor: 'urn:uuid:0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05',
      object: { id: 'https://x.example/forums/1', type: 'Forum', name: 'Week 3 @ home', version: '1.2.3' },
      extensions: { 'bb:user.externalId': 'lmartin07', courseNumber: 'BIO-110', note: 'email me later', host: 'x.example:443' },
    };
    expect(findPii(event, none)).toBeUndefined();
  });

  it.each([
    ['an e-mail address as a value', { extensions: { 'bb:user.externalId': 'lena.martin@school.example.edu' } }, 'email', 'extensions["bb:user.externalId"]'],
    ['a mailto: IRI', { object: { id: 'mailto:lena@school.example.edu' } }, 'email', 'object.id'],
    ['a urn:email: IRI', { actor: 'urn:email:lena@school.example.edu' }, 'email', 'actor'],
    ['a key named email', { object: { email: 'redacted' } }, 'email', 'object.email'],
    ['a person\'s name', { object: { assignee: { id: 'https://x.example/u', type: 'Person', name: 'Lena Martin' } } }, 'name', 'object.assignee.name'],
    ['a person\'s given name', { actor: { id: 'https://x.example/u', type: 'Person', givenName: 'Lena' } }, 'name', 'actor.givenName'],
    ['an ipAddress key', { object: { client: { ipAddress: 'unknown' } } }, 'ip-address', 'object.client.ipAddress'],
    ['Learn\'s IP header', { edApp: { extensions: { 'bb:request.headers.ipAddress': 'x' } } }, 'ip-address', 'edApp.extensions["bb:request.headers.ipAddress"]'],
    ['an IPv4 address as a value', { extensions: { origin: '203.0.113.9' } }, 'ip-address', 'extensions.origin'],
    ['an IPv6 address as a value', { extensions: { list: ['2001:db8::1'] } }, 'ip-address', 'extensions.list[0]'],
    ['a userAgent key', { object: { client: { userAgent: 'x' } } }, 'user-agent', 'object.client.userAgent'],
    ['Learn\'s user-agent header', { object: { extensions: { 'bb:request.headers.agent': 'Mozilla/5.0' } } }, 'user-agent', 'object.extensions["bb:request.headers.agent"]'],
    ['launch parameters', { object: { launchParameters: {} } }, 'lti-parameters', 'object.launchParameters'],
    ['message parameters', { federatedSession: { messageParameters: { a: 1 } } }, 'lti-parameters', 'federatedSession.messageParameters'],
    ['custom parameters', { object: { customParameters: {} } }, 'lti-parameters', 'object.customParameters'],
    ['an oauth_ key', { extensions: { oauth_signature: 'c2ln' } }, 'lti-parameters', 'extensions.oauth_signature'],
    ['a lis_person_ key', { extensions: { lis_person_sourcedid: 'lmartin07' } }, 'lti-parameters', 'extensions.lis_person_sourcedid'],
    // Extensions are free-form, and may nest deep.
    [
      'an address nested deep in extensions',
      { extensions: { a: { b: { c: { d: { e: { f: ['x', { g: 'lena@school.example.edu' }] } } } } } } },
      'email',
      'extensions.a.b.c.d.e.f[1].g',
    ],
  ])('finds %s', (_what, event, category, path) => {
    expect(findPii(event, none)).toEqual({ category, path });
  });

  it.each([
    ['lena@school.example', true],
    ['MAILTO:lena@x.example.edu', true],
    ['lena@localhost', false],
    ['lena@.example', false],
    ['lena@example.', false],
    ['lena@x..', true],
    ['@x.example', false],
    ['le na@x.example', false],
    ['lena@x/y.example', false],
    ['a@b.c@d.e', false],
  ])('reads %j as an e-mail address: %s', (text, isEmail) => {
    expect(findPii({ x: text }, none)).toEqual(isEmail ? { category: 'email', path: 'x' } : undefined);
  });

  it('reads long runs of dots in one pass', () => {
    // Where the domain's dot goes was ambiguous to the old pattern: the first two took it
    // about 20 s, a thing's name (object.name, written by a student) holding the event loop.
    const dots = '.'.repeat(200_000);
    expect(findPii({ object: { name: `a@${dots}@` } }, none)).toBeUndefined();
    expect(findPii({ object: { name: `a@${dots} ` } }, none)).toBeUndefined();
    expect(findPii({ object: { name: `a@b${dots}c` } }, none)).toEqual({ category: 'email', path: 'object.name' });
  });

  it('refuses what lies deeper than it looks, instead of letting it through unchecked', () => {
    const nested = (levels: number, leaf: unknown) => {
      let value = leaf;
      for (let i = 0; i < levels; i++) value = { a: value };
      return value;
    };
    // Objects MAX_PII_DEPTH levels below the event are the deepest it reads.
    expect(findPii(nested(MAX_PII_DEPTH + 1, 'lena@school.example.edu'), none)).toMatchObject({ category: 'email' });
    expect(findPii(nested(MAX_PII_DEPTH + 1, 'nothing personal'), none)).toBeUndefined();
    // One more level: not read, so refused whatever it holds.
    expect(findPii(nested(MAX_PII_DEPTH + 2, 'nothing personal'), none)).toEqual({ tooDeep: true, path: expect.stringMatching(/^a\.a\.a … \d+ more … a\.a\.a\.a\.a$/) });
    expect(findPii(nested(MAX_PII_DEPTH + 2, 'x'), only(...PII_CATEGORIES))).toBeUndefined();
  });

  it('names are personal only on a person', () => {
    expect(findPii({ object: { id: 'https://x.example/f', type: 'Forum', name: 'Week 3' } }, none)).toBeUndefined();
  });

  it('lets through exactly the categories a rule allows', () => {
    const event = { extensions: { email: 'lena@school.example.edu', agent: { userAgent: 'Mozilla/5.0' } } };
    expect(findPii(event, only('email'))).toEqual({ category: 'user-agent', path: 'extensions.agent.userAgent' });
    expect(findPii(event, only('email', 'user-agent'))).toBeUndefined();
    expect(findPii({ object: { type: 'Person', name: 'Lena' } }, only('name'))).toBeUndefined();
    expect(findPii({ x: '203.0.113.9' }, only('email', 'name', 'user-agent', 'lti-parameters'))).toEqual({ category: 'ip-address', path: 'x' });
    expect(findPii({ x: '203.0.113.9', launchParameters: {} }, only('email', 'name', 'ip-address', 'user-agent', 'lti-parameters'))).toBeUndefined();
  });
});

/** A Learn-shaped input naming the student, a classmate in the group list, and the course. */
function learnInput(overrides: { externalId?: string; courseNumber?: string; name?: string } = {}) {
  return {
    id: '9a1b2c3d-4e5f-4a6b-8c7d-000000000001',
    actor: {
      id: 'https://learn.example/v1/sites/s1/users/aa11bb22cc33dd44ee55ff6677889900',
      type: 'Person',
      name: overrides.name ?? 'Lena Martin',
      extensions: { 'bb:user.id': '_501_1', 'bb:user.externalId': overrides.externalId ?? 's1234567' },
    },
    object: { id: 'https://learn.example/v1/sites/s1/gradebook/1', type: 'AssignableDigitalResource', name: 'Quiz 2' },
    group: { id: 'https://learn.example/v1/sites/s1/courses/c1', type: 'CourseOffering', courseNumber: overrides.courseNumber ?? 'BIO-110' },
    extensions: { 'bb:group.users': JSON.stringify([{ id: '_9_1', batchUid: 'kpatel22' }]) },
  };
}

describe('the personal-data guard, given the input event', () => {
  const student = 'urn:uuid:0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05';
  const given = (event: unknown, extra: { studentId?: string; own?: string[] } = {}) => ({ event, studentId: 's1234567', own: [student], ...extra });
  const output = (extensions: Record<string, unknown>) => ({ actor: student, object: { id: 'https://learn.example/x', type: 'Document', name: 'Quiz 2' }, extensions });

  it.each([
    ["the student's batch_uid", 's1234567', 'user-id', 'actor.extensions["bb:user.externalId"]'],
    ['the batch_uid in another case, or with Learn\'s trailing newline', 'S1234567\n', 'user-id', 'actor.extensions["bb:user.externalId"]'],
    ["the student's Learn IRI", 'https://learn.example/v1/sites/s1/users/aa11bb22cc33dd44ee55ff6677889900', 'user-id', 'actor.id'],
    ["the student's Learn user UUID, the last segment of that IRI, as a urn:uuid", 'urn:uuid:aa11bb22-cc33-dd44-ee55-ff6677889900', 'user-id', 'actor.id'],
    ["the student's pk1", '_501_1', 'user-id', 'actor.extensions["bb:user.id"]'],
    ["the student's name", 'Lena Martin', 'name', 'actor.name'],
    ["a classmate's batch_uid from Learn's group list (JSON text)", 'kpatel22', 'user-id', 'extensions["bb:group.users"][0].batchUid'],
  ])('finds %s wherever a rule puts it', (_what, value, category, source) => {
    expect(findPii(output({ copied: value }), none, given(learnInput()))).toEqual({ category, path: 'extensions.copied', source });
  });

  it("finds a classmate in the group list as Learn's 1.1 docs give it: an array, the batch_uid as batchUId, with the Learn user UUID", () => {
    const input = learnInput();
    const uuid = 'c3d4e5f6a7b84c9d8e0f1a2b3c4d5e6f';
    (input.extensions as Record<string, unknown>)['bb:group.users'] = [{ id: '_9_1', uuid, batchUId: 'kpatel22' }];
    expect(findPii(output({ copied: 'kpatel22' }), none, given(input))).toEqual({
      category: 'user-id',
      path: 'extensions.copied',
      source: 'extensions["bb:group.users"][0].batchUId',
    });
    expect(findPii(output({ copied: `https://learn.example/v1/sites/s1/users/${uuid}/grades` }), none, given(input))).toEqual({
      category: 'user-id',
      path: 'extensions.copied',
      source: 'extensions["bb:group.users"][0].uuid',
    });
    // Outside a member list a `uuid` names a thing, not a person.
    const thing = { ...learnInput(), object: { id: 'https://learn.example/x', type: 'Document', uuid } };
    expect(findPii(output({ copied: uuid }), none, given(thing))).toBeUndefined();
  });

  it("finds the id the rule read as the student's, even where the input's keys do not say it is a person's", () => {
    const input = { actor: { id: 'https://other.example/people/77', type: 'Agent' } };
    expect(findPii(output({ who: 'https://other.example/people/77' }), none, given(input, { studentId: 'https://other.example/people/77' }))).toEqual({
      category: 'user-id',
      path: 'extensions.who',
      source: 'actor.id',
    });
    // Inside a longer IRI too, though its last segment is too short to count on its own.
    expect(findPii(output({ who: 'https://other.example/people/77/grades' }), none, given(input, { studentId: 'https://other.example/people/77' }))).toMatchObject({
      category: 'user-id',
      path: 'extensions.who',
    });
    // Held a second time where it identifies no one, it may have been copied from there.
    const twice = { ...input, object: { id: 'https://other.example/people/77', type: 'Document' } };
    expect(findPii(output({ who: 'https://other.example/people/77' }), none, given(twice, { studentId: 'https://other.example/people/77' }))).toBeUndefined();
  });

  it.each([
    ['an ideographic space', '\u3000'],
    ['an Ogham space mark', '\u1680'],
    ['an em space', '\u2003'],
    ['a narrow no-break space', '\u202f'],
    ['a medium mathematical space', '\u205f'],
  ])('finds the batch_uid with %s after it, as with any other space', (_what, space) => {
    expect(findPii(output({ copied: `s1234567${space}` }), none, given(learnInput()))).toMatchObject({ category: 'user-id', path: 'extensions.copied' });
    expect(findPii(output({ copied: `${space}Lena Martin` }), none, given(learnInput()))).toMatchObject({ category: 'name', path: 'extensions.copied' });
  });

  it('finds a numeric batch_uid sent as a number', () => {
    expect(findPii(output({ n: 1234567 }), none, given(learnInput({ externalId: '1234567' }), { studentId: '1234567' }))).toMatchObject({ category: 'user-id', path: 'extensions.n' });
  });

  it('finds identifiers in LTI launch forms and a person\'s other identifiers', () => {
    const input = {
      actor: { id: 'https://x.example/u/1', type: 'Person', otherIdentifiers: [{ type: 'SystemIdentifier', identifier: 'SIS-88123', identifierType: 'SisSourcedId' }] },
      object: { launchParameters: { lis_person_sourcedid: 'sis:lmartin', lis_person_name_full: 'Lena Q. Martin', ext_user_username: 'lmartin' } },
    };
    for (const [value, category] of [['SIS-88123', 'user-id'], ['sis:lmartin', 'user-id'], ['Lena Q. Martin', 'name'], ['lmartin', 'user-id']]) {
      expect(findPii(output({ v: value }), none, given(input, { studentId: undefined }))).toMatchObject({ category, path: 'extensions.v' });
    }
    // The vocabulary around them is nobody's.
    expect(findPii(output({ t: 'SystemIdentifier', u: 'SisSourcedId' }), none, given(input, { studentId: undefined }))).toBeUndefined();
  });

  it('matches only values of at least five characters, never true/false', () => {
    const input = learnInput({ name: 'Li' });
    input.actor.extensions['bb:user.externalId'] = 'false';
    (input.actor as Record<string, unknown>).givenName = 'Ada';
    // A short name, a short pk1 (`_9_1` of the group list), true/false.
    expect(findPii(output({ b: 'Li', c: 'Ada', d: '_9_1', e: 'false', f: false }), none, given(input))).toBeUndefined();
  });

  it.each([
    ['a whole name in a title', 'Reply from Lena Martin', 'name', 'actor.name'],
    ['a whole name in another case, with other spaces, before punctuation', 'Graded: LENA \u00a0 martin\'s essay', 'name', 'actor.name'],
    ['the batch_uid in an IRI path', 'https://learn.example/grades/s1234567/view', 'user-id', 'actor.extensions["bb:user.externalId"]'],
    ['the batch_uid beside other words', 's1234567-notes', 'user-id', 'actor.extensions["bb:user.externalId"]'],
    ["the student's Learn user UUID, as Learn writes it in IRIs", 'https://learn.example/v1/sites/s1/users/aa11bb22cc33dd44ee55ff6677889900/attempts/3', 'user-id', 'actor.id'],
    ['the Learn user UUID with dashes, in a query', 'https://x.example/report?user=AA11BB22-CC33-DD44-EE55-FF6677889900&view=1', 'user-id', 'actor.id'],
    ["a classmate's batch_uid in text", 'Group: kpatel22, s7654321', 'user-id', 'extensions["bb:group.users"][0].batchUid'],
    ['a whole name in guillemets', 'Réponse de «Lena Martin»', 'name', 'actor.name'],
  ])('finds %s', (_what, value, category, source) => {
    expect(findPii(output({ copied: value }), none, given(learnInput()))).toEqual({ category, path: 'extensions.copied', source });
  });

  it('finds a value inside text only at its boundaries, and not what is too often a word or another table\'s row', () => {
    const input = learnInput();
    input.actor.extensions['bb:user.id'] = '_501_1';
    (input.actor as Record<string, unknown>).familyName = 'Martin';
    (input.actor as Record<string, unknown>).givenName = 'Lena';
    const texts = {
      // Inside longer words: not the name, not the id.
      a: 'Helena Martinez', b: 'xs1234567', c: 's12345678',
      // A family name or a given name alone is a word of titles too often.
      d: 'Martin Luther King Jr. essay', e: 'Lena: a novel',
      // Learn numbers courses and users each from 1: user _501_1 is in every IRI of course _501_1.
      f: 'https://learn.example/courses/_501_1/outline',
    };
    expect(findPii(output(texts), none, given(input))).toBeUndefined();
    // An underscore joins a token, as in a regex's \w: a numeric batch_uid is not in a post's pk1.
    const numeric = learnInput({ externalId: '1234567' });
    expect(findPii(output({ a: 'https://learn.example/discussion/_1234567_1' }), none, given(numeric, { studentId: '1234567' }))).toBeUndefined();
    expect(findPii(output({ a: 'https://learn.example/grades/1234567' }), none, given(numeric, { studentId: '1234567' }))).toMatchObject({ category: 'user-id' });
    // A batch_uid shorter than seven characters counts only whole.
    const short = learnInput({ externalId: 'grader' });
    expect(findPii(output({ a: 'Notes for the grader' }), none, given(short, { studentId: 'grader' }))).toBeUndefined();
    expect(findPii(output({ a: ' grader ' }), none, given(short, { studentId: 'grader' }))).toMatchObject({ category: 'user-id' });
  });

  it("does not compare text the rule writes itself with the input's people, but still checks its shape", () => {
    const constants = new Set(['Lena Martin', 'Lena Martin Hall', 'lena@school.example.edu']);
    expect(findPii(output({ a: 'Lena Martin', b: 'Lena Martin Hall' }), none, { ...given(learnInput()), constants })).toBeUndefined();
    // The same text read from the input is not the constant: another string, in another case.
    expect(findPii(output({ a: 'LENA MARTIN' }), none, { ...given(learnInput()), constants })).toMatchObject({ category: 'name' });
    expect(findPii(output({ a: 'lena@school.example.edu' }), none, { ...given(learnInput()), constants })).toMatchObject({ category: 'email' });
  });

  it('bounds the work of looking inside text, and still finds the student first', () => {
    // 5,000 classmates whose batch_uids share a long beginning, against text repeating it.
    const common = 'q'.repeat(200);
    const input = learnInput();
    input.extensions['bb:group.users'] = JSON.stringify(Array.from({ length: 5000 }, (_, i) => ({ batchUid: `${common}${i}x` })));
    const text = `${common} `.repeat(700);
    expect(findPii(output({ a: text, b: text }), none, given(input))).toBeUndefined();
    expect(findPii(output({ a: 'Notes for S1234567' }), none, given(input))).toMatchObject({ category: 'user-id', path: 'extensions.a' });
  });

  it('lets through text holding a value the input also holds where it identifies no one', () => {
    const input = learnInput({ externalId: 'BIO-1100', courseNumber: 'BIO-1100' });
    expect(findPii(output({ title: 'BIO-1100 Introduction to Biology' }), none, given(input, { studentId: 'BIO-1100' }))).toBeUndefined();
  });

  it('lets through a value the input also holds where it identifies no one (a course number equal to a batch_uid)', () => {
    const input = learnInput({ externalId: 'BIO-110', courseNumber: 'BIO-110' });
    const out = { actor: student, object: { id: 'https://learn.example/x', type: 'Document' }, group: { id: 'https://learn.example/c', type: 'CourseOffering', courseNumber: 'BIO-110' } };
    expect(findPii(out, none, given(input, { studentId: 'BIO-110' }))).toBeUndefined();
  });

  it("lets through a batch_uid that is the site's id, which every Learn IRI holds (Learn's anonymized samples)", () => {
    const site = '6c1f8e2b-4a7d-4d39-b5e0-93a2f7c41d8e';
    const input = learnInput({ externalId: site });
    const out = output({ post: `https://learn.example/v1/sites/${site}/discussion/_318_1/post/_2051_1` });
    // Without the envelope's sensor the guard cannot know the id is the site's, and refuses it.
    expect(findPii(out, none, given(input, { studentId: site }))).toMatchObject({ category: 'user-id', path: 'extensions.post' });
    expect(findPii(out, none, { ...given(input, { studentId: site }), notPersonal: [site] })).toBeUndefined();
    // Only that value: the student's other ids are still found.
    expect(findPii(output({ who: '_501_1' }), none, { ...given(input, { studentId: site }), notPersonal: [site] })).toMatchObject({ category: 'user-id' });
  });

  it("never flags what the gateway sends for the student, even where it equals a Learn id", () => {
    // A school whose TimeBack ids are Learn's user UUIDs.
    const platformId = 'aa11bb22-cc33-dd44-ee55-ff6677889900';
    const out = { actor: `urn:uuid:${platformId}`, object: { id: 'https://learn.example/x', type: 'Document', assignee: `urn:uuid:${platformId}` } };
    expect(findPii(out, none, given(learnInput(), { own: [`urn:uuid:${platformId}`, platformId] }))).toBeUndefined();
  });

  it('lets through what the rule allows: user-id and name separately', () => {
    const out = output({ id: 's1234567', name: 'Lena Martin' });
    expect(findPii(out, only('user-id'), given(learnInput()))).toMatchObject({ category: 'name', path: 'extensions.name' });
    expect(findPii(out, only('name'), given(learnInput()))).toMatchObject({ category: 'user-id', path: 'extensions.id' });
    expect(findPii(out, only('user-id', 'name'), given(learnInput()))).toBeUndefined();
  });

  it('keeps an allowed e-mail address allowed when it is also the batch_uid', () => {
    const input = learnInput({ externalId: 'lena.martin@school.example.edu' });
    expect(findPii(output({ who: 'lena.martin@school.example.edu' }), only('email'), given(input, { studentId: 'lena.martin@school.example.edu' }))).toBeUndefined();
  });

  it('finds nothing in an output that names no one', () => {
    expect(findPii(output({ course: 'BIO-110', quiz: 'Quiz 2' }), none, given(learnInput()))).toBeUndefined();
  });
});
