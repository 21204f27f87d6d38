/**
 * The shipped rules (mappings/) against the shipped fixtures (fixtures/), from the two promises
 * the rules make to a school: every event Learn documents has a rule, and nothing personal in
 * Learn's events reaches TimeBack. The fixture runner pins each output exactly; these tests say
 * what must hold whatever the expected outputs say, so a careless `fixtures:update` cannot
 * approve a leak.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { staticIdentity } from '../../src/identity/identity-resolver.ts';
import { actionTerm } from '../../src/mapping/caliper-vocabulary.ts';
import { discoverFixtures, FIXTURE_APP_ID, readUsers } from '../../src/mapping/fixtures.ts';
import { loadRules } from '../../src/mapping/rule-loader.ts';
import type { RuleSet } from '../../src/mapping/rule-set.ts';
import { translate, type TranslateOutcome } from '../../src/mapping/translate.ts';
import { readTranslateInput } from '../../src/mapping/translate-input.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BB = 'http://caliper.blackboard.com/caliper/v1/';

/** Learn's event catalogue: every type and every action its docs or samples show. */
const LEARN_CATALOGUE: ReadonlyArray<[type: string, actions: string[]]> = [
  ['SessionEvent', ['LoggedIn', 'LoggedOut', 'TimedOut']],
  ['ViewEvent', ['Viewed']],
  [`${BB}LTIEvent`, ['LoggedIn', 'LoggedOut']],
  ['AssignableEvent', ['Started', 'Submitted', 'Completed']],
  ['AssessmentEvent', ['Started', 'Submitted', 'Completed']],
  ['AssessmentItemEvent', ['Started', 'Submitted', 'Completed']],
  [`${BB}ForumEvent`, ['Created', 'Modified', 'Deleted']],
  ['GradeEvent', ['Graded']],
  // GradeCalculated: the Caliper 1.0 action (`…/action#GradeCalculated`), should old snapshots be replayed.
  [`${BB}CalculatedGradeSnapshotEvent`, ['Graded', 'GradeCalculated']],
  [`${BB}ContentEvent`, ['Created', 'Modified', 'Deleted']],
  [`${BB}CourseGroupEvent`, ['Created', 'Modified', 'Deleted']],
  [`${BB}BlogEvent`, ['Created', 'Modified', 'Commented']],
  [`${BB}WikiEvent`, ['Created', 'Modified', 'Commented']],
];

interface TranslatedCase {
  name: string;
  inputs: unknown[];
  users: Record<string, string>;
  outcomes: TranslateOutcome[];
  /** The envelopes' sensors: Learn's site id, in every Learn IRI. */
  sensors: Set<string>;
}

let cases: TranslatedCase[] = [];

beforeAll(async () => {
  const rules: RuleSet = await loadRules(path.join(ROOT, 'mappings'));
  cases = await Promise.all(
    (await discoverFixtures(path.join(ROOT, 'fixtures'))).map(async (fixture) => {
      const input = readTranslateInput(await readFile(path.join(fixture.dir, 'input.json'), 'utf8'));
      if (!input.ok) throw new Error(`${fixture.name}: ${input.message}`);
      const read = await readUsers(path.join(fixture.dir, 'users.json'));
      if (!read.ok) throw new Error(`${fixture.name}: ${read.problems.join('; ')}`);
      const users = read.users;
      const outcomes = await translate(input.items, { rules, identity: staticIdentity(users), appId: FIXTURE_APP_ID });
      return { name: fixture.name, inputs: input.items.map((item) => item.event), users, outcomes, sensors: new Set(input.items.map((item) => item.sensor)) };
    }),
  );
}, 30_000);

const term = (action: string) => action.slice(action.lastIndexOf('#') + 1);

describe('the shipped rules cover Learn’s catalogue', () => {
  it.each(LEARN_CATALOGUE.flatMap(([type, actions]) => actions.map((action) => [type, action])))(
    'Should have a fixture where a rule takes %s %s',
    (type, action) => {
      const taken = cases.flatMap((c) =>
        c.inputs.flatMap((input, i) => {
          const event = input as { type?: unknown; action?: unknown };
          const outcome = c.outcomes[i];
          const matches = event.type === type && typeof event.action === 'string' && term(event.action) === action;
          // Taken by a Learn rule, not by the IMS 1.1 fallback (whose rule ids start with ims-).
          const byLearnRule = outcome?.rule !== undefined && !outcome.rule.startsWith('ims-');
          return matches && byLearnRule && outcome?.fate !== 'rejected' ? [c.name] : [];
        }),
      );
      expect(taken, `no fixture translates ${type} ${action} through a rule`).not.toEqual([]);
    },
  );
});

/** Learn events whose actor is the person acting in the course, so their membership is the actor's. */
const ACTED_BY_A_PERSON = LEARN_CATALOGUE.filter(([type]) => !['SessionEvent', 'GradeEvent', `${BB}CalculatedGradeSnapshotEvent`].includes(type));

describe('instructors are not students', () => {
  let rules: RuleSet;
  beforeAll(async () => {
    rules = await loadRules(path.join(ROOT, 'mappings'));
  });
  const learnEvent = (type: string, action: string, roles: string[]) => ({
    type,
    action,
    actor: { type: 'Person', extensions: { 'bb:user.id': '_311_1', 'bb:user.externalId': 'kowalski.t' } },
    membership: { roles },
  });

  it.each(ACTED_BY_A_PERSON.flatMap(([type, actions]) => [...actions, 'Paused'].map((action) => [type, action])))(
    'Should skip %s %s when the membership holds Instructor, whatever the action',
    (type, action) => {
      const rule = rules.find(type, action, learnEvent(type, action, ['Learner', 'Instructor']));
      expect(rule?.skip, `${type} ${action} by an instructor went to ${rule?.id ?? 'no rule'}`).toBeDefined();
    },
  );

  it.each(ACTED_BY_A_PERSON.flatMap(([type, actions]) => actions.map((action) => [type, action])))(
    'Should not take %s %s for an instructor\'s when the roles are Learner or empty',
    (type, action) => {
      for (const roles of [['Learner'], []]) {
        const rule = rules.find(type, action, learnEvent(type, action, roles));
        expect(rule?.id, `${type} ${action} with roles ${JSON.stringify(roles)}`).not.toMatch(/-by-instructor$|-as-instructor$/);
      }
    },
  );
});

describe('only learners are credited', () => {
  let rules: RuleSet;
  beforeAll(async () => {
    rules = await loadRules(path.join(ROOT, 'mappings'));
  });
  const LIS = 'http://purl.imsglobal.org/vocab/lis/v2/membership';
  const learnEvent = (type: string, action: string, membership: Record<string, unknown> | undefined, launchRoles?: string) => ({
    type,
    action,
    actor: { type: 'Person', extensions: { 'bb:user.id': '_5120_1', 'bb:user.externalId': 'tutor.okafor' } },
    object: { type: 'LTILaunchInfo', launchUrl: 'https://tool.example.test/launch', launchParameters: launchRoles === undefined ? {} : { roles: launchRoles } },
    ...(membership === undefined ? {} : { membership }),
  });
  /** Course roles of staff, as LIS terms, sub-roles and IRIs: none of them a learner's. */
  const STAFF_ROLES: string[][] = [
    ['TeachingAssistant'],
    ['Instructor#TeachingAssistant'],
    [`${LIS}/Instructor#TeachingAssistant`],
    ['ContentDeveloper'],
    [`${LIS}#ContentDeveloper`],
    ['Mentor'],
    ['Mentor#Advisor'],
    ['Administrator'],
    [`${LIS}#Administrator`],
    ['Manager', 'Member'],
  ];
  const LEARNER_ROLES: unknown[] = [
    ['Learner'],
    ['Learner#NonCreditLearner'],
    [`${LIS}#Learner`],
    [`${LIS}/Learner#GuestLearner`],
    ['Mentor', 'Learner'],
  ];
  const skipRule = /-by-(instructor|non-learner)$|-as-(instructor|administrator|non-learner)$/;

  it.each(ACTED_BY_A_PERSON.flatMap(([type, actions]) => actions.map((action) => [type, action])))(
    'Should skip %s %s, with a reason, when the membership names roles and none of them is a learner\'s',
    (type, action) => {
      for (const roles of STAFF_ROLES) {
        const rule = rules.find(type, action, learnEvent(type, action, { roles }));
        expect(rule?.skip, `${type} ${action} with roles ${JSON.stringify(roles)} went to ${rule?.id ?? 'no rule'}`).toMatch(/\w/);
      }
    },
  );

  it.each(ACTED_BY_A_PERSON.flatMap(([type, actions]) => actions.map((action) => [type, action])))(
    'Should not skip %s %s as staff\'s when a role is a learner\'s, or no role is given',
    (type, action) => {
      for (const membership of [...LEARNER_ROLES.map((roles) => ({ roles })), { roles: [] }, {}, undefined]) {
        const rule = rules.find(type, action, learnEvent(type, action, membership));
        expect(rule?.id, `${type} ${action} with membership ${JSON.stringify(membership)}`).not.toMatch(skipRule);
      }
    },
  );

  it('Should skip an LTI launch or return whose launch roles name no learner role, comma-separated or not', () => {
    for (const action of ['LoggedIn', 'LoggedOut']) {
      for (const launchRoles of [
        'urn:lti:role:ims/lis/TeachingAssistant',
        'urn:lti:role:ims/lis/Instructor/TeachingAssistant,urn:lti:instrole:ims/lis/Student',
        'urn:lti:role:ims/lis/ContentDeveloper',
        `${LIS}#Mentor`,
        'Mentor',
      ]) {
        const rule = rules.find(`${BB}LTIEvent`, action, learnEvent(`${BB}LTIEvent`, action, undefined, launchRoles));
        expect(rule?.skip, `${action} with launch roles ${launchRoles} went to ${rule?.id ?? 'no rule'}`).toMatch(/\w/);
      }
      for (const launchRoles of [
        'urn:lti:role:ims/lis/Learner',
        'urn:lti:instrole:ims/lis/Student,urn:lti:role:ims/lis/Learner/NonCreditLearner',
        `${LIS}#Learner`,
        'Learner',
        '',
      ]) {
        const rule = rules.find(`${BB}LTIEvent`, action, learnEvent(`${BB}LTIEvent`, action, undefined, launchRoles));
        expect(rule?.id, `${action} with launch roles ${JSON.stringify(launchRoles)}`).toMatch(/^lti-(launched|returned)$/);
      }
    }
  });

  it('Should not skip an LTI launch or return whose membership names a learner role, whatever other roles the launch form lists', () => {
    for (const action of ['LoggedIn', 'LoggedOut']) {
      // The form's roles are read only when Learn gives no membership roles: an institution or
      // system role beside (or instead of) the course role says nothing of the course role.
      for (const launchRoles of ['urn:lti:instrole:ims/lis/Student', 'urn:lti:sysrole:ims/lis/User']) {
        const rule = rules.find(`${BB}LTIEvent`, action, learnEvent(`${BB}LTIEvent`, action, { roles: ['Learner'] }, launchRoles));
        expect(rule?.id, `${action} with membership Learner and launch roles ${launchRoles}`).toMatch(/^lti-(launched|returned)$/);
      }
    }
  });

  it('Should not skip as an administrator\'s an LTI launch or return whose form also names a learner role', () => {
    for (const action of ['LoggedIn', 'LoggedOut']) {
      for (const launchRoles of [
        'urn:lti:role:ims/lis/Learner,urn:lti:instrole:ims/lis/Administrator',
        'urn:lti:sysrole:ims/lis/Administrator, urn:lti:role:ims/lis/Learner',
      ]) {
        for (const membership of [undefined, { roles: ['Learner'] }]) {
          const rule = rules.find(`${BB}LTIEvent`, action, learnEvent(`${BB}LTIEvent`, action, membership, launchRoles));
          expect(rule?.id, `${action} with membership ${JSON.stringify(membership)} and launch roles ${launchRoles}`).toMatch(/^lti-(launched|returned)$/);
        }
      }
      // An administrator's launch with no learner role keeps its own reason.
      const admin = rules.find(`${BB}LTIEvent`, action, learnEvent(`${BB}LTIEvent`, action, undefined, 'urn:lti:sysrole:ims/lis/Administrator'));
      expect(admin?.id).toBe('lti-launched-as-administrator');
    }
  });
});

describe('a Learn user is looked up by batch_uid only', () => {
  const VARS = { student: '', platformId: '', edApp: '', sensor: '', sourceId: '' };
  // Marked as Learn marks every person, without the batch_uid; the IRI is Learn's opaque user id.
  const LEARN_PERSON = {
    id: 'https://caliper-mapping.cloudbb.blackboard.com/v1/sites/3f2b9c1e-7a4d-4e6b-9c8a-1d5e7f2a4b60/users/e5998017e57d4e2487201f6484076547',
    type: 'Person',
    extensions: { 'bb:user.id': '_4127_1' },
  };
  // The person in every place a rule reads a student from, and a score so a grade is not skipped as empty.
  const learnEvent = (type: string, action: string) => ({
    type,
    action,
    actor: LEARN_PERSON,
    object: { id: 'https://caliper-mapping.cloudbb.blackboard.com/v1/sites/3f2b9c1e-7a4d-4e6b-9c8a-1d5e7f2a4b60/content/_61950_1', type: 'Session', user: LEARN_PERSON, actor: LEARN_PERSON, assignee: LEARN_PERSON },
    generated: { scoreGiven: 1, actor: LEARN_PERSON, assignee: LEARN_PERSON, attempt: { assignee: LEARN_PERSON } },
    federatedSession: { user: LEARN_PERSON },
    membership: { member: LEARN_PERSON, roles: ['Learner'] },
  });
  let rules: RuleSet;
  beforeAll(async () => {
    rules = await loadRules(path.join(ROOT, 'mappings'));
  });

  it('Should find no student in a Learn event of any type and action a rule takes, when Learn sent no batch_uid', () => {
    const found: string[] = [];
    for (const { types, actions } of rules.rules) {
      for (const type of types) {
        for (const action of actions ?? ['Created']) {
          const event = learnEvent(type, action);
          const rule = rules.find(type, action, event);
          const ids = (rule?.student ?? []).map((path) => path.read(event, VARS)).filter((value) => typeof value === 'string');
          if (ids.length > 0) found.push(`${type} ${action}: ${rule!.id} reads ${ids[0]}`);
        }
      }
    }
    expect(found).toEqual([]);
  });
});

/** Caliper 1.1's action vocabulary, as the generic Event may carry it (both captioning spellings). */
const ACTIONS_1_1 = [
  'Abandoned', 'Activated', 'Added', 'Attached', 'Bookmarked', 'ChangedResolution', 'ChangedSize', 'ChangedSpeed',
  'ChangedVolume', 'Classified', 'ClosedPopout', 'Commented', 'Completed', 'Created', 'Deactivated', 'Deleted', 'Described',
  'DisabledClosedCaptioning', 'DisabledCloseCaptioning', 'Disliked', 'EnabledClosedCaptioning', 'EnabledCloseCaptioning',
  'Ended', 'EnteredFullScreen', 'ExitedFullScreen', 'ForwardedTo', 'Graded', 'Hid', 'Highlighted', 'Identified', 'JumpedTo',
  'Liked', 'Linked', 'LoggedIn', 'LoggedOut', 'MarkedAsRead', 'MarkedAsUnread', 'Modified', 'Muted', 'NavigatedTo',
  'OpenedPopout', 'Paused', 'Posted', 'Questioned', 'Ranked', 'Recommended', 'Removed', 'Reset', 'Restarted', 'Resumed',
  'Retrieved', 'Reviewed', 'Rewound', 'Searched', 'Shared', 'Showed', 'Skipped', 'Started', 'Submitted', 'Subscribed',
  'Tagged', 'TimedOut', 'Unmuted', 'Unsubscribed', 'Used', 'Viewed',
];
const MEDIA_1_1 = [
  'Started', 'Ended', 'Paused', 'Resumed', 'Restarted', 'ForwardedTo', 'JumpedTo', 'ChangedResolution', 'ChangedSize',
  'ChangedSpeed', 'ChangedVolume', 'EnabledClosedCaptioning', 'EnabledCloseCaptioning', 'DisabledClosedCaptioning',
  'DisabledCloseCaptioning', 'EnteredFullScreen', 'ExitedFullScreen', 'Muted', 'Unmuted', 'OpenedPopout', 'ClosedPopout',
];

/** The 1.1 → 1.2 upgrade table (caliper.md §4.1): input type, its actions, the 1.2 event type. Every row keeps the action. */
const UPGRADE_TABLE: ReadonlyArray<[type: string, actions: string[], to: string]> = [
  ['Event', ACTIONS_1_1, 'Event'],
  ['AnnotationEvent', ['Bookmarked', 'Highlighted', 'Shared', 'Tagged'], 'AnnotationEvent'],
  ['AnnotationEvent', ['Commented', 'Ranked'], 'FeedbackEvent'],
  ['AnnotationEvent', ['Attached', 'Classified', 'Described', 'Disliked', 'Identified', 'Liked', 'Linked', 'Questioned', 'Recommended', 'Subscribed'], 'Event'],
  ['AssessmentEvent', ['Started', 'Paused', 'Resumed', 'Restarted', 'Reset', 'Submitted'], 'AssessmentEvent'],
  ['AssessmentItemEvent', ['Started', 'Skipped', 'Completed'], 'AssessmentItemEvent'],
  ['AssessmentItemEvent', ['Viewed'], 'ViewEvent'],
  ['AssessmentItemEvent', ['Reviewed'], 'Event'],
  ['AssignableEvent', ['Activated', 'Deactivated', 'Started', 'Completed', 'Submitted', 'Reviewed'], 'AssignableEvent'],
  ['AssignableEvent', ['Abandoned', 'Hid', 'Showed'], 'Event'],
  ['ForumEvent', ['Subscribed', 'Unsubscribed'], 'ForumEvent'],
  ['GradeEvent', ['Graded'], 'GradeEvent'],
  ['MediaEvent', MEDIA_1_1, 'MediaEvent'],
  ['MediaEvent', ['Rewound'], 'Event'],
  ['MessageEvent', ['Posted', 'MarkedAsRead', 'MarkedAsUnread', 'MarkedAsUnRead'], 'MessageEvent'],
  ['NavigationEvent', ['NavigatedTo'], 'NavigationEvent'],
  ['OutcomeEvent', ['Graded'], 'GradeEvent'],
  ['ReadingEvent', ['NavigatedTo'], 'NavigationEvent'],
  ['ReadingEvent', ['Viewed'], 'ViewEvent'],
  ['ReadingEvent', ['Searched'], 'SearchEvent'],
  ['SessionEvent', ['LoggedIn', 'LoggedOut', 'TimedOut'], 'SessionEvent'],
  ['ThreadEvent', ['MarkedAsRead', 'MarkedAsUnread'], 'ThreadEvent'],
  ['ThreadEvent', ['Posted'], 'MessageEvent'],
  ['ToolUseEvent', ['Used'], 'ToolUseEvent'],
  ['ToolLaunchEvent', ['Launched', 'Returned'], 'ToolLaunchEvent'],
  ['ResourceManagementEvent', ['Archived', 'Copied', 'Created', 'Deleted', 'Described', 'Downloaded', 'Modified', 'Printed', 'Published', 'Restored', 'Retrieved', 'Saved', 'Unpublished', 'Uploaded'], 'ResourceManagementEvent'],
  ['SearchEvent', ['Searched'], 'SearchEvent'],
  ['FeedbackEvent', ['Commented', 'Ranked'], 'FeedbackEvent'],
  ['SurveyEvent', ['OptedIn', 'OptedOut'], 'SurveyEvent'],
  ['SurveyInvitationEvent', ['Sent', 'Accepted', 'Declined'], 'SurveyInvitationEvent'],
  ['QuestionnaireEvent', ['Started', 'Submitted'], 'QuestionnaireEvent'],
  ['QuestionnaireItemEvent', ['Started', 'Skipped', 'Completed'], 'QuestionnaireItemEvent'],
];

describe('the IMS 1.1 fallback follows the upgrade table', () => {
  const VARS = { student: 'urn:uuid:0b6f2a8e-5c1d-4e7a-9f3b-8d2c6e4a1f05', platformId: '', edApp: '', sensor: '', sourceId: '' };
  let rules: RuleSet;
  beforeAll(async () => {
    rules = await loadRules(path.join(ROOT, 'mappings'));
  });

  it.each(UPGRADE_TABLE.flatMap(([type, actions, to]) => actions.map((action) => [type, action, to])))(
    'Should send a non-Learn %s %s as %s with the same action',
    (type, action, to) => {
      // Not from Learn (no bb:user.id), and with a score so a grade is not skipped as empty.
      const event = { type, action, generated: { scoreGiven: 1 } };
      const rule = rules.find(type, action, event);
      expect(rule?.output, `${type} ${action}`).toBeDefined();
      expect(rule!.output!.type).toBe(to);
      expect(rule!.output!.action(event, VARS)).toBe(actionTerm(action));
    },
  );

  it('Should leave an action the 1.1 type does not have to no-rule, not to a generic Event', () => {
    expect(rules.find('AssignableEvent', 'Liked', { action: 'Liked' })).toBeUndefined();
    expect(rules.find('MediaEvent', 'Launched', { action: 'Launched' })).toBeUndefined();
  });
});

/** Everything in an input that identifies a person, their device or their LTI launch, by kind. */
const PERSONAL_KINDS = [
  'Learn user id', 'user agent', 'IP address', 'group member list', 'LTI launch parameter', 'person', 'e-mail address',
  'text a student wrote',
] as const;
type PersonalKind = (typeof PERSONAL_KINDS)[number];

/**
 * Entities whose title and text students write: posts, messages, threads (titled by their first
 * post), and Learn's wiki pages, which students create. Learn's own types are full IRIs. Tags,
 * notes, highlighted passages, search terms and typed answers are a student's wherever they are.
 */
const WRITTEN_BY_STUDENTS = /(?:^|\/)(?:ForumPost|BlogPost|WikiPost|WikiPage|Message|Thread)$/;

function personalValues(value: unknown, found: Map<string, PersonalKind>, key = '', parentIsPerson = false, parentType = ''): void {
  if (typeof value === 'string') {
    // Empty text names no one (Learn sends `"bb:user.externalId": ""`), and would match every id's `//`.
    if (value.trim() === '') return;
    if (
      (WRITTEN_BY_STUDENTS.test(parentType) && /^(name|description|body)$/.test(key)) ||
      /^(tags|searchTerms|selectionText|bookmarkNotes)$/.test(key) ||
      (/(?:FillinBlank|SelectText)Response$/.test(parentType) && key === 'values')
    ) {
      found.set(value, 'text a student wrote');
      return;
    }
    const kind: PersonalKind | undefined =
      /[^\s@/]+@[^\s@/]+\.[a-z]{2,}/i.test(value) ? 'e-mail address'
      : key === 'bb:user.externalId' || key === 'bb:user.id' ? 'Learn user id'
      : key === 'bb:request.headers.agent' ? 'user agent'
      : key === 'bb:request.headers.ipAddress' ? 'IP address'
      : key === 'bb:group.users' ? 'group member list'
      : /^(lis_person_|oauth_)|^user_id$/.test(key) ? 'LTI launch parameter'
      : parentIsPerson && /^(id|name|givenName|familyName)$/.test(key) ? 'person'
      : undefined;
    if (kind !== undefined) found.set(value, kind);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) personalValues(item, found, key, parentIsPerson, parentType);
    return;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const type = typeof record.type === 'string' ? record.type : '';
    for (const [childKey, child] of Object.entries(record)) personalValues(child, found, childKey, type === 'Person', type);
  }
}

function stringsIn(value: unknown, into: string[] = []): string[] {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) for (const item of value) stringsIn(item, into);
  else if (value !== null && typeof value === 'object') for (const [key, child] of Object.entries(value)) into.push(key), stringsIn(child, into);
  return into;
}

describe('nothing personal leaves', () => {
  it('Should find personal data of every kind in the fixtures’ inputs (or the check below proves nothing)', () => {
    const kinds = new Set<PersonalKind>();
    for (const c of cases) {
      const found = new Map<string, PersonalKind>();
      personalValues(c.inputs, found);
      for (const kind of found.values()) kinds.add(kind);
    }
    expect([...kinds].sort()).toEqual([...PERSONAL_KINDS].sort());
  });

  it('Should send no value from an input that identifies a person, their device or their LTI launch', () => {
    const leaks: string[] = [];
    let sentAny = false;
    for (const c of cases) {
      const found = new Map<string, PersonalKind>();
      personalValues(c.inputs, found);
      const sent = stringsIn(c.outcomes.flatMap((o) => (o.fate === 'deliver' ? [o.event] : [])));
      if (sent.length > 0) sentAny = true;
      for (const [value, kind] of found) {
        // A batch_uid that is the site's id (Learn's anonymized samples) is in every IRI as the site's, naming no one.
        if (c.sensors.has(value)) continue;
        // Short values (Learn pk1s like _311_1) count only whole or as a path segment, not inside other ids.
        const leaked = sent.some((text) => text === value || text.split(/[/#?&=]/).includes(value) || (value.length >= 8 && text.includes(value)));
        if (leaked) leaks.push(`${c.name}: ${kind} ${value}`);
      }
    }
    // Else nothing was sent to look in.
    expect(sentAny).toBe(true);
    expect(leaks).toEqual([]);
  });

  it('Should name the student only by the platform id, and send no extensions', () => {
    let checked = 0;
    for (const c of cases) {
      const platformIris = new Set(Object.values(c.users).map((id) => `urn:uuid:${id.toLowerCase()}`));
      for (const outcome of c.outcomes) {
        if (outcome.fate !== 'deliver') continue;
        checked += 1;
        const actor = outcome.event.actor;
        expect([...platformIris, `urn:uuid:${FIXTURE_APP_ID}`], c.name).toContain(actor);
        expect(JSON.stringify(outcome.event), c.name).not.toMatch(/"extensions"|"bb:/);
      }
    }
    // Else there was nothing to check: no fixture's event was delivered.
    expect(checked).toBeGreaterThan(0);
  });
});
