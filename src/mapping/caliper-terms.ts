/**
 * The vocabulary terms of Caliper 1.2: the properties the context types `@vocab` (membership
 * roles and status, LTI message types, metrics, system identifier types), the terms each may
 * hold, and a term written as the IRI the context expands it to, read back as the term.
 */
import { ENTITY_SUPERTYPE, isA } from './caliper-vocabulary.ts';

/**
 * LIS membership roles, as the 1.2 context names them: each role alone, or `Role#SubRole`.
 * Caliper says a role the LIS vocabulary defines MUST be written as its term, not as its IRI.
 */
const LIS_SUB_ROLES: Readonly<Record<string, readonly string[]>> = {
  Administrator: ['Administrator', 'Developer', 'ExternalDeveloper', 'ExternalSupport', 'ExternalSystemAdministrator', 'Support', 'SystemAdministrator'],
  ContentDeveloper: ['ContentDeveloper', 'ContentExpert', 'ExternalContentExpert', 'Librarian'],
  Instructor: [
    'ExternalInstructor', 'Grader', 'GuestInstructor', 'Instructor', 'Lecturer', 'PrimaryInstructor', 'SecondaryInstructor',
    'TeachingAssistant', 'TeachingAssistantGroup', 'TeachingAssistantOffering', 'TeachingAssistantSection', 'TeachingAssistantTemplate',
  ],
  Learner: ['ExternalLearner', 'GuestLearner', 'Learner', 'NonCreditLearner'],
  Manager: ['AreaManager', 'CourseCoordinator', 'Observer', 'ExternalObserver'],
  Member: ['Member'],
  Mentor: [
    'Advisor', 'Auditor', 'ExternalAdvisor', 'ExternalAuditor', 'ExternalLearningFacilitator', 'ExternalMentor',
    'ExternalReviewer', 'ExternalTutor', 'LearningFacilitator', 'Mentor', 'Reviewer', 'Tutor',
  ],
  Officer: ['Chair', 'Secretary', 'Treasurer', 'Vice-Chair'],
};
export const LIS_ROLES: ReadonlySet<string> = new Set(
  Object.entries(LIS_SUB_ROLES).flatMap(([role, subRoles]) => [role, ...subRoles.map((sub) => `${role}#${sub}`)]),
);

/** What a property whose value is a vocabulary term (`@type: @vocab` in the context) may hold. */
export interface TermRange {
  terms: ReadonlySet<string>;
  /** The kind of term, and which, for a refusal's message. */
  what: string;
}

const listed = (terms: readonly string[]) => (terms.length > 2 ? `one of ${terms.join(', ')}` : terms.join(' or '));
const termRange = (kind: string, terms: readonly string[], hint = listed(terms)): TermRange => ({
  terms: new Set(terms),
  what: `a Caliper 1.2 ${kind} (${hint})`,
});
const TERM_RANGES: ReadonlyMap<string, TermRange> = new Map([
  ['Membership.roles', termRange('membership role', [...LIS_ROLES], 'a LIS role term, such as Learner or Instructor#TeachingAssistant')],
  ['Membership.status', termRange('membership status', ['Active', 'Inactive'])],
  ['LtiLink.messageType', termRange('LTI message type', ['LtiResourceLinkRequest', 'LtiDeepLinkingRequest'])],
  [
    'AggregateMeasure.metric',
    termRange('metric', [
      'AssessmentsPassed', 'AssessmentsSubmitted', 'MinutesOnTask', 'SkillsMastered', 'StandardsMastered', 'UnitsCompleted',
      'UnitsPassed', 'WordsRead',
    ]),
  ],
  [
    'SystemIdentifier.identifierType',
    termRange('system identifier type', [
      'AccountUserName', 'CaseItemUri', 'EmailAddress', 'LisSourcedId', 'LtiContextId', 'LtiDeploymentId', 'LtiPlatformId',
      'LtiToolId', 'LtiUserId', 'OneRosterSourcedId', 'Other', 'SisSourcedId', 'SystemId',
    ]),
  ],
]);

/** TERM_RANGES by entity type, each type with those of its supertypes (looked up for every copied and checked property). */
const TERM_RANGES_BY_TYPE: ReadonlyMap<string, ReadonlyMap<string, TermRange>> = new Map(
  Object.keys(ENTITY_SUPERTYPE).map((entityType) => {
    const ranges = new Map<string, TermRange>();
    for (const [key, range] of TERM_RANGES) {
      const [type, property] = key.split('.') as [string, string];
      if (isA(entityType, type)) ranges.set(property, range);
    }
    return [entityType, ranges];
  }),
);

/**
 * The terms a property of an entity type may hold, when the context makes it a vocabulary term
 * and the spec lists them (a subtype's as its supertype's); undefined for free text.
 */
export function termRangeOf(entityType: string, property: string): TermRange | undefined {
  return TERM_RANGES_BY_TYPE.get(entityType)?.get(property);
}

const LIS = 'http://purl.imsglobal.org/vocab/lis/v2/';
const CALIPER_VOCABULARY_IRI = /^http:\/\/purl\.imsglobal\.org\/caliper\/(?:lti|metrics|systemIdentifiers)\/([A-Za-z]+)$/;

/**
 * A vocabulary value as the term of `range` it stands for: the term itself, or its IRI as the
 * 1.2 context expands it (`…/lis/v2/membership#Learner` is `Learner`, `…/membership/Instructor#TeachingAssistant`
 * is `Instructor#TeachingAssistant`, `…/lis/v2/status#Active` is `Active`); undefined for anything else.
 */
export function asTerm(value: string, range: TermRange): string | undefined {
  if (range.terms.has(value)) return value;
  let term: string | undefined;
  if (value.startsWith(`${LIS}membership/`)) term = value.slice(`${LIS}membership/`.length);
  else if (value.startsWith(`${LIS}membership#`)) term = value.slice(`${LIS}membership#`.length);
  else if (value.startsWith(`${LIS}status#`)) term = value.slice(`${LIS}status#`.length);
  else term = CALIPER_VOCABULARY_IRI.exec(value)?.[1];
  return term !== undefined && range.terms.has(term) ? term : undefined;
}
