import { describe, expect, it } from 'vitest';
import { validateCaliperEvent } from '../../src/mapping/caliper-validator.ts';

const good = () => ({
  '@context': 'http://purl.imsglobal.org/ctx/caliper/v1p2',
  id: 'urn:uuid:15094ee1-8916-5697-8f62-62bbe948fb0c',
  type: 'MessageEvent',
  profile: 'ForumProfile',
  actor: 'urn:uuid:0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05',
  action: 'Posted',
  object: {
    id: 'https://school.example.edu/forums/2/topics/1/messages/2',
    type: 'Message',
    dateCreated: '2024-03-04T10:14:55.301Z',
    isPartOf: { id: 'https://school.example.edu/forums/2', type: 'Forum', name: 'Week 3' },
  },
  eventTime: '2024-03-04T10:14:55.301Z',
  edApp: 'urn:uuid:a5e0c6f2-1b7d-4c39-8e4a-6f2d9b1c3e70',
  group: { id: 'https://school.example.edu/courses/1', type: 'CourseOffering', courseNumber: 'BIO-110' },
  session: 'urn:tag:auto-attach',
  extensions: { threadId: '_1207_1' },
});

type Event = Record<string, unknown>;
const withChange = (change: (event: Event) => void): Event => {
  const event = good() as Event;
  change(event);
  return event;
};

describe('the Caliper 1.2 validator', () => {
  it('accepts a good event', () => {
    expect(validateCaliperEvent(good())).toEqual({ ok: true });
  });

  it.each([
    ['an IRI actor', (e: Event) => (e.actor = 'urn:uuid:0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05')],
    ['an entity actor', (e: Event) => (e.actor = { id: 'urn:uuid:0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05', type: 'Person' })],
    ['a software grader in a GradeEvent', (e: Event) => Object.assign(e, {
      type: 'GradeEvent', profile: 'GradingProfile', action: 'Graded',
      actor: { id: 'https://school.example.edu/applications/learn', type: 'SoftwareApplication' },
      object: { id: 'https://school.example.edu/attempts/1', type: 'Attempt', assignee: 'urn:uuid:0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05', count: 1 },
      generated: { id: 'https://school.example.edu/attempts/1/score', type: 'Score', scoreGiven: 3.5, maxScore: 4 },
    })],
    ['a subtype where a supertype is expected', (e: Event) => Object.assign(e, { type: 'AssignableEvent', profile: 'AssignableProfile', action: 'Started', object: { id: 'https://x.example/a', type: 'Assessment' } })],
    ['an id-less SystemIdentifier', (e: Event) => ((e.object as Event).otherIdentifiers = [{ type: 'SystemIdentifier', identifier: '_88_1', identifierType: 'SystemId' }])],
    ['ISO 8601 durations', (e: Event) => Object.assign(e, {
      type: 'MediaEvent', profile: 'MediaProfile', action: 'Paused',
      object: { id: 'https://school.example.edu/videos/1', type: 'VideoObject', duration: 'PT1H2M3.5S' },
      target: { id: 'https://school.example.edu/videos/1#t=330', type: 'MediaLocation', currentTime: 'PT5M30S' },
    })],
    ['a launch with its federated session', (e: Event) => Object.assign(e, {
      type: 'ToolLaunchEvent', profile: 'ToolLaunchProfile', action: 'Launched',
      object: { id: 'https://tool.example.org', type: 'SoftwareApplication' },
      federatedSession: { id: 'https://school.example.edu/sessions/1', type: 'LtiSession', startedAtTime: '2024-03-04T10:59:58.000Z' },
    })],
  ])('accepts %s', (_what, change) => {
    expect(validateCaliperEvent(withChange(change))).toEqual({ ok: true });
  });

  it.each([
    ['a wrong action for the type', (e: Event) => (e.action = 'Created'), 'action', 'MessageEvent does not allow Created (allowed: Posted, MarkedAsRead, MarkedAsUnread)'],
    ['an action that is not Caliper', (e: Event) => (e.action = 'Commented on'), 'action', '"Commented on" is not a Caliper 1.2 action'],
    ['a wrong profile', (e: Event) => (e.profile = 'ReadingProfile'), 'profile', 'ReadingProfile does not carry MessageEvent (use ForumProfile)'],
    ['an unknown event type', (e: Event) => (e.type = 'OutcomeEvent'), 'type', '"OutcomeEvent" is not a Caliper 1.2 event type'],
    ['the wrong object type', (e: Event) => ((e.object as Event).type = 'Forum'), 'object.type', 'MessageEvent needs object of type Message, got Forum'],
    ['an http IRI', (e: Event) => (((e.object as Event).isPartOf as Event).id = 'http://school.example.edu/forums/2'), 'object.isPartOf.id', '"http://school.example.edu/forums/2" is not an IRI TimeBack accepts (urn:uuid: in lowercase, https://, or urn:email:)'],
    ['an uppercase urn:uuid actor', (e: Event) => (e.actor = 'urn:uuid:0B6F2A8E-5C1D-4E7A-9F3B-8D2C6E4A1F05'), 'actor', '"urn:uuid:0B6F2A8E-5C1D-4E7A-9F3B-8D2C6E4A1F05" is not an IRI TimeBack accepts (urn:uuid: in lowercase, https://, or urn:email:)'],
    ['a bare UUID event id', (e: Event) => (e.id = '15094ee1-8916-5697-8f62-62bbe948fb0c'), 'id', 'must be urn:uuid: followed by a UUID, in lowercase'],
    ['a date-time without milliseconds', (e: Event) => (e.eventTime = '2024-03-04T10:14:55Z'), 'eventTime', '"2024-03-04T10:14:55Z" is not a date-time written YYYY-MM-DDTHH:mm:ss.SSSZ'],
    ['a duration in seconds', (e: Event) => Object.assign(e, {
      type: 'SessionEvent', profile: 'SessionProfile', action: 'TimedOut', actor: 'urn:uuid:a5e0c6f2-1b7d-4c39-8e4a-6f2d9b1c3e70',
      object: { id: 'https://school.example.edu/sessions/1', type: 'Session', duration: '1800' },
    }), 'object.duration', '"1800" is not an ISO 8601 duration like PT30M54S'],
    ['a media position that is not a duration', (e: Event) => Object.assign(e, {
      type: 'MediaEvent', profile: 'MediaProfile', action: 'Paused',
      object: { id: 'https://school.example.edu/videos/1', type: 'VideoObject', duration: 'PT18M40S' },
      target: { id: 'https://school.example.edu/videos/1#t=330', type: 'MediaLocation', currentTime: 330 },
    }), 'target.currentTime', '330 is not an ISO 8601 duration like PT30M54S'],
    ['an eventTime that is no day of the calendar', (e: Event) => (e.eventTime = '2024-02-30T10:14:55.301Z'), 'eventTime', '"2024-02-30T10:14:55.301Z" is written YYYY-MM-DDTHH:mm:ss.SSSZ but names no instant (no such day, or an hour past 23, a minute or second past 59)'],
    ['a nested date-time at an hour that is none', (e: Event) => ((e.object as Event).dateCreated = '2024-03-04T24:14:55.301Z'), 'object.dateCreated', '"2024-03-04T24:14:55.301Z" is written YYYY-MM-DDTHH:mm:ss.SSSZ but names no instant (no such day, or an hour past 23, a minute or second past 59)'],
    ['a nested date-time with an offset', (e: Event) => ((e.object as Event).dateCreated = '2024-03-04T10:14:55.301+01:00'), 'object.dateCreated', '"2024-03-04T10:14:55.301+01:00" is not a date-time written YYYY-MM-DDTHH:mm:ss.SSSZ'],
    ['a missing object', (e: Event) => delete e.object, 'object', 'required: every event has an object'],
    ['a missing actor', (e: Event) => delete e.actor, 'actor', 'required: every event has an actor'],
    ['a missing eventTime', (e: Event) => delete e.eventTime, 'eventTime', 'required: every event has an eventTime'],
    ['a missing @context', (e: Event) => delete e['@context'], '@context', 'must be http://purl.imsglobal.org/ctx/caliper/v1p2'],
    ['an entity without a type', (e: Event) => delete (e.group as Event).type, 'group.type', 'an entity needs a type'],
    ['an entity without an id', (e: Event) => delete (e.group as Event).id, 'group.id', 'a CourseOffering needs an id'],
    ['a Blackboard entity type', (e: Event) => ((e.object as Event).isPartOf = { id: 'https://x.example/f', type: 'http://caliper.blackboard.com/caliper/v1/Forum' }), 'object.isPartOf.type', '"http://caliper.blackboard.com/caliper/v1/Forum" is not a Caliper 1.2 entity type'],
    ['a property Caliper does not define', (e: Event) => ((e.object as Event).threadPointsPossible = 10), 'object.threadPointsPossible', 'not a Caliper 1.2 property of an entity (custom data belongs in extensions)'],
    // A rule's typo is named with the property it most likely stands for, not sent to extensions.
    ['a misspelt property', (e: Event) => (((e.object as Event).isPartOf as Event).nmae = 'Week 3'), 'object.isPartOf.nmae', 'not a Caliper 1.2 property of an entity; did you mean "name"? (custom data belongs in extensions)'],
    ['a property in the wrong case', (e: Event) => ((e.group as Event).CourseNumber = 'ALG1'), 'group.CourseNumber', 'not a Caliper 1.2 property of an entity; keys are case-sensitive: did you mean "courseNumber"? (custom data belongs in extensions)'],
    ['an event property Caliper does not define', (e: Event) => (e.launchUrl = 'https://x.example'), 'launchUrl', 'not a property of a Caliper 1.2 event (custom data belongs in extensions)'],
    ['a number where text belongs', (e: Event) => ((e.group as Event).courseNumber = 110), 'group.courseNumber', 'expected text'],
    ['text where a number belongs', (e: Event) => ((e.object as Event).attachments = [{ id: 'https://x.example/f', type: 'Frame', index: '1' }]), 'object.attachments[0].index', 'expected a number'],
    ['a group that is not an organisation', (e: Event) => (e.group = { id: 'https://x.example/p', type: 'Page' }), 'group.type', 'MessageEvent needs group of type Organization, got Page'],
    ['extensions that are not an object', (e: Event) => (e.extensions = ['x']), 'extensions', 'extensions must be an object'],
    ['a session IRI other than auto-attach', (e: Event) => (e.session = 'urn:tag:other'), 'session', '"urn:tag:other" is not an IRI TimeBack accepts (urn:uuid: in lowercase, https://, or urn:email:)'],
    ['a launch without its federated session', (e: Event) => Object.assign(e, { type: 'ToolLaunchEvent', profile: 'ToolLaunchProfile', action: 'Launched', object: { id: 'https://tool.example.org', type: 'SoftwareApplication' } }), 'federatedSession', "required: ToolLaunchEvent Launched needs federatedSession (the tool's LtiSession)"],
    ['a copy without what it generated', (e: Event) => Object.assign(e, { type: 'ResourceManagementEvent', profile: 'ResourceManagementProfile', action: 'Copied', object: { id: 'https://x.example/d', type: 'Document' } }), 'generated', 'required: ResourceManagementEvent Copied needs generated (the copy)'],
    ['a person logging out as an app', (e: Event) => Object.assign(e, { type: 'SessionEvent', profile: 'SessionProfile', action: 'LoggedOut', actor: { id: 'https://x.example/app', type: 'SoftwareApplication' }, object: { id: 'https://x.example/app', type: 'SoftwareApplication' } }), 'actor.type', 'SessionEvent needs actor of type Person, got SoftwareApplication'],
    ['a person as a GradeEvent object', (e: Event) => Object.assign(e, { type: 'GradeEvent', profile: 'GradingProfile', action: 'Graded', object: { id: 'https://x.example/u', type: 'Person' } }), 'object.type', 'GradeEvent needs object of type Attempt, got Person'],
  ])('rejects %s', (_what, change, path, message) => {
    expect(validateCaliperEvent(withChange(change))).toEqual({ ok: false, path, message });
  });

  // The messages reach stderr (translate), the admin events API and the stored event's detail:
  // a value from the input or a rule is escaped where a terminal would not show it as written, and cut.
  it.each([
    ['an actor IRI with a bidirectional override and a C1 control', (e: Event) => (e.actor = 'http://x.example/\u202eevil\u0085'), 'actor',
      '"http://x.example/\\u202eevil\\u0085" is not an IRI TimeBack accepts (urn:uuid: in lowercase, https://, or urn:email:)'],
    ['an action of megabytes', (e: Event) => (e.action = 'A'.repeat(1_000_000)), 'action', `"${'A'.repeat(100)}"… (1000000 characters) is not a Caliper 1.2 action`],
    ['an entity type with an isolate', (e: Event) => ((e.group as Event).type = 'Course\u2066Offering'), 'group.type', '"Course\\u2066Offering" is not a Caliper 1.2 entity type'],
    ['a term with a line separator', (e: Event) => (e.membership = {
      id: 'https://x.example/m', type: 'Membership', roles: ['Learner\u2028'],
    }), 'membership.roles[0]', '"Learner\\u2028" is not a Caliper 1.2 membership role (a LIS role term, such as Learner or Instructor#TeachingAssistant)'],
    ['an eventTime that is a large object', (e: Event) => (e.eventTime = { at: 'x'.repeat(10_000) }), 'eventTime',
      `${JSON.stringify({ at: 'x'.repeat(10_000) }).slice(0, 100)}… (10009 characters of JSON) is not a date-time written YYYY-MM-DDTHH:mm:ss.SSSZ`],
    ['a duration with a C1 control', (e: Event) => Object.assign(e, {
      type: 'SessionEvent', profile: 'SessionProfile', action: 'TimedOut', actor: 'urn:uuid:a5e0c6f2-1b7d-4c39-8e4a-6f2d9b1c3e70',
      object: { id: 'https://school.example.edu/sessions/1', type: 'Session', duration: 'PT1M\u009b' },
    }), 'object.duration', '"PT1M\\u009b" is not an ISO 8601 duration like PT30M54S'],
  ])('quotes %s escaped and bounded', (_what, change, path, message) => {
    expect(validateCaliperEvent(withChange(change))).toEqual({ ok: false, path, message });
  });

  describe('the parties TimeBack knows', () => {
    const STUDENT = 'urn:uuid:0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05';
    const APP = 'urn:uuid:a5e0c6f2-1b7d-4c39-8e4a-6f2d9b1c3e70';
    const parties = { student: STUDENT, edApp: APP };
    const check = (change: (e: Event) => void) => validateCaliperEvent(withChange(change), parties);
    const graded = (e: Event) => Object.assign(e, {
      type: 'GradeEvent', profile: 'GradingProfile', action: 'Graded',
      object: { id: 'https://school.example.edu/attempts/1', type: 'Attempt', assignee: STUDENT },
    });
    const timedOut = (e: Event) => Object.assign(e, {
      type: 'SessionEvent', profile: 'SessionProfile', action: 'TimedOut',
      object: { id: 'https://school.example.edu/sessions/1', type: 'Session', user: STUDENT },
    });

    it.each([
      ['the student acting, by IRI', (_e: Event) => {}],
      ['the student acting, as an entity', (e: Event) => (e.actor = { id: STUDENT, type: 'Person' })],
      ['this app grading', (e: Event) => Object.assign(graded(e), { actor: APP })],
      ['this app timing a session out, as an entity', (e: Event) => Object.assign(timedOut(e), { actor: { id: APP, type: 'SoftwareApplication' } })],
      ['this app as an entity in edApp', (e: Event) => (e.edApp = { id: APP, type: 'SoftwareApplication' })],
    ])('accepts %s', (_what, change) => {
      expect(check(change)).toEqual({ ok: true });
    });

    it.each([
      ['another person acting', (e: Event) => (e.actor = 'urn:uuid:5b8d1f3a-7c2e-4e9b-a1d4-6f0c3e8b2a57'), 'actor', "must be the student's platform id (urn:uuid:…), the only MessageEvent actor TimeBack knows"],
      ['Learn\'s user IRI acting', (e: Event) => (e.actor = { id: 'https://caliper-mapping.cloudbb.blackboard.com/v1/sites/3f2b9c1e-7a4d-4e6b-9c8a-1d5e7f2a4b60/users/e5998017e57d4e2487201f6484076547', type: 'Person' }), 'actor', "must be the student's platform id (urn:uuid:…), the only MessageEvent actor TimeBack knows"],
      ['this app posting a message', (e: Event) => (e.actor = APP), 'actor', "must be the student's platform id (urn:uuid:…), the only MessageEvent actor TimeBack knows"],
      ['Learn grading under its own IRI', (e: Event) => Object.assign(graded(e), { actor: 'https://caliper-mapping.cloudbb.blackboard.com/v1/sites/3f2b9c1e-7a4d-4e6b-9c8a-1d5e7f2a4b60/applications/learn' }), 'actor', "must be the student's platform id or this app's id (urn:uuid:…), the only GradeEvent actor TimeBack knows"],
      ['the student timing out their own session', (e: Event) => Object.assign(timedOut(e), { actor: STUDENT }), 'actor', "must be this app's id (urn:uuid:…), the only SessionEvent actor TimeBack knows"],
      ['another app as edApp', (e: Event) => (e.edApp = 'https://caliper-mapping.cloudbb.blackboard.com/v1/sites/3f2b9c1e-7a4d-4e6b-9c8a-1d5e7f2a4b60/applications/learn'), 'edApp', "must be this app's id, urn:uuid:<TIMEBACK_APP_ID>"],
      ['no edApp', (e: Event) => delete e.edApp, 'edApp', "must be this app's id, urn:uuid:<TIMEBACK_APP_ID>"],
      ['a Session entity as session', (e: Event) => (e.session = { id: 'https://school.example.edu/sessions/1', type: 'Session' }), 'session', "must be urn:tag:auto-attach (TimeBack attaches the event to the student's session)"],
    ])('rejects %s', (_what, change, path, message) => {
      expect(check(change)).toEqual({ ok: false, path, message });
    });

    it('checks Caliper first, and the parties only without them', () => {
      expect(check((e) => (e.action = 'Created'))).toMatchObject({ ok: false, path: 'action' });
      expect(validateCaliperEvent(withChange((e) => (e.actor = APP)))).toEqual({ ok: true });
    });
  });

  describe('properties per entity type', () => {
    const assessmentStarted = (assessment: Event) => (e: Event) =>
      Object.assign(e, { type: 'AssessmentEvent', profile: 'AssessmentProfile', action: 'Started', object: { id: 'https://x.example/quiz/1', type: 'Assessment', ...assessment } });

    it.each([
      // Assessment → AssignableDigitalResource → DigitalResource → Entity.
      ['an Assessment with what every level above it defines', assessmentStarted({
        name: 'Quiz 1', dateCreated: '2024-03-01T08:00:00.000Z',
        isPartOf: 'https://x.example/courses/1', keywords: ['stoichiometry'], version: '2',
        maxScore: 20, maxAttempts: 2, dateToSubmit: '2024-03-08T23:59:00.000Z',
        items: [{ id: 'https://x.example/quiz/1/items/1', type: 'AssessmentItem', isTimeDependent: false }],
      })],
      // CourseSection → CourseOffering → Organization → Agent → Entity.
      ['a CourseSection with its own, its course\'s and its organisation\'s properties', (e: Event) => (e.group = {
        id: 'https://x.example/courses/1/sections/2', type: 'CourseSection', category: 'Lab', courseNumber: 'BIO-110',
        academicSession: 'Fall 2024', subOrganizationOf: 'https://x.example/courses/1', name: 'Section 2',
      })],
      ['a SoftwareApplication\'s host and version', (e: Event) => (e.edApp = { id: 'https://x.example/app', type: 'SoftwareApplication', host: 'x.example', version: '5.2' })],
    ])('accepts %s', (_what, change) => {
      expect(validateCaliperEvent(withChange(change))).toEqual({ ok: true });
    });

    const BELONGS_ELSEWHERE = (type: string) => `not a property of a ${type} in Caliper 1.2 (custom data belongs in extensions)`;
    it.each([
      ['a maximum score on a Person', (e: Event) => (e.actor = { id: 'urn:uuid:0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05', type: 'Person', maxScore: 10 }), 'actor.maxScore', BELONGS_ELSEWHERE('Person')],
      ['a due date on a Message (only assignable resources have one)', (e: Event) => ((e.object as Event).dateToSubmit = '2024-03-08T23:59:00.000Z'), 'object.dateToSubmit', BELONGS_ELSEWHERE('Message')],
      ['a frame index on a Chapter', (e: Event) => Object.assign(e, { type: 'ViewEvent', profile: 'ReadingProfile', action: 'Viewed', object: { id: 'https://x.example/c/1', type: 'Chapter', index: 0 } }), 'object.index', BELONGS_ELSEWHERE('Chapter')],
      ['a course number on a Group (a subtype of Organization, not of CourseOffering)', (e: Event) => (e.group = { id: 'https://x.example/g/1', type: 'Group', courseNumber: 'BIO-110' }), 'group.courseNumber', BELONGS_ELSEWHERE('Group')],
      ['an Assessment\'s items on an AssessmentItem', assessmentStarted({ items: [{ id: 'https://x.example/i/1', type: 'AssessmentItem', items: [] }] }), 'object.items[0].items', BELONGS_ELSEWHERE('AssessmentItem')],
      ['a name on a SystemIdentifier, which has none of an entity\'s properties', (e: Event) => ((e.object as Event).otherIdentifiers = [{ type: 'SystemIdentifier', identifier: '_88_1', identifierType: 'SystemId', name: 'x' }]), 'object.otherIdentifiers[0].name', BELONGS_ELSEWHERE('SystemIdentifier')],
    ])('rejects %s', (_what, change, path, message) => {
      expect(validateCaliperEvent(withChange(change))).toEqual({ ok: false, path, message });
    });
  });

  describe('properties whose values are Caliper 1.2 terms', () => {
    const membership = (change: Event = {}) => (e: Event) =>
      (e.membership = {
        id: 'https://school.example.edu/courses/1/members/2', type: 'Membership',
        organization: 'https://school.example.edu/courses/1', member: 'urn:uuid:0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05',
        roles: ['Learner'], status: 'Active', ...change,
      });
    const launch = (messageType: string) => (e: Event) => Object.assign(e, {
      type: 'ToolLaunchEvent', profile: 'ToolLaunchProfile', action: 'Launched',
      object: { id: 'https://tool.example.org', type: 'SoftwareApplication' },
      target: { id: 'https://tool.example.org/launch', type: 'LtiLink', messageType },
      federatedSession: { id: 'https://school.example.edu/sessions/1', type: 'LtiSession' },
    });
    const used = (metric: string) => (e: Event) => Object.assign(e, {
      type: 'ToolUseEvent', profile: 'ToolUseProfile', action: 'Used',
      object: { id: 'https://tool.example.org', type: 'SoftwareApplication' },
      generated: {
        id: 'https://tool.example.org/progress/1', type: 'AggregateMeasureCollection',
        items: [{ id: 'https://tool.example.org/progress/1/1', type: 'AggregateMeasure', metric, metricValue: 12 }],
      },
    });
    const identified = (identifierType: string) => (e: Event) =>
      ((e.object as Event).otherIdentifiers = [{ type: 'SystemIdentifier', identifier: '_88_1', identifierType }]);

    it.each([
      ['LIS roles as terms, a sub-role too, and an active membership', membership({ roles: ['Learner', 'Instructor#TeachingAssistant'] })],
      ['an inactive membership', membership({ status: 'Inactive' })],
      ['an LTI message type', launch('LtiResourceLinkRequest')],
      ['a ToolUse metric', used('MinutesOnTask')],
      ['a system identifier type', identified('LisSourcedId')],
    ])('accepts %s', (_what, change) => {
      expect(validateCaliperEvent(withChange(change))).toEqual({ ok: true });
    });

    it.each([
      ['a role written as its LIS IRI', membership({ roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner'] }), 'membership.roles[0]',
        '"http://purl.imsglobal.org/vocab/lis/v2/membership#Learner" is not a Caliper 1.2 membership role (a LIS role term, such as Learner or Instructor#TeachingAssistant)'],
      ['a role Caliper does not know', membership({ roles: ['Learner', 'Student'] }), 'membership.roles[1]',
        '"Student" is not a Caliper 1.2 membership role (a LIS role term, such as Learner or Instructor#TeachingAssistant)'],
      ['a membership status other than Active or Inactive', membership({ status: 'Enabled' }), 'membership.status',
        '"Enabled" is not a Caliper 1.2 membership status (Active or Inactive)'],
      ['an LTI 1.1 message type', launch('basic-lti-launch-request'), 'target.messageType',
        '"basic-lti-launch-request" is not a Caliper 1.2 LTI message type (LtiResourceLinkRequest or LtiDeepLinkingRequest)'],
      ['a metric Caliper does not define', used('PagesRead'), 'generated.items[0].metric',
        '"PagesRead" is not a Caliper 1.2 metric (one of AssessmentsPassed, AssessmentsSubmitted, MinutesOnTask, SkillsMastered, StandardsMastered, UnitsCompleted, UnitsPassed, WordsRead)'],
      ['an identifier type Caliper does not define', identified('BlackboardPk'), 'object.otherIdentifiers[0].identifierType',
        '"BlackboardPk" is not a Caliper 1.2 system identifier type (one of AccountUserName, CaseItemUri, EmailAddress, LisSourcedId, LtiContextId, LtiDeploymentId, LtiPlatformId, LtiToolId, LtiUserId, OneRosterSourcedId, Other, SisSourcedId, SystemId)'],
    ])('rejects %s', (_what, change, path, message) => {
      expect(validateCaliperEvent(withChange(change))).toEqual({ ok: false, path, message });
    });
  });
});
