/**
 * Learn-shaped Caliper 1.1 traffic for benchmarks and drills: the same
 * structure, id schemes and sizes Blackboard documents (bare-UUID sensor and event ids,
 * `bb:` extensions, Blackboard IRI types, course only in `membership` for forum posts),
 * with made-up sites, courses and students. Deterministic for a given seed, except event
 * ids, which are always fresh so repeated runs never collide on deduplication.
 */
import { randomUUID } from 'node:crypto';

const BB = 'http://caliper.blackboard.com/caliper/v1';
const BB_CONTEXT = ['http://caliper.blackboard.com/ctx/caliper/v1/Context', 'http://purl.imsglobal.org/ctx/caliper/v1p1'];
const IMS_CONTEXT = 'http://purl.imsglobal.org/ctx/caliper/v1p1';

export interface SyntheticOptions {
  /** Students' batch_uids (`bb:user.externalId`). */
  students: string[];
  seed?: number;
}

export type SyntheticEvent = Record<string, unknown> & { id: string; type: string; action: string };

/** `count` batch_uids like an SIS would assign: `s00001`, `s00002`, … */
export function syntheticStudentIds(count: number, prefix = 's'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(5, '0')}`);
}

/** A small deterministic PRNG (mulberry32), so a seed reproduces the same traffic mix. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (random: () => number) =>
  Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');

export function createSyntheticLearn(options: SyntheticOptions) {
  const random = prng(options.seed ?? 42);
  const siteId = '6c1f9e2a-4b7d-4e0a-9c3b-2d8f5a1e7b40';
  const base = `https://caliper-mapping.cloudbb.blackboard.com/v1/sites/${siteId}`;
  const learn = { id: `${base}/applications/learn`, type: 'SoftwareApplication' };
  const courses = Array.from({ length: 12 }, (_, i) => ({
    uuid: hex(random),
    pk: `_${1200 + i}_1`,
    number: `SCI-${101 + i}-F26`,
  }));
  const people = new Map(
    options.students.map((externalId, i) => [externalId, { uuid: hex(random), pk: `_${5000 + i}_1`, externalId }]),
  );
  if (people.size === 0) throw new Error('synthetic traffic needs at least one student');
  const studentList = [...people.values()];

  const person = (p: { uuid: string; pk: string; externalId: string }) => ({
    id: `${base}/users/${p.uuid}`,
    type: 'Person',
    extensions: { 'bb:user.id': p.pk, 'bb:user.externalId': p.externalId },
  });
  const course = (c: (typeof courses)[number]) => ({
    id: `${base}/courses/${c.uuid}`,
    type: 'CourseOffering',
    extensions: { 'bb:course.id': c.pk },
    members: [],
    courseNumber: c.number,
  });
  const membership = (p: (typeof studentList)[number], c: (typeof courses)[number]) => ({
    id: `${base}/courses/${c.uuid}/members/${p.uuid}`,
    type: 'Membership',
    extensions: {
      'bb:course.id': c.pk,
      'bb:course.externalId': c.number,
      'bb:user.id': p.pk,
      'bb:user.externalId': p.externalId,
    },
    member: person(p),
    organization: course(c),
    roles: ['Learner'],
    status: 'Active',
  });
  const session = (p: (typeof studentList)[number], at: string) => {
    const name = hex(random).toUpperCase();
    return {
      startedAtTime: at,
      id: `${base}/sessions/${name}`,
      type: 'LtiSession',
      name,
      dateCreated: at,
      user: person(p),
    };
  };
  const assessment = (pk: number) => ({
    dateToSubmit: '2026-12-18T23:59:00.000Z',
    maxAttempts: 1,
    maxSubmits: 0,
    maxScore: 100,
    id: `${base}/assessments/_${pk}_1`,
    type: 'Assessment',
    name: `Unit ${pk % 9} check-in`,
    extensions: {
      'bb:assessment.categoryId': '_7_1',
      'bb:assessment.categoryName': 'Test',
      'bb:assessment.catUserDefined': 'false',
      'bb:assessment.gradeableItemId': `_${pk + 300}_1`,
    },
    creators: [],
    learningObjectives: [],
    keywords: [],
    items: [],
  });

  let clock = Date.parse('2026-11-02T14:00:00.000Z');
  const nextTime = () => {
    clock += 250 + Math.floor(random() * 4000);
    return new Date(clock).toISOString();
  };

  const kinds: Array<(p: (typeof studentList)[number], c: (typeof courses)[number], at: string) => SyntheticEvent> = [
    (p, c, at) => {
      const pk = 400 + Math.floor(random() * 40);
      const question = `${base}/assessments/_${pk}_1/questions/_${pk * 10 + Math.floor(random() * 10)}_1`;
      const item = {
        maxAttempts: 0,
        maxSubmits: 0,
        maxScore: 0,
        id: question,
        type: 'AssessmentItem',
        creators: [],
        learningObjectives: [],
        keywords: [],
        isPartOf: assessment(pk),
      };
      return {
        '@context': IMS_CONTEXT,
        type: 'AssessmentItemEvent',
        id: randomUUID(),
        actor: person(p),
        action: 'Started',
        object: item,
        generated: {
          startedAtTime: at,
          id: `${question}/attempts/_${Math.floor(random() * 90000)}_1`,
          type: 'Attempt',
          assignable: item,
          assignee: person(p),
          count: 1,
        },
        eventTime: at,
        edApp: learn,
        group: course(c),
        membership: membership(p, c),
        federatedSession: session(p, at),
        extensions: {},
      };
    },
    (p, c, at) => {
      const forum = Math.floor(random() * 500);
      return {
        '@context': BB_CONTEXT,
        type: `${BB}/ForumEvent`,
        id: randomUUID(),
        actor: person(p),
        action: 'Created',
        object: {
          '@context': BB_CONTEXT,
          type: `${BB}/Forum`,
          id: `${base}/discussion/_${forum}_1`,
          name: `Week ${forum % 14} discussion`,
          description: '',
          threadPointsPossible: 10,
          dueDate: '2026-12-10T23:59:00.000Z',
          isDiscussion: true,
          contentId: `_${forum + 9000}_1`,
          extensions: {},
        },
        generated: {
          '@context': BB_CONTEXT,
          type: `${BB}/ForumPost`,
          id: `${base}/discussion/_${forum}_1/post/_${Math.floor(random() * 1e6)}_1`,
          name: '',
          description: '',
          parentId: `_${forum * 3}_1`,
          threadId: `_${forum * 3}_1`,
          fileAttached: false,
          length: 200 + Math.floor(random() * 2000),
          anonymous: false,
          firstPost: random() < 0.3,
          extensions: {},
        },
        eventTime: at,
        edApp: learn,
        membership: membership(p, c),
        federatedSession: session(p, at),
        extensions: {},
        session: { id: `${base}/sessions/${hex(random).toUpperCase()}`, type: 'Session' },
      };
    },
    (p, c, at) => ({
      '@context': IMS_CONTEXT,
      type: 'ViewEvent',
      id: randomUUID(),
      actor: person(p),
      action: 'Viewed',
      object: {
        id: `${base}/content/_${Math.floor(random() * 90000)}_1`,
        type: 'Chapter',
        creators: [],
        learningObjectives: [],
        keywords: [],
        index: 0,
      },
      eventTime: at,
      edApp: learn,
      group: course(c),
      membership: membership(p, c),
      federatedSession: session(p, at),
      extensions: {},
    }),
    (p, c, at) => {
      const pk = 400 + Math.floor(random() * 40);
      const attempt = `${base}/gradableItems/_${pk + 300}_1/attempts/_${Math.floor(random() * 90000)}_1`;
      const assignable = {
        dateToSubmit: '2026-12-18T23:59:00.000Z',
        maxAttempts: 0,
        maxSubmits: 0,
        maxScore: 100,
        id: `${base}/gradableItems/_${pk + 300}_1`,
        type: 'Assessment',
        dateCreated: '2026-09-01T12:00:00.000Z',
        dateModified: at,
        creators: [],
        learningObjectives: [],
        keywords: [],
        items: [],
      };
      const attemptEntity = { startedAtTime: at, id: attempt, type: 'Attempt', assignable, assignee: person(p), count: 1 };
      return {
        '@context': IMS_CONTEXT,
        type: 'GradeEvent',
        id: randomUUID(),
        actor: learn,
        action: 'Graded',
        object: attemptEntity,
        generated: {
          id: `${attempt}/score`,
          type: 'Score',
          dateCreated: at,
          dateModified: at,
          extensions: {
            'bb:action.name': 'instructor.grade.history.event.attempt.grade',
            'bb:content.id': `_${pk + 9000}_1`,
            'bb:provider.domain': 'quiz.example.edu',
          },
          attempt: attemptEntity,
          maxScore: 0,
          scoreGiven: Math.round(random() * 10000) / 100,
          scoredBy: learn,
        },
        eventTime: at,
        edApp: learn,
        group: course(c),
        membership: membership(p, c),
        extensions: {},
      };
    },
    (p, c, at) => ({
      '@context': IMS_CONTEXT,
      type: 'SessionEvent',
      id: randomUUID(),
      actor: person(p),
      action: 'LoggedIn',
      object: {
        id: learn.id,
        type: 'SoftwareApplication',
        extensions: {
          'bb:request.headers.agent': 'Mozilla/5.0 (X11; Linux x86_64) Synthetic/1.0',
          'bb:request.headers.ipAddress': `10.${Math.floor(random() * 255)}.${Math.floor(random() * 255)}.7`,
        },
      },
      target: { id: `${base}`, type: 'DigitalResource' },
      eventTime: at,
      edApp: learn,
      federatedSession: session(p, at),
      extensions: {},
    }),
  ];

  return {
    siteId,
    students: studentList.map((p) => p.externalId),

    /** One event; `student` picks whose, otherwise a random student. */
    event(student?: string): SyntheticEvent {
      const p = student === undefined ? studentList[Math.floor(random() * studentList.length)]! : people.get(student);
      if (!p) throw new Error(`unknown synthetic student ${student}`);
      const c = courses[Math.floor(random() * courses.length)]!;
      const kind = kinds[Math.floor(random() * kinds.length)]!;
      return kind(p, c, nextTime());
    },

    /** An envelope of `count` events, as Learn would POST it. */
    envelope(count: number, pickStudent?: (index: number) => string) {
      const data = Array.from({ length: count }, (_, i) => this.event(pickStudent?.(i)));
      return {
        sensor: siteId,
        sendTime: new Date(clock + 5_000).toISOString(),
        dataVersion: IMS_CONTEXT,
        data,
      };
    },
  };
}
