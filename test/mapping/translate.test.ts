import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { staticIdentity, type IdentityAnswer, type IdentityResolver } from '../../src/identity/identity-resolver.ts';
import { validateCaliperEvent } from '../../src/mapping/caliper-validator.ts';
import { outputEventId } from '../../src/mapping/event-ids.ts';
import { loadRules } from '../../src/mapping/rule-loader.ts';
import type { RuleSet } from '../../src/mapping/rule-set.ts';
import { translate, WAITING_FOR_APP_ID, type TranslateOutcome } from '../../src/mapping/translate.ts';
import {
  APP_ID, BB, OTHER_STUDENT, SENSOR, SITE, STUDENT, USERS, forumPost, gradeEvent, ltiLaunch, oneRule, person, sessionLogin,
} from './learn-events.ts';

const RULES_DIR = fileURLToPath(new URL('./rule-sets/blackboard', import.meta.url));

let rules: RuleSet;
beforeAll(async () => {
  rules = await loadRules(RULES_DIR);
});

const run = (events: unknown[], options: { rules?: RuleSet; identity?: IdentityResolver; appId?: string | null } = {}) =>
  translate(
    events.map((event, index) => ({ sensor: SENSOR, event, index })),
    {
      rules: options.rules ?? rules,
      identity: options.identity ?? staticIdentity(USERS),
      // null: TIMEBACK_APP_ID unset.
      appId: options.appId === null ? undefined : (options.appId ?? APP_ID),
    },
  );

const only = async (event: unknown, options?: Parameters<typeof run>[1]) => (await run([event], options))[0]!;

function delivered(outcome: TranslateOutcome) {
  if (outcome.fate !== 'deliver') throw new Error(`expected deliver, got ${JSON.stringify(outcome)}`);
  return outcome;
}

/** A rule taking Learn's forum posts for the actor's batch_uid, with `output` as its output lines. */
const forumRule = (id: string, output: string) => `
id: ${id}
match: { type: "${BB}ForumEvent" }
student: ['actor.extensions["bb:user.externalId"]']
output:
${output}`;

/** The output lines the forum rules below share. */
const POSTED = `  type: MessageEvent
  action: Posted
  profile: ForumProfile`;

describe('translate', () => {
  it('turns a Learn forum post into a bare Caliper 1.2 MessageEvent', async () => {
    const input = forumPost();
    const outcome = delivered(await only(input));
    const id = outputEventId(SENSOR, input.id as string, input.eventTime as string, 'forum-post-created');
    expect(outcome).toEqual({
      fate: 'deliver',
      rule: 'forum-post-created',
      studentId: STUDENT.externalId,
      platformId: STUDENT.platformId,
      outputId: id,
      event: {
        '@context': 'http://purl.imsglobal.org/ctx/caliper/v1p2',
        id,
        type: 'MessageEvent',
        profile: 'ForumProfile',
        actor: `urn:uuid:${STUDENT.platformId}`,
        action: 'Posted',
        object: {
          id: `${SITE}/discussion/_88_1/post/_1207_1`,
          type: 'Message',
          dateCreated: '2024-03-04T10:14:55.301Z',
          isPartOf: { id: `${SITE}/discussion/_88_1`, type: 'Forum', name: 'Week 3: photosynthesis' },
        },
        eventTime: '2024-03-04T10:14:55.301Z',
        edApp: `urn:uuid:${APP_ID}`,
        group: { id: `${SITE}/courses/c0ffee00c0ffee00c0ffee00c0ffee00`, type: 'CourseOffering', courseNumber: 'BIO-110' },
        session: 'urn:tag:auto-attach',
        extensions: { firstPost: true, threadId: '_1207_1' },
      },
    });
    // Property order follows Caliper's own examples.
    expect(Object.keys(outcome.event)).toEqual(['@context', 'id', 'type', 'profile', 'actor', 'action', 'object', 'eventTime', 'edApp', 'group', 'session', 'extensions']);
  });

  it('makes this app the grader of a GradeEvent and finds the student as the attempt\'s assignee', async () => {
    const outcome = delivered(await only(gradeEvent()));
    expect(outcome.studentId).toBe(STUDENT.externalId);
    expect(outcome.event.actor).toBe(`urn:uuid:${APP_ID}`);
    expect(outcome.event.object).toEqual({
      id: `${SITE}/gradableItems/_310_1/attempts/_9120_1`,
      type: 'Attempt',
      assignee: `urn:uuid:${STUDENT.platformId}`,
      assignable: { id: `${SITE}/gradableItems/_310_1`, type: 'Assessment', maxScore: 40, dateToSubmit: '2024-03-08T23:59:00.000Z' },
      count: 1,
    });
    // Learn's maxScore 0 is skipped for the assignable's.
    expect(outcome.event.generated).toMatchObject({ type: 'Score', scoreGiven: 31.5, maxScore: 40 });
  });

  it('sends no LTI launch parameters, names, e-mails or IP addresses from an LTI launch', async () => {
    const outcome = delivered(await only(ltiLaunch()));
    expect(outcome.event).toMatchObject({
      type: 'ToolLaunchEvent',
      action: 'Launched',
      object: { id: 'https://tool.example.org', type: 'SoftwareApplication' },
      federatedSession: { id: `${SITE}/sessions/5A1B2C3D4E5F60718293A4B5C6D7E8F9`, type: 'LtiSession', name: '5A1B2C3D4E5F60718293A4B5C6D7E8F9', startedAtTime: '2024-03-04T10:59:58.000Z' },
    });
    const text = JSON.stringify(outcome.event);
    for (const leaked of ['oauth', 'lis_person', 'Lena', '@school', '203.0.113.9', 'launchParameters', 'lmartin07']) expect(text).not.toContain(leaked);
  });

  it('writes eventTime in UTC with milliseconds', async () => {
    const outcome = delivered(await only(sessionLogin()));
    expect(outcome.event.eventTime).toBe('2024-03-04T06:58:31.000Z');
    // The entity transform left Learn's user-agent and IP extensions behind.
    expect(outcome.event.object).toEqual({ id: `${SITE}/applications/learn`, type: 'SoftwareApplication' });
  });

  it('matches IMS type IRIs, action IRIs and MarkedAsUnRead', async () => {
    const set = oneRule(`
id: thread-unread
match: { type: ThreadEvent, action: MarkedAsUnread }
student: ['actor.extensions["bb:user.externalId"]']
output:
  type: ThreadEvent
  action: MarkedAsUnread
  profile: ForumProfile
  object: { id: { from: object.id }, type: Thread }`);
    const thread = (type: string, action: string) => forumPost({ type, action, object: { id: `${SITE}/discussion/_88_1/thread/_3_1` } });
    for (const event of [
      thread('ThreadEvent', 'MarkedAsUnRead'),
      thread('http://purl.imsglobal.org/caliper/ThreadEvent', 'http://purl.imsglobal.org/vocab/caliper/v1/action#MarkedAsUnread'),
    ]) {
      expect(delivered(await only(event, { rules: set })).event.action).toBe('MarkedAsUnread');
    }
  });

  describe('a computed action and profile', () => {
    const viewRule = (profile: string) =>
      oneRule(`
id: view-by-object
match: { type: ViewEvent }
student: ['actor.extensions["bb:user.externalId"]']
output:
  type: ViewEvent
  action: { from: action }
  profile: ${profile}
  object: { from: object, transform: entity }`);
    const view = (object: unknown, action = 'Viewed') => forumPost({ type: 'ViewEvent', action, object });
    const BY_TYPE = '{ from: object.type, map: { Assessment: AssessmentProfile, Message: ForumProfile }, default: ReadingProfile }';

    it('keeps the input action as its term: IRIs by their term, known misspellings fixed', async () => {
      const set = oneRule(`
id: thread-read-state
match: { type: ThreadEvent, action: [MarkedAsRead, MarkedAsUnread] }
student: ['actor.extensions["bb:user.externalId"]']
output:
  type: ThreadEvent
  action: { from: action }
  profile: ForumProfile
  object: { id: { from: object.id }, type: Thread }`);
      const thread = (action: string) => forumPost({ type: 'ThreadEvent', action, object: { id: `${SITE}/discussion/_88_1/thread/_3_1` } });
      const actions = ['MarkedAsRead', 'MarkedAsUnRead', 'http://purl.imsglobal.org/vocab/caliper/v1/action#MarkedAsUnread'];
      const outcomes = await run(actions.map(thread), { rules: set });
      expect(outcomes.map((outcome) => delivered(outcome).event.action)).toEqual(['MarkedAsRead', 'MarkedAsUnread', 'MarkedAsUnread']);
    });

    it('picks the profile from the object\'s type, with the default for any other type or an object given as an IRI', async () => {
      const objects = [
        { id: `${SITE}/tests/_12_1`, type: 'Assessment' },
        { id: `${SITE}/discussion/_88_1/post/_1207_1`, type: 'Message' },
        { id: `${SITE}/content/_40_1`, type: 'Chapter' },
        `${SITE}/content/_41_1`,
        // A type written as its Caliper IRI counts as its term, as it does in the copied object.
        { id: `${SITE}/discussion/_88_1/post/_1208_1`, type: 'http://purl.imsglobal.org/caliper/Message' },
      ];
      const outcomes = await run(objects.map((object) => view(object)), { rules: viewRule(BY_TYPE) });
      expect(outcomes.map((outcome) => delivered(outcome).event.profile)).toEqual(['AssessmentProfile', 'ForumProfile', 'ReadingProfile', 'ReadingProfile', 'ForumProfile']);
    });

    it('maps the input action through a table', async () => {
      const set = oneRule(forumRule('forum-post-changes', `  type: ResourceManagementEvent
  action: { from: action, map: { Created: Created, Modified: Modified, Deleted: Deleted, Edited: Modified } }
  profile: ResourceManagementProfile
  object: { id: { from: generated.id }, type: Message }`));
      const outcomes = await run(['Edited', 'Deleted'].map((action) => forumPost({ action })), { rules: set });
      expect(outcomes.map((outcome) => delivered(outcome).event.action)).toEqual(['Modified', 'Deleted']);
    });

    it('rejects an event whose computed action its type does not allow, naming rule and action', async () => {
      // No match.action, so the loader cannot know which actions arrive: the validator does.
      expect(await only(view({ id: `${SITE}/content/_40_1`, type: 'Chapter' }, 'Rewound'), { rules: viewRule('ReadingProfile') })).toEqual({
        fate: 'rejected',
        reason: 'invalid-output',
        rule: 'view-by-object',
        studentId: STUDENT.externalId,
        detail: 'rule view-by-object: action: ViewEvent does not allow Rewound (allowed: Viewed)',
      });
    });

    it('rejects an event for which a computed profile comes out empty', async () => {
      const noDefault = '{ from: object.type, map: { Assessment: AssessmentProfile } }';
      expect(await only(view({ id: `${SITE}/content/_40_1`, type: 'Chapter' }), { rules: viewRule(noDefault) })).toEqual({
        fate: 'rejected',
        reason: 'invalid-output',
        rule: 'view-by-object',
        studentId: STUDENT.externalId,
        detail: 'rule view-by-object: profile: the rule computes none for this event (no path gave a value its map knows, and it has no default)',
      });
    });
  });

  describe('a required value', () => {
    // Learn's grade rule in short: the score must be a number, from either field.
    const gradeRule = (scorePaths: string) =>
      oneRule(`
id: grade-with-score
match: { type: GradeEvent, action: Graded }
student: ['object.assignee.extensions["bb:user.externalId"]']
output:
  type: GradeEvent
  action: Graded
  profile: GradingProfile
  actor: $edApp
  object: { id: { from: object.id }, type: Attempt, assignee: $student }
  generated:
    id: { from: generated.id }
    type: Score
    scoreGiven: { from: ${scorePaths}, transform: number, required: true }`);
    const scoreRule = gradeRule('[generated.scoreGiven, generated.normalScore]');
    const graded = (generated: Record<string, unknown>) => gradeEvent({ generated: { id: `${SITE}/gradableItems/_310_1/attempts/_9120_1/score`, type: 'Score', ...generated } });
    const counting = () => {
      const asked: string[] = [];
      const identity: IdentityResolver = {
        async resolve(externalId) {
          asked.push(externalId);
          return staticIdentity(USERS).resolve(externalId);
        },
      };
      return { asked, identity };
    };

    it('rejects an event it is not there for as invalid-event, naming the field and the kind of value, before the student is looked up', async () => {
      const { asked, identity } = counting();
      // A score that is a student's id must not be quoted back.
      const values = [STUDENT.externalId, '12,5', true, { value: 1 }, [1], JSON.parse('1e400') as number];
      const outcomes = await run(values.map((scoreGiven) => graded({ scoreGiven })), { rules: scoreRule, identity });
      const required = '(rule grade-with-score requires it for generated.scoreGiven)';
      expect(outcomes).toEqual([
        `data[0].generated.scoreGiven: text that is not a number ${required}`,
        `data[1].generated.scoreGiven: text that is not a number ${required}`,
        `data[2].generated.scoreGiven: true or false, not a number ${required}`,
        `data[3].generated.scoreGiven: an object, not a number ${required}`,
        `data[4].generated.scoreGiven: a list, not a number ${required}`,
        `data[5].generated.scoreGiven: a number too large to send (past about 1.8e308) ${required}`,
      ].map((detail) => ({ fate: 'rejected', reason: 'invalid-event', rule: 'grade-with-score', detail })));
      expect(asked).toEqual([]);
    });

    it('names every path when none holds anything (no rule skipped the event first), each as a path of data[N]', async () => {
      expect(await only(graded({ scoreGiven: ' ' }), { rules: scoreRule })).toEqual({
        fate: 'rejected',
        reason: 'invalid-event',
        rule: 'grade-with-score',
        detail: 'data[0].generated.scoreGiven or data[0].generated.normalScore: missing (rule grade-with-score requires it for generated.scoreGiven)',
      });
      // A bare event (translate FILE on one event) has no place in an envelope to name.
      expect((await translate([{ sensor: SENSOR, event: graded({}) }], { rules: scoreRule, identity: staticIdentity(USERS), appId: APP_ID }))[0]).toMatchObject({
        detail: 'generated.scoreGiven or generated.normalScore: missing (rule grade-with-score requires it for generated.scoreGiven)',
      });
      // A path that starts with a quoted key follows data[N] without a dot.
      const bracketRule = gradeRule(`['generated.scoreGiven', '["generated"].normalScore']`);
      expect(await only(graded({}), { rules: bracketRule })).toMatchObject({
        detail: 'data[0].generated.scoreGiven or data[0]["generated"].normalScore: missing (rule grade-with-score requires it for generated.scoreGiven)',
      });
    });

    it('takes the first path that fits, text that is a number, 0 and negative numbers', async () => {
      const outcomes = await run(
        [{ scoreGiven: 'n/a', normalScore: 17 }, { scoreGiven: ' 87.5 ' }, { scoreGiven: 0 }, { scoreGiven: -4 }].map(graded),
        { rules: scoreRule },
      );
      expect(outcomes.map((outcome) => (delivered(outcome).event.generated as Record<string, unknown>).scoreGiven)).toEqual([17, 87.5, 0, -4]);
    });
  });

  describe('skips, with a reason', () => {
    it('no-rule: nothing matches', async () => {
      expect(await only(forumPost({ type: `${BB}WikiEvent` }))).toEqual({
        fate: 'skipped',
        reason: 'no-rule',
        detail: `no rule matches ${BB}WikiEvent Created`,
      });
    });

    it('no-rule: a type and action that are not plain text are quoted and cut, never written as sent', async () => {
      // The sender's text: escape sequences and line breaks would reach the terminal of an
      // admin running `translate`, and a long type would be stored again as the reason (one
      // over 1,024 characters is rejected as malformed, so this one is just under).
      const outcome = await only(forumPost({ type: `Forum\u001b[2J\nEvent${'x'.repeat(1_000)}`, action: 'Did\r\nit' }));
      expect(outcome).toEqual({
        fate: 'skipped',
        reason: 'no-rule',
        detail: `no rule matches "Forum\\u001b[2J\\nEvent${'x'.repeat(85)}"… (1015 characters) "Did\\r\\nit"`,
      });
    });

    it('rule-skips: the rule says why', async () => {
      expect(await only(forumPost({ type: `${BB}CourseGroupEvent` }))).toEqual({
        fate: 'skipped',
        reason: 'rule-skips',
        rule: 'course-group-administration',
        detail: 'Creating or changing course groups is instructor administration; Caliper 1.2 has no event for it.',
      });
    });

    it('no-user-id: no student path holds an id', async () => {
      const actor = person();
      (actor.extensions as Record<string, unknown>)['bb:user.externalId'] = '  \n';
      const event = forumPost({ actor, membership: undefined });
      expect(await only(event)).toEqual({
        fate: 'skipped',
        reason: 'no-user-id',
        rule: 'forum-post-created',
        detail: 'no student id at actor.extensions["bb:user.externalId"] or membership.extensions["bb:user.externalId"]',
      });
    });

    it('falls back to the next student path, and trims the id', async () => {
      const actor = person();
      delete (actor.extensions as Record<string, unknown>)['bb:user.externalId'];
      const membership = forumPost().membership as Record<string, Record<string, unknown>>;
      membership.extensions!['bb:user.externalId'] = `${STUDENT.externalId}\n\n`;
      expect(delivered(await only(forumPost({ actor, membership }))).studentId).toBe(STUDENT.externalId);
    });

    it('user-not-in-timeback: the roster has no such student', async () => {
      expect(await only(forumPost(), { identity: staticIdentity({}) })).toEqual({
        fate: 'skipped',
        reason: 'user-not-in-timeback',
        rule: 'forum-post-created',
        studentId: STUDENT.externalId,
        detail: `${STUDENT.externalId} is not in the users file`,
      });
    });
  });

  describe('rejects, with the problem', () => {
    it('invalid-event: the input is not an event, naming its place in the envelope', async () => {
      const outcomes = await run([forumPost(), { ...forumPost(), eventTime: 'soon' }, 'text']);
      expect(outcomes[0]!.fate).toBe('deliver');
      expect(outcomes[1]).toEqual({ fate: 'rejected', reason: 'invalid-event', detail: 'data[1].eventTime: expected an ISO 8601 date-time with a time zone, like 2024-05-01T12:00:00.000Z' });
      expect(outcomes[2]).toEqual({ fate: 'rejected', reason: 'invalid-event', detail: 'data[2]: expected an event object' });
    });

    it('invalid-event, not invalid-output: an eventTime of the right form that is no instant Caliper can write', async () => {
      const times = ['2026-02-30T10:00:00.000Z', '2025-02-29T10:00:00Z', '2026-01-01T24:00:00Z', '9999-12-31T23:00:00-05:00', '0000-01-01T00:30:00+01:00'];
      const outcomes = await run([forumPost(), ...times.map((eventTime) => ({ ...forumPost(), eventTime }))]);
      expect(outcomes[0]!.fate).toBe('deliver');
      for (let i = 1; i <= times.length; i++) {
        expect(outcomes[i]).toEqual({
          fate: 'rejected',
          reason: 'invalid-event',
          detail: `data[${i}].eventTime: not a date and time that exists (such as 30 February or 24:00), or outside the years 0000-9999 in UTC`,
        });
      }
      // A bare event (translate FILE on one event) is named without a place in an envelope.
      expect((await translate([{ sensor: SENSOR, event: { ...forumPost(), eventTime: times[0] } }], { rules, identity: staticIdentity(USERS), appId: APP_ID }))[0]).toMatchObject({
        reason: 'invalid-event',
        detail: 'eventTime: not a date and time that exists (such as 30 February or 24:00), or outside the years 0000-9999 in UTC',
      });
    });

    it('invalid-event: an id over 1,024 characters (stored whole by an older version), by its length', async () => {
      const outcomes = await run([forumPost(), { ...forumPost(), id: `urn:uuid:${'0'.repeat(2_000)}` }]);
      expect(outcomes[0]!.fate).toBe('deliver');
      expect(outcomes[1]).toEqual({
        fate: 'rejected',
        reason: 'invalid-event',
        detail: "data[1].id: the event id has 2009 characters; at most 1024 are allowed (Learn's are UUIDs)",
      });
    });

    it('invalid-output: the rule built an event Caliper 1.2 does not allow, naming rule and property', async () => {
      const set = oneRule(forumRule('bad-object', `${POSTED}
  object: { id: { from: object.id }, type: Forum }`));
      expect(await only(forumPost(), { rules: set })).toEqual({
        fate: 'rejected',
        reason: 'invalid-output',
        rule: 'bad-object',
        studentId: STUDENT.externalId,
        detail: 'rule bad-object: object.type: MessageEvent needs object of type Message, got Forum',
      });
    });

    it('invalid-output: an actor the event\'s action does not allow, where only the event can tell', async () => {
      // Any session action, kept: the file cannot say which arrives, so the loader lets $edApp
      // through (right for TimedOut); a LoggedIn's actor is the student, and the event says so.
      const set = oneRule(`
id: app-ends-any-session
match: { type: SessionEvent }
student: ['actor.extensions["bb:user.externalId"]']
output:
  type: SessionEvent
  action: { from: action }
  profile: SessionProfile
  actor: $edApp
  object: { id: { from: object.id }, type: SoftwareApplication }`);
      expect(await only(sessionLogin(), { rules: set })).toEqual({
        fate: 'rejected',
        reason: 'invalid-output',
        rule: 'app-ends-any-session',
        studentId: STUDENT.externalId,
        detail: "rule app-ends-any-session: actor: must be the student's platform id (urn:uuid:…), the only SessionEvent actor TimeBack knows",
      });
    });

    it('invalid-output: personal data the rule does not allow, unless it allows it', async () => {
      const rule = (allow: string) => forumRule('copies-the-batch-uid', `${POSTED}
  object: { id: { from: generated.id }, type: Message }
  extensions:
    learnUser: { from: 'actor.extensions["bb:user.externalId"]' }
${allow}`);
      const student = { ...STUDENT, externalId: 'lena.martin@school.example.edu' };
      const event = forumPost({}, student);
      const identity = staticIdentity({ [student.externalId]: student.platformId });
      expect(await only(event, { rules: oneRule(rule('')), identity })).toEqual({
        fate: 'rejected',
        reason: 'invalid-output',
        rule: 'copies-the-batch-uid',
        studentId: student.externalId,
        detail: 'rule copies-the-batch-uid: extensions.learnUser: carries personal data (email); list "email" in the rule\'s allowPii to send it',
      });
      const allowed = delivered(await only(event, { rules: oneRule(rule('allowPii: [email]')), identity }));
      expect(allowed.event.extensions).toEqual({ learnUser: student.externalId });
    });

    it("invalid-output: a person's identifier the input holds, copied anywhere, unless the rule allows it", async () => {
      const rule = (allow: string) => forumRule('copies-learn-ids', `${POSTED}
  object: { id: { from: generated.id }, type: Message, name: { from: 'actor.extensions["bb:user.externalId"]', transform: lowercase } }
${allow}`);
      // lmartin07 looks like nothing personal: only the input says it is the student's batch_uid.
      expect(await only(forumPost(), { rules: oneRule(rule('')) })).toEqual({
        fate: 'rejected',
        reason: 'invalid-output',
        rule: 'copies-learn-ids',
        studentId: STUDENT.externalId,
        detail:
          'rule copies-learn-ids: object.name: carries personal data (user-id, as actor.extensions["bb:user.externalId"] in the input); list "user-id" in the rule\'s allowPii to send it',
      });
      const allowed = delivered(await only(forumPost(), { rules: oneRule(rule('allowPii: [user-id]')) }));
      expect((allowed.event.object as { name: string }).name).toBe(STUDENT.externalId);
    });

    it("sends text the rule itself writes, even where it equals a person's name or id in the input", async () => {
      // A constant is the same for every student: what the rule says, not what Learn sent about one.
      const rule = (extra: string) => forumRule('names-the-lab', `${POSTED}
  object: { id: { from: generated.id }, type: Message }
  extensions:
    lab: Grace Hopper
    building: { const: Grace Hopper Hall }
    room: { from: object.extensions.room, default: lmartin07 }
    wing: { from: object.type, map: { "${BB}Forum": Hopper wing of Grace Hopper Hall } }${extra}`);
      const event = forumPost();
      (event.actor as Record<string, unknown>).name = 'Grace Hopper';
      const sent = delivered(await only(event, { rules: oneRule(rule('')) }));
      expect(sent.event.extensions).toMatchObject({ lab: 'Grace Hopper', building: 'Grace Hopper Hall', room: 'lmartin07' });
      // What the rule copies from the input is still checked.
      expect(await only(event, { rules: oneRule(rule("\n    who: { from: 'actor.name', transform: lowercase }")) })).toMatchObject({
        fate: 'rejected',
        detail: expect.stringContaining('extensions.who: carries personal data (name, as actor.name in the input)'),
      });
    });

    it('leaves out what a student wrote from a copied entity, unless the rule lists written-text', async () => {
      const rule = (allow: string) => `
id: tags-a-post
match: { type: "${BB}ForumEvent" }
student: ['actor.extensions["bb:user.externalId"]']
${allow}
output:
  type: AnnotationEvent
  action: Tagged
  profile: AnnotationProfile
  object: { id: { from: object.id }, type: DigitalResource }
  generated: { from: generated, transform: entity }`;
      const tag = { id: `${SITE}/annotations/1`, type: 'TagAnnotation', tags: ['cotton mills'], annotated: `${SITE}/discussion/_88_1` };
      const event = forumPost({ generated: tag });
      const withheld = delivered(await only(event, { rules: oneRule(rule('')) }));
      expect(withheld.event.generated).toEqual({ id: tag.id, type: 'TagAnnotation', annotated: tag.annotated });
      const allowed = delivered(await only(event, { rules: oneRule(rule('allowPii: [written-text]')) }));
      expect(allowed.event.generated).toEqual(tag);
    });

    it('invalid-output: a value nested deeper than the personal-data check looks, whatever it holds', async () => {
      const set = oneRule(forumRule('copies-a-note', `${POSTED}
  object: { id: { from: generated.id }, type: Message }
  extensions:
    note: { from: 'generated.extensions["bb:note"]' }`));
      // Sent as data: an address 100 levels down in a value the rule copies.
      let note: unknown = 'lena.martin@school.example.edu';
      for (let i = 0; i < 100; i++) note = { inner: note };
      const event = forumPost();
      (event.generated as { extensions: Record<string, unknown> }).extensions = { 'bb:note': note };
      const outcome = await only(event, { rules: set });
      expect(outcome).toMatchObject({ fate: 'rejected', reason: 'invalid-output', rule: 'copies-a-note' });
      expect(outcome.fate !== 'deliver' && outcome.detail).toMatch(/^rule copies-a-note: extensions\.note\.inner … \d+ more … (inner\.){4}inner: nests too deeply to be checked for personal data/);
    });
  });

  describe('identity', () => {
    function countingResolver(answer: (externalId: string) => IdentityAnswer) {
      const calls: string[] = [];
      const resolver: IdentityResolver = {
        async resolve(externalId) {
          calls.push(externalId);
          return answer(externalId);
        },
      };
      return { resolver, calls };
    }

    it('resolves each distinct student once per batch', async () => {
      const students = Array.from({ length: 10 }, (_, i) => ({ ...STUDENT, externalId: `student${i}` }));
      const events = Array.from({ length: 1000 }, (_, i) => forumPost({}, students[i % 10]));
      const { resolver, calls } = countingResolver(() => ({ status: 'found', platformId: STUDENT.platformId }));
      const outcomes = await run(events, { identity: resolver });
      expect(outcomes.every((outcome) => outcome.fate === 'deliver')).toBe(true);
      expect(calls.sort()).toEqual(students.map((s) => s.externalId).sort());
    });

    it('retries only the events of a student the roster cannot answer for, with its detail and wait', async () => {
      const { resolver } = countingResolver((externalId) =>
        externalId === OTHER_STUDENT.externalId
          ? { status: 'unavailable', detail: 'roster answered 503', retryAfterMs: 30_000 }
          : { status: 'found', platformId: STUDENT.platformId },
      );
      const outcomes = await run([forumPost({}, OTHER_STUDENT), forumPost(), forumPost({}, OTHER_STUDENT)], { identity: resolver });
      expect(outcomes.map((outcome) => outcome.fate)).toEqual(['retry', 'deliver', 'retry']);
      expect(outcomes[0]).toEqual({ fate: 'retry', rule: 'forum-post-created', studentId: OTHER_STUDENT.externalId, detail: 'roster answered 503', retryAfterMs: 30_000 });
    });

    it('without TIMEBACK_APP_ID, settles what it can and holds the rest until it is set, failed lookups too', async () => {
      const { resolver } = countingResolver((externalId) =>
        externalId === OTHER_STUDENT.externalId
          ? { status: 'unavailable', detail: 'roster answered 503', retryAfterMs: 30_000 }
          : externalId === 'nobody42'
            ? { status: 'not-found', detail: 'no such user' }
            : { status: 'found', platformId: STUDENT.platformId },
      );
      const outcomes = await run(
        [forumPost(), forumPost({}, OTHER_STUDENT), forumPost({}, { ...STUDENT, externalId: 'nobody42' }), forumPost({ type: `${BB}WikiEvent` })],
        { identity: resolver, appId: null },
      );
      const held = { held: true, untilConfigured: true, rule: 'forum-post-created' };
      expect(outcomes).toEqual([
        { fate: 'retry', detail: WAITING_FOR_APP_ID, studentId: STUDENT.externalId, ...held },
        // Its retry budget must not start before the gateway could send it anyway.
        { fate: 'retry', detail: `roster answered 503; ${WAITING_FOR_APP_ID}`, retryAfterMs: 30_000, studentId: OTHER_STUDENT.externalId, ...held },
        { fate: 'skipped', reason: 'user-not-in-timeback', detail: 'no such user', rule: 'forum-post-created', studentId: 'nobody42' },
        expect.objectContaining({ fate: 'skipped', reason: 'no-rule' }),
      ]);
    });

    it('with neither credentials nor TIMEBACK_APP_ID, names every missing setting in the detail', async () => {
      // As the roster resolver answers without credentials: `status` shows this detail, so
      // naming only the credentials would send an admin back a second time for the app id.
      const waiting = 'roster lookups wait for TIMEBACK_CLIENT_ID, TIMEBACK_CLIENT_SECRET';
      const resolver: IdentityResolver = { resolve: async () => ({ status: 'unavailable', detail: waiting, held: true, untilConfigured: true }) };
      const outcome = await only(forumPost(), { identity: resolver, appId: null });
      expect(outcome).toMatchObject({ fate: 'retry', held: true, untilConfigured: true });
      const detail = (outcome as { detail: string }).detail;
      for (const name of ['TIMEBACK_CLIENT_ID', 'TIMEBACK_CLIENT_SECRET', 'TIMEBACK_APP_ID']) expect(detail).toContain(name);
    });

    it('treats a resolver that throws as unavailable, never as lost', async () => {
      const resolver: IdentityResolver = {
        resolve: async () => {
          throw new Error('socket hang up');
        },
      };
      expect(await only(forumPost(), { identity: resolver })).toEqual({
        fate: 'retry',
        rule: 'forum-post-created',
        studentId: STUDENT.externalId,
        detail: 'identity lookup failed: socket hang up',
      });
    });
  });

  describe('output ids', () => {
    it('are the same when the same event goes through the same rule again', async () => {
      const event = forumPost();
      const first = delivered(await only(event));
      const again = delivered(await only(structuredClone(event)));
      expect(again.outputId).toBe(first.outputId);
      expect(again.event).toEqual(first.event);
    });

    it('differ when a different rule takes the event', async () => {
      const event = forumPost();
      const renamed = oneRule(`
id: forum-post-created-v2
match: { type: "${BB}ForumEvent", action: Created }
student: ['actor.extensions["bb:user.externalId"]']
output: { type: MessageEvent, action: Posted, profile: ForumProfile, object: { id: { from: generated.id }, type: Message } }`);
      const first = delivered(await only(event));
      const second = delivered(await only(event, { rules: renamed }));
      expect(second.outputId).not.toBe(first.outputId);
      expect(second.outputId).toBe(outputEventId(SENSOR, event.id as string, event.eventTime as string, 'forum-post-created-v2'));
    });
  });

  it('every delivered event passes the validator', async () => {
    const outcomes = await run([forumPost(), gradeEvent(), ltiLaunch(), sessionLogin(), forumPost({ action: 'Modified' })]);
    expect(outcomes).toHaveLength(5);
    for (const outcome of outcomes) expect(validateCaliperEvent(delivered(outcome).event)).toEqual({ ok: true });
  });
});
