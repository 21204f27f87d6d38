/**
 * Learn-shaped Caliper 1.1 events for the engine tests, following the shapes Blackboard
 * documents (bb: extensions, full-IRI proprietary types, bare-UUID ids). All ids and values
 * are made up.
 */
import { compileRuleFiles } from '../../src/mapping/rule-loader.ts';
import type { RuleSet } from '../../src/mapping/rule-set.ts';

export const SENSOR = '3f6d2a10-8c4b-4e21-9a7f-0b1c2d3e4f50';
export const APP_ID = 'a5e0c6f2-1b7d-4c39-8e4a-6f2d9b1c3e70';
export const SITE = `https://caliper-mapping.cloudbb.blackboard.com/v1/sites/${SENSOR}`;
const BB_CONTEXT = ['http://caliper.blackboard.com/ctx/caliper/v1/Context', 'http://purl.imsglobal.org/ctx/caliper/v1p1'];
export const BB = 'http://caliper.blackboard.com/caliper/v1/';

export const STUDENT = { externalId: 'lmartin07', platformId: '0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05', userUuid: 'aa11bb22cc33dd44ee55ff6677889900' };
export const OTHER_STUDENT = { externalId: 'kpatel22', platformId: '5d3c1b2a-7e6f-4a9b-8c0d-1e2f3a4b5c6d', userUuid: 'bb22cc33dd44ee55ff66778899001122' };
/** A student TimeBack's roster does not know (not in USERS): skipped, user-not-in-timeback. */
export const NEWCOMER = { externalId: 'jnew31', platformId: '7e2d4c6b-9a1f-4b3e-8d5c-2f6a1e9b0c47', userUuid: 'cc33dd44ee55ff667788990011223344' };
export const USERS = { [STUDENT.externalId]: STUDENT.platformId, [OTHER_STUDENT.externalId]: OTHER_STUDENT.platformId };

type Json = Record<string, unknown>;

export function person(student = STUDENT): Json {
  return {
    id: `${SITE}/users/${student.userUuid}`,
    type: 'Person',
    extensions: { 'bb:user.id': '_501_1', 'bb:user.externalId': student.externalId },
  };
}

const course = { id: `${SITE}/courses/c0ffee00c0ffee00c0ffee00c0ffee00`, type: 'CourseOffering', courseNumber: 'BIO-110', extensions: { 'bb:course.id': '_77_1' } };

function membership(student = STUDENT): Json {
  return {
    id: `${course.id}/members/${student.userUuid}`,
    type: 'Membership',
    extensions: { 'bb:course.id': '_77_1', 'bb:course.externalId': 'BIO-110', 'bb:user.id': '_501_1', 'bb:user.externalId': student.externalId },
    member: person(student),
    organization: { ...course, members: [] },
    roles: ['Learner'],
    status: 'Active',
  };
}

let counter = 0;
/** A fresh bare-UUID event id, as Learn sends them. */
function eventId(): string {
  counter++;
  return `9a1b2c3d-4e5f-4a6b-8c7d-${counter.toString(16).padStart(12, '0')}`;
}

export function forumPost(overrides: Json = {}, student = STUDENT): Json {
  return {
    '@context': BB_CONTEXT,
    type: `${BB}ForumEvent`,
    id: eventId(),
    actor: person(student),
    action: 'Created',
    object: {
      '@context': BB_CONTEXT,
      id: `${SITE}/discussion/_88_1`,
      type: `${BB}Forum`,
      name: 'Week 3: photosynthesis',
      description: '',
      threadPointsPossible: 10,
    },
    generated: {
      '@context': BB_CONTEXT,
      id: `${SITE}/discussion/_88_1/post/_1207_1`,
      type: `${BB}ForumPost`,
      dateCreated: '2024-03-04T10:14:55.301Z',
      extensions: { threadId: '_1207_1', firstPost: true, length: 412 },
    },
    eventTime: '2024-03-04T10:14:55.301Z',
    edApp: { id: `${SITE}/applications/learn`, type: 'SoftwareApplication' },
    membership: membership(student),
    extensions: {},
    ...overrides,
  };
}

export function gradeEvent(overrides: Json = {}, student = STUDENT): Json {
  const attempt = {
    id: `${SITE}/gradableItems/_310_1/attempts/_9120_1`,
    type: 'Attempt',
    startedAtTime: '2024-03-05T08:00:12.010Z',
    assignable: {
      id: `${SITE}/gradableItems/_310_1`,
      type: 'Assessment',
      maxScore: 40,
      dateToSubmit: '2024-03-08T23:59:00Z',
      creators: [],
      keywords: [],
    },
    assignee: person(student),
    count: 1,
  };
  return {
    '@context': 'http://purl.imsglobal.org/ctx/caliper/v1p1',
    type: 'GradeEvent',
    id: eventId(),
    actor: { id: `${SITE}/applications/learn`, type: 'SoftwareApplication' },
    action: 'Graded',
    object: attempt,
    generated: {
      id: `${attempt.id}/score`,
      type: 'Score',
      attempt,
      maxScore: 0,
      scoreGiven: 31.5,
      scoredBy: { id: `${SITE}/applications/learn`, type: 'SoftwareApplication' },
      extensions: { 'bb:action.name': 'instructor.grade.history.event.attempt.grade' },
    },
    eventTime: '2024-03-06T02:10:44.500Z',
    edApp: { id: `${SITE}/applications/learn`, type: 'SoftwareApplication' },
    group: { ...course, members: [] },
    membership: membership(student),
    extensions: {},
    ...overrides,
  };
}

export function ltiLaunch(overrides: Json = {}, student = STUDENT): Json {
  return {
    '@context': BB_CONTEXT,
    type: `${BB}LTIEvent`,
    id: eventId(),
    actor: person(student),
    action: 'LoggedIn',
    object: {
      id: `${SITE}/ltiLaunches/6e0d1c2b-3a49-4f58-8e67-7d6c5b4a3928`,
      type: `${BB}LTILaunchInfo`,
      launchUrl: 'https://tool.example.org/launch?user=lmartin07&course=BIO-110',
      launchParameters: {
        oauth_signature: 'c2lnbmF0dXJl',
        oauth_consumer_key: 'consumer-key',
        lis_person_contact_email_primary: 'lmartin07@school.example.edu',
        lis_person_name_full: 'Lena Martin',
        user_id: STUDENT.userUuid,
      },
      customParameters: {},
    },
    eventTime: '2024-03-04T11:00:00.000Z',
    edApp: { id: `${SITE}/applications/learn`, type: 'SoftwareApplication', extensions: { 'bb:request.headers.ipAddress': '203.0.113.9' } },
    federatedSession: {
      id: `${SITE}/sessions/5A1B2C3D4E5F60718293A4B5C6D7E8F9`,
      type: 'LtiSession',
      name: '5A1B2C3D4E5F60718293A4B5C6D7E8F9',
      startedAtTime: '2024-03-04T10:59:58.000Z',
      user: person(student),
    },
    session: { id: `${SITE}/sessions/5A1B2C3D4E5F60718293A4B5C6D7E8F9`, type: 'Session' },
    extensions: {},
    ...overrides,
  };
}

export function sessionLogin(overrides: Json = {}, student = STUDENT): Json {
  return {
    '@context': 'http://purl.imsglobal.org/ctx/caliper/v1p1',
    type: 'SessionEvent',
    id: eventId(),
    actor: person(student),
    action: 'LoggedIn',
    object: {
      id: `${SITE}/applications/learn`,
      type: 'SoftwareApplication',
      extensions: { 'bb:request.headers.agent': 'Mozilla/5.0 (X11; Linux x86_64)', 'bb:request.headers.ipAddress': '198.51.100.23' },
    },
    eventTime: '2024-03-04T07:58:31+01:00',
    edApp: { id: `${SITE}/applications/learn`, type: 'SoftwareApplication' },
    extensions: {},
    ...overrides,
  };
}

export function envelope(data: unknown[]): Json {
  return { sensor: SENSOR, sendTime: '2024-03-06T02:11:00.000Z', dataVersion: 'http://purl.imsglobal.org/ctx/caliper/v1p1', data };
}

/** Compiles rule files given as `{ 'name.yaml': text }`. */
export function rulesFrom(files: Record<string, string>): RuleSet {
  return compileRuleFiles(Object.entries(files).map(([name, text]) => ({ file: `mappings/${name}`, text })));
}

/** A one-rule file: the rule's YAML indented under `rules:`. */
export function oneRule(ruleYaml: string): RuleSet {
  const indented = ruleYaml
    .trim()
    .split('\n')
    .map((line, i) => (i === 0 ? `  - ${line}` : `    ${line}`))
    .join('\n');
  return rulesFrom({ 'test.yaml': `rules:\n${indented}\n` });
}
