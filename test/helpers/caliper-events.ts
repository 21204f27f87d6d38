/**
 * Learn-shaped Caliper 1.1 events and envelopes for tests: the structure Blackboard
 * documents (bare-UUID sensor and event ids, `bb:` extensions, IMS short types and
 * Blackboard full-IRI types), with made-up sites, users and courses.
 */
import { randomUUID } from 'node:crypto';

export const CALIPER_1_1 = 'http://purl.imsglobal.org/ctx/caliper/v1p1';
export const TEST_SITE = '7d0c3a52-91e4-4f6b-b2a8-5c1e9f04d3a7';
const BASE = `https://caliper-mapping.cloudbb.blackboard.com/v1/sites/${TEST_SITE}`;
const BB_CONTEXT = ['http://caliper.blackboard.com/ctx/caliper/v1/Context', CALIPER_1_1];

export type TestEvent = Record<string, unknown>;

/** A Learn SessionEvent (IMS short type, string @context) for student `externalId`. */
export function sessionEvent(overrides: TestEvent = {}, externalId = 'stu-0042'): TestEvent {
  return {
    '@context': CALIPER_1_1,
    type: 'SessionEvent',
    id: randomUUID(),
    actor: {
      id: `${BASE}/users/4be0a1c97d2f4e6a8b3c5d7e9f1a2b3c`,
      type: 'Person',
      extensions: { 'bb:user.id': '_4242_1', 'bb:user.externalId': externalId },
    },
    action: 'LoggedIn',
    object: { id: `${BASE}/applications/learn`, type: 'SoftwareApplication' },
    eventTime: '2026-03-02T09:15:27.481Z',
    edApp: { id: `${BASE}/applications/learn`, type: 'SoftwareApplication' },
    extensions: {},
    ...overrides,
  };
}

/** A Blackboard ForumEvent (full-IRI type, array @context); `padding` grows the post text. */
export function forumEvent(overrides: TestEvent = {}, padding = 0): TestEvent {
  return {
    '@context': BB_CONTEXT,
    type: 'http://caliper.blackboard.com/caliper/v1/ForumEvent',
    id: randomUUID(),
    actor: {
      id: `${BASE}/users/9a8b7c6d5e4f40312a1b2c3d4e5f6a7b`,
      type: 'Person',
      extensions: { 'bb:user.id': '_5150_1', 'bb:user.externalId': 'stu-0007' },
    },
    action: 'Created',
    object: {
      '@context': BB_CONTEXT,
      type: 'http://caliper.blackboard.com/caliper/v1/Forum',
      id: `${BASE}/discussion/_8801_1`,
      name: 'Week 4: cell membranes',
      description: 'Discuss the reading.'.padEnd(20 + padding, ' Lorem ipsum dolor sit amet.'),
      threadPointsPossible: 10,
      extensions: {},
    },
    eventTime: '2026-03-02T10:01:05.903Z',
    membership: {
      id: `${BASE}/courses/0f1e2d3c4b5a69788796a5b4c3d2e1f0/members/9a8b7c6d5e4f40312a1b2c3d4e5f6a7b`,
      type: 'Membership',
      extensions: { 'bb:course.id': '_310_1', 'bb:course.externalId': 'BIO-110-S26', 'bb:user.externalId': 'stu-0007' },
    },
    ...overrides,
  };
}

export function envelope(data: unknown[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { sensor: TEST_SITE, sendTime: '2026-03-02T10:01:09.120Z', dataVersion: CALIPER_1_1, data, ...overrides };
}
