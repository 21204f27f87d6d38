/**
 * The Caliper 1.2 vocabulary the gateway emits and checks against: event types with their
 * allowed actions and profiles, entity types with their supertypes, and property names.
 *
 * Transcribed from the v1p2 JSON-LD context (`http://purl.imsglobal.org/ctx/caliper/v1p2`) and
 * the 1.2 event definitions; the project never reads the context at run time. Where the
 * context and the spec text disagree we follow the spec text, and say so next to the term.
 */

export const CALIPER_1_2_CONTEXT = 'http://purl.imsglobal.org/ctx/caliper/v1p2';

/** TimeBack attaches an event with this session IRI to the student's current session. */
export const AUTO_ATTACH_SESSION = 'urn:tag:auto-attach';

/** Caliper's namespace for its own terms: `http://purl.imsglobal.org/caliper/Person` is `Person`. */
const CALIPER_TERM_IRI = 'http://purl.imsglobal.org/caliper/';

export const PROFILES = [
  'GeneralProfile',
  'AnnotationProfile',
  'AssessmentProfile',
  'AssignableProfile',
  'FeedbackProfile',
  'ForumProfile',
  'GradingProfile',
  'MediaProfile',
  'ReadingProfile',
  'ResourceManagementProfile',
  'SearchProfile',
  'SessionProfile',
  // Missing from the v1p2 context file, but the 1.2 schemas, certification guide and
  // official fixtures all use it for the survey events.
  'SurveyProfile',
  'ToolLaunchProfile',
  'ToolUseProfile',
] as const;
export type Profile = (typeof PROFILES)[number];

export const ACTIONS = [
  'Abandoned', 'Accepted', 'Activated', 'Added', 'Archived', 'Attached', 'Bookmarked',
  'ChangedResolution', 'ChangedSize', 'ChangedSpeed', 'ChangedVolume', 'Classified', 'ClosedPopout',
  'Commented', 'Completed', 'Copied', 'Created', 'Deactivated', 'Declined', 'Deleted', 'Described',
  // The context spells these `…CloseCaptioning`; the spec, the 1.2 schemas and the reference
  // libraries say `…ClosedCaptioning`, which is what we emit.
  'DisabledClosedCaptioning', 'Disliked', 'Downloaded', 'EnabledClosedCaptioning', 'Ended',
  'EnteredFullScreen', 'ExitedFullScreen', 'ForwardedTo', 'Graded', 'Hid', 'Highlighted', 'Identified',
  'JumpedTo', 'Launched', 'Liked', 'Linked', 'LoggedIn', 'LoggedOut', 'MarkedAsRead', 'MarkedAsUnread',
  'Modified', 'Muted', 'NavigatedTo', 'OpenedPopout', 'OptedIn', 'OptedOut', 'Paused', 'Posted',
  'Printed', 'Published', 'Questioned', 'Ranked', 'Recommended', 'Removed', 'Reset', 'Restarted',
  'Restored', 'Resumed', 'Retrieved', 'Returned', 'Reviewed', 'Rewound', 'Saved', 'Searched', 'Sent',
  'Shared', 'Showed', 'Skipped', 'Started', 'Submitted', 'Subscribed', 'Tagged', 'TimedOut', 'Unmuted',
  'Unpublished', 'Unsubscribed', 'Uploaded', 'Used', 'Viewed',
] as const;
export type Action = (typeof ACTIONS)[number];

/** Spellings seen in the wild for the same action term (input side only). */
export const ACTION_ALIASES: Readonly<Record<string, Action>> = {
  MarkedAsUnRead: 'MarkedAsUnread',
  EnabledCloseCaptioning: 'EnabledClosedCaptioning',
  DisabledCloseCaptioning: 'DisabledClosedCaptioning',
};

/**
 * The action term of an input action: an IRI (`…/action#LoggedOut`) by its term, known
 * misspellings fixed. Rules match on it, and a rule that keeps the input's action sends it.
 */
export function actionTerm(action: string): string {
  const text = action.trim();
  const cut = Math.max(text.lastIndexOf('#'), text.lastIndexOf('/'));
  const term = cut >= 0 ? text.slice(cut + 1) : text;
  // Own keys only: `ACTION_ALIASES["constructor"]` is Object, not an alias.
  return Object.hasOwn(ACTION_ALIASES, term) ? ACTION_ALIASES[term]! : term;
}

/** What one event type may carry: the range of each entity-valued property, by type name. */
export interface EventDefinition {
  actions: readonly Action[];
  profiles: readonly Profile[];
  actor: readonly string[];
  object: readonly string[];
  generated?: readonly string[];
  target?: readonly string[];
  referrer?: readonly string[];
}

const PERSON = ['Person'] as const;
const MEDIA_ACTIONS = [
  'Started', 'Ended', 'Paused', 'Resumed', 'Restarted', 'ForwardedTo', 'JumpedTo', 'ChangedResolution',
  'ChangedSize', 'ChangedSpeed', 'ChangedVolume', 'EnabledClosedCaptioning', 'DisabledClosedCaptioning',
  'EnteredFullScreen', 'ExitedFullScreen', 'Muted', 'Unmuted', 'OpenedPopout', 'ClosedPopout',
] as const satisfies readonly Action[];

/**
 * Per event type: allowed actions ("the value range is limited to …" in each 1.2 event
 * definition), the profiles that carry it, and what its actor, object, generated, target and
 * referrer must be. SessionEvent's actor and object depend on the action; see `sessionEventRanges`.
 */
export const EVENTS = {
  Event: { actions: ACTIONS, profiles: ['GeneralProfile'], actor: ['Agent'], object: ['Entity'] },
  AnnotationEvent: {
    actions: ['Bookmarked', 'Highlighted', 'Shared', 'Tagged'],
    profiles: ['AnnotationProfile'],
    actor: PERSON,
    object: ['DigitalResource'],
    generated: ['Annotation'],
    target: ['Frame'],
  },
  AssessmentEvent: {
    actions: ['Started', 'Paused', 'Resumed', 'Restarted', 'Reset', 'Submitted'],
    profiles: ['AssessmentProfile'],
    actor: PERSON,
    object: ['Assessment'],
    generated: ['Attempt'],
  },
  AssessmentItemEvent: {
    actions: ['Started', 'Skipped', 'Completed'],
    profiles: ['AssessmentProfile'],
    actor: PERSON,
    object: ['AssessmentItem'],
    generated: ['Attempt', 'Response'],
    referrer: ['AssessmentItem'],
  },
  AssignableEvent: {
    actions: ['Activated', 'Deactivated', 'Started', 'Completed', 'Submitted', 'Reviewed'],
    profiles: ['AssignableProfile'],
    actor: PERSON,
    object: ['AssignableDigitalResource'],
    generated: ['Attempt'],
    target: ['Frame'],
  },
  FeedbackEvent: {
    actions: ['Commented', 'Ranked'],
    profiles: ['FeedbackProfile'],
    actor: PERSON,
    object: ['Entity'],
    generated: ['Comment', 'Rating'],
    target: ['Frame'],
  },
  ForumEvent: { actions: ['Subscribed', 'Unsubscribed'], profiles: ['ForumProfile'], actor: PERSON, object: ['Forum'] },
  GradeEvent: {
    actions: ['Graded'],
    profiles: ['GradingProfile'],
    // The grader: a person, or the software when it graded automatically.
    actor: ['Agent'],
    object: ['Attempt'],
    generated: ['Score'],
  },
  MediaEvent: {
    actions: MEDIA_ACTIONS,
    profiles: ['MediaProfile'],
    actor: PERSON,
    object: ['MediaObject'],
    target: ['MediaLocation'],
  },
  MessageEvent: {
    actions: ['Posted', 'MarkedAsRead', 'MarkedAsUnread'],
    profiles: ['ForumProfile'],
    actor: PERSON,
    object: ['Message'],
  },
  NavigationEvent: {
    actions: ['NavigatedTo'],
    profiles: ['ReadingProfile', 'AssessmentProfile', 'AssignableProfile', 'ForumProfile', 'MediaProfile', 'SurveyProfile'],
    actor: PERSON,
    object: ['DigitalResource', 'SoftwareApplication'],
    target: ['DigitalResource'],
    referrer: ['DigitalResource', 'SoftwareApplication'],
  },
  QuestionnaireEvent: {
    actions: ['Started', 'Submitted'],
    profiles: ['SurveyProfile'],
    actor: PERSON,
    object: ['Questionnaire'],
    generated: ['Attempt'],
  },
  QuestionnaireItemEvent: {
    actions: ['Started', 'Skipped', 'Completed'],
    profiles: ['SurveyProfile'],
    actor: PERSON,
    object: ['QuestionnaireItem'],
    generated: ['Response'],
  },
  ResourceManagementEvent: {
    actions: [
      'Archived', 'Copied', 'Created', 'Deleted', 'Described', 'Downloaded', 'Modified', 'Printed',
      'Published', 'Restored', 'Retrieved', 'Saved', 'Unpublished', 'Uploaded',
    ],
    profiles: ['ResourceManagementProfile'],
    actor: PERSON,
    object: ['DigitalResource'],
    generated: ['DigitalResource'],
  },
  SearchEvent: {
    actions: ['Searched'],
    profiles: ['SearchProfile'],
    actor: PERSON,
    object: ['DigitalResource', 'SoftwareApplication'],
    generated: ['SearchResponse'],
  },
  SessionEvent: {
    actions: ['LoggedIn', 'LoggedOut', 'TimedOut'],
    profiles: ['SessionProfile'],
    actor: ['Person', 'SoftwareApplication'],
    object: ['SoftwareApplication', 'Session'],
    target: ['DigitalResource'],
    referrer: ['DigitalResource', 'SoftwareApplication'],
  },
  SurveyEvent: { actions: ['OptedIn', 'OptedOut'], profiles: ['SurveyProfile'], actor: PERSON, object: ['Survey'] },
  SurveyInvitationEvent: {
    actions: ['Sent', 'Accepted', 'Declined'],
    profiles: ['SurveyProfile'],
    actor: PERSON,
    object: ['SurveyInvitation'],
  },
  ThreadEvent: { actions: ['MarkedAsRead', 'MarkedAsUnread'], profiles: ['ForumProfile'], actor: PERSON, object: ['Thread'] },
  ToolLaunchEvent: {
    actions: ['Launched', 'Returned'],
    profiles: ['ToolLaunchProfile'],
    actor: PERSON,
    object: ['SoftwareApplication'],
    generated: ['DigitalResource'],
    target: ['Link'],
  },
  ToolUseEvent: {
    actions: ['Used'],
    profiles: ['ToolUseProfile'],
    actor: PERSON,
    object: ['SoftwareApplication'],
    generated: ['AggregateMeasureCollection'],
    target: ['SoftwareApplication'],
  },
  ViewEvent: {
    actions: ['Viewed'],
    profiles: [
      'ReadingProfile', 'AssessmentProfile', 'AssignableProfile', 'ForumProfile', 'MediaProfile',
      'SurveyProfile', 'GradingProfile',
    ],
    // The Grading profile lets an instructor (any Agent) view a Result.
    actor: ['Agent'],
    object: ['DigitalResource', 'Result'],
  },
} as const satisfies Record<string, EventDefinition>;

export type EventType = keyof typeof EVENTS;
export const EVENT_TYPES = Object.keys(EVENTS) as EventType[];

/** SessionEvent: a person logs in and out of an app; the app times out a session. */
export function sessionEventRanges(action: string): { actor: readonly string[]; object: readonly string[] } {
  return action === 'TimedOut'
    ? { actor: ['SoftwareApplication'], object: ['Session'] }
    : { actor: ['Person'], object: ['SoftwareApplication'] };
}

/** Each entity type and its direct supertype (`null` for Entity itself). */
export const ENTITY_SUPERTYPE = {
  Entity: null,
  Agent: 'Entity',
  Person: 'Agent',
  SoftwareApplication: 'Agent',
  Organization: 'Agent',
  Group: 'Organization',
  CourseOffering: 'Organization',
  CourseSection: 'CourseOffering',
  DigitalResource: 'Entity',
  AssignableDigitalResource: 'DigitalResource',
  Assessment: 'AssignableDigitalResource',
  AssessmentItem: 'AssignableDigitalResource',
  Chapter: 'DigitalResource',
  Document: 'DigitalResource',
  Frame: 'DigitalResource',
  Page: 'DigitalResource',
  WebPage: 'DigitalResource',
  Message: 'DigitalResource',
  MediaLocation: 'DigitalResource',
  MediaObject: 'DigitalResource',
  AudioObject: 'MediaObject',
  ImageObject: 'MediaObject',
  VideoObject: 'MediaObject',
  QuestionnaireItem: 'DigitalResource',
  DigitalResourceCollection: 'DigitalResource',
  Forum: 'DigitalResourceCollection',
  Thread: 'DigitalResourceCollection',
  Questionnaire: 'DigitalResourceCollection',
  Link: 'Entity',
  LtiLink: 'Link',
  Collection: 'Entity',
  AggregateMeasureCollection: 'Collection',
  Survey: 'Collection',
  AggregateMeasure: 'Entity',
  Annotation: 'Entity',
  BookmarkAnnotation: 'Annotation',
  HighlightAnnotation: 'Annotation',
  SharedAnnotation: 'Annotation',
  TagAnnotation: 'Annotation',
  Attempt: 'Entity',
  Comment: 'Entity',
  LearningObjective: 'Entity',
  Membership: 'Entity',
  Query: 'Entity',
  Rating: 'Entity',
  Result: 'Entity',
  Score: 'Entity',
  SearchResponse: 'Entity',
  SurveyInvitation: 'Entity',
  Session: 'Entity',
  LtiSession: 'Session',
  Question: 'Entity',
  DateTimeQuestion: 'Question',
  MultiselectQuestion: 'Question',
  OpenEndedQuestion: 'Question',
  RatingScaleQuestion: 'Question',
  Response: 'Entity',
  DateTimeResponse: 'Response',
  FillinBlankResponse: 'Response',
  MultipleChoiceResponse: 'Response',
  MultipleResponseResponse: 'Response',
  MultiselectResponse: 'Response',
  OpenEndedResponse: 'Response',
  RatingScaleResponse: 'Response',
  SelectTextResponse: 'Response',
  TrueFalseResponse: 'Response',
  Scale: 'Entity',
  LikertScale: 'Scale',
  MultiselectScale: 'Scale',
  NumericScale: 'Scale',
  Selector: 'Entity',
  TextPositionSelector: 'Selector',
  SystemIdentifier: 'Entity',
} as const satisfies Record<string, string | null>;

export type EntityType = keyof typeof ENTITY_SUPERTYPE;
export const ENTITY_TYPES = new Set<string>(Object.keys(ENTITY_SUPERTYPE));

/** Entities the spec describes without an `id`. */
export const ID_LESS_TYPES = new Set<string>(['SystemIdentifier', 'TextPositionSelector', 'Selector']);

/** True when `type` is `ancestor` or one of its subtypes. */
export function isA(type: string, ancestor: string): boolean {
  let current: string | null | undefined = type;
  while (current) {
    if (current === ancestor) return true;
    current = (ENTITY_SUPERTYPE as Record<string, string | null>)[current];
  }
  return false;
}

export function isAnyOf(type: string, ancestors: readonly string[]): boolean {
  for (const ancestor of ancestors) if (isA(type, ancestor)) return true;
  return false;
}

/** Properties whose values are entities (or their IRIs), alone or in a list. */
export const ENTITY_VALUED_PROPERTIES = new Set<string>([
  'actor', 'annotated', 'annotator', 'assignable', 'assignee', 'attachments', 'attempt', 'client',
  'commentedOn', 'commenter', 'creator', 'creators', 'edApp', 'federatedSession', 'generated', 'group',
  'isPartOf', 'items', 'learningObjectives', 'member', 'members', 'membership', 'object', 'organization',
  'otherIdentifiers', 'query', 'question', 'rated', 'rater', 'ratingComment', 'referrer', 'replyTo',
  'scale', 'scoredBy', 'searchProvider', 'searchTarget', 'selection', 'selections', 'session', 'source',
  'subOrganizationOf', 'survey', 'target', 'user', 'withAgents',
]);

/** Properties that hold an `xsd:dateTime`, written `YYYY-MM-DDTHH:mm:ss.SSSZ`. */
export const DATE_TIME_PROPERTIES = new Set<string>([
  'dateCreated', 'dateModified', 'datePublished', 'dateSent', 'dateTimeSelected', 'dateToActivate',
  'dateToShow', 'dateToStartOn', 'dateToSubmit', 'endedAtTime', 'eventTime', 'maxDateTime', 'minDateTime',
  'startedAtTime',
]);

/** Properties that hold an `xsd:duration`, an ISO 8601 duration such as `PT30M54S`. */
export const DURATION_PROPERTIES = new Set<string>(['currentTime', 'duration']);

/** Plain-valued properties by the kind of value they hold (from the `@type` of each context term). */
export const NUMBER_PROPERTIES = new Set<string>([
  'count', 'end', 'index', 'maxAttempts', 'maxMetricValue', 'maxResultScore', 'maxScore', 'maxSelections',
  'maxSubmits', 'maxValue', 'metricValue', 'minSelections', 'minValue', 'points', 'resultScore', 'scalePoints',
  'scoreGiven', 'searchResultsItemCount', 'sentCount', 'start', 'step', 'weight',
]);
export const BOOLEAN_PROPERTIES = new Set<string>(['isOrderedSelection', 'isTimeDependent', 'muted']);
export const TEXT_PROPERTIES = new Set<string>([
  'academicSession', 'body', 'bookmarkNotes', 'category', 'comment', 'courseNumber',
  'description', 'host', 'identifier', 'identifierType', 'ipAddress', 'lisSourcedId', 'maxLabel',
  'mediaType', 'messageType', 'metric', 'minLabel', 'name', 'questionPosed', 'searchTerms', 'selectionText',
  'status', 'userAgent', 'value', 'version', 'volumeLevel', 'volumeMax', 'volumeMin',
]);
/** Lists of text or vocabulary terms. */
export const TEXT_LIST_PROPERTIES = new Set<string>(['categories', 'itemLabels', 'itemValues', 'keywords', 'roles', 'tags', 'values']);
/** An opaque map (LTI message parameters). */
export const MAP_PROPERTIES = new Set<string>(['messageParameters']);

const VALUE_PROPERTIES = [
  ...DURATION_PROPERTIES, ...NUMBER_PROPERTIES, ...BOOLEAN_PROPERTIES, ...TEXT_PROPERTIES, ...TEXT_LIST_PROPERTIES,
  ...MAP_PROPERTIES,
];

/** Event-only properties: they never appear on an entity. */
export const EVENT_PROPERTIES = new Set<string>([
  '@context', 'id', 'type', 'profile', 'actor', 'action', 'object', 'eventTime', 'edApp', 'generated',
  'target', 'referrer', 'group', 'membership', 'session', 'federatedSession', 'extensions',
]);

/** Every property some entity may carry in Caliper 1.2, `extensions` included (which one: ENTITY_TYPE_PROPERTIES). */
export const ENTITY_PROPERTIES = new Set<string>([
  'id',
  'type',
  'extensions',
  ...VALUE_PROPERTIES,
  ...[...DATE_TIME_PROPERTIES, ...ENTITY_VALUED_PROPERTIES].filter((name) => !EVENT_PROPERTIES.has(name)),
]);

/**
 * The properties each entity type adds to those of its supertype (ENTITY_SUPERTYPE), from the
 * 1.2 entity definitions: an AssignableDigitalResource has everything a DigitalResource has
 * (and so an Entity) plus its dates and maxima, and an Assessment adds `items` to those.
 * `id`, `type` and `extensions` are every entity's and are not listed.
 */
const OWN_PROPERTIES = {
  Entity: ['name', 'description', 'dateCreated', 'dateModified', 'otherIdentifiers'],
  Agent: [],
  Person: [],
  SoftwareApplication: ['version', 'host', 'ipAddress', 'userAgent'],
  Organization: ['subOrganizationOf', 'members'],
  Group: [],
  CourseOffering: ['courseNumber', 'academicSession'],
  CourseSection: ['category'],
  DigitalResource: ['creators', 'mediaType', 'keywords', 'learningObjectives', 'isPartOf', 'datePublished', 'version'],
  AssignableDigitalResource: [
    'dateToActivate', 'dateToShow', 'dateToStartOn', 'dateToSubmit', 'maxAttempts', 'maxSubmits', 'maxScore',
  ],
  Assessment: ['items'],
  AssessmentItem: ['isTimeDependent'],
  Chapter: [],
  Document: [],
  Frame: ['index'],
  Page: [],
  WebPage: [],
  Message: ['replyTo', 'body', 'attachments'],
  MediaLocation: ['currentTime'],
  MediaObject: ['duration'],
  AudioObject: ['volumeMin', 'volumeMax', 'volumeLevel', 'muted'],
  ImageObject: [],
  VideoObject: [],
  QuestionnaireItem: ['question', 'categories', 'weight'],
  DigitalResourceCollection: ['items'],
  Forum: [],
  Thread: [],
  Questionnaire: [],
  Link: [],
  LtiLink: ['messageType'],
  Collection: ['items'],
  AggregateMeasureCollection: [],
  Survey: [],
  AggregateMeasure: ['metricValue', 'maxMetricValue', 'status', 'metric', 'startedAtTime', 'endedAtTime'],
  Annotation: ['annotator', 'annotated'],
  BookmarkAnnotation: ['bookmarkNotes'],
  HighlightAnnotation: ['selection', 'selectionText'],
  SharedAnnotation: ['withAgents'],
  TagAnnotation: ['tags'],
  Attempt: ['assignee', 'assignable', 'isPartOf', 'count', 'startedAtTime', 'endedAtTime', 'duration'],
  Comment: ['commenter', 'commentedOn', 'value'],
  LearningObjective: [],
  Membership: ['organization', 'member', 'roles', 'status'],
  Query: ['creator', 'searchTarget', 'searchTerms'],
  Rating: ['rater', 'rated', 'question', 'selections', 'ratingComment'],
  Result: ['attempt', 'maxResultScore', 'resultScore', 'scoredBy', 'comment'],
  Score: ['attempt', 'maxScore', 'scoreGiven', 'scoredBy', 'comment'],
  SearchResponse: ['searchProvider', 'searchTarget', 'query', 'searchResultsItemCount'],
  SurveyInvitation: ['rater', 'survey', 'sentCount', 'dateSent'],
  Session: ['user', 'client', 'startedAtTime', 'endedAtTime', 'duration'],
  LtiSession: ['messageParameters'],
  Question: ['questionPosed'],
  DateTimeQuestion: ['minDateTime', 'minLabel', 'maxDateTime', 'maxLabel'],
  MultiselectQuestion: ['points', 'itemLabels', 'itemValues'],
  OpenEndedQuestion: [],
  RatingScaleQuestion: ['scale'],
  Response: ['attempt', 'startedAtTime', 'endedAtTime', 'duration'],
  DateTimeResponse: ['dateTimeSelected'],
  FillinBlankResponse: ['values'],
  MultipleChoiceResponse: ['value'],
  MultipleResponseResponse: ['values'],
  MultiselectResponse: ['selections'],
  OpenEndedResponse: ['value'],
  RatingScaleResponse: ['selections'],
  SelectTextResponse: ['values'],
  TrueFalseResponse: ['value'],
  Scale: [],
  LikertScale: ['scalePoints', 'itemLabels', 'itemValues'],
  MultiselectScale: ['scalePoints', 'itemLabels', 'itemValues', 'isOrderedSelection', 'minSelections', 'maxSelections'],
  NumericScale: ['minValue', 'minLabel', 'maxValue', 'maxLabel', 'step'],
  Selector: [],
  TextPositionSelector: ['start', 'end'],
  SystemIdentifier: ['identifier', 'identifierType', 'source'],
} as const satisfies Record<EntityType, readonly string[]>;

/**
 * Types that are not full entities: no id, and none of Entity's own properties (a
 * SystemIdentifier has no name or dates; a TextPositionSelector is just a start and an end).
 */
const PROPERTY_ROOTS = new Set<string>(['Selector', 'SystemIdentifier']);

/** Every property an entity of each type may carry: its own, its supertypes', `id`, `type`, `extensions`. */
export const ENTITY_TYPE_PROPERTIES: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.keys(OWN_PROPERTIES).map((type) => {
    const properties = new Set<string>(['id', 'type', 'extensions']);
    let current: string | null = type;
    while (current !== null) {
      for (const name of OWN_PROPERTIES[current as EntityType]) properties.add(name);
      current = PROPERTY_ROOTS.has(current) ? null : (ENTITY_SUPERTYPE as Record<string, string | null>)[current]!;
    }
    return [type, properties];
  }),
);

/** Entity-valued properties whose value is always a person: the student never leaves through them. */
export const PERSON_VALUED_PROPERTIES = new Set<string>([
  'assignee', 'annotator', 'commenter', 'creator', 'creators', 'member', 'members', 'rater', 'user', 'withAgents',
]);

/** A type written as a Caliper term IRI (`http://purl.imsglobal.org/caliper/Person`) to its term. */
export function caliperTerm(type: string): string {
  if (type.startsWith(CALIPER_TERM_IRI)) return type.slice(CALIPER_TERM_IRI.length);
  if (type.startsWith('https://purl.imsglobal.org/caliper/')) return type.slice('https://purl.imsglobal.org/caliper/'.length);
  return type;
}
