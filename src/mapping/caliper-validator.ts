/**
 * Checks a produced event against Caliper 1.2 and what TimeBack accepts, before it may be
 * sent: the event type with an action it allows and a profile that carries it, required and
 * conditionally required properties, the type each entity-valued property expects, entities
 * as IRIs or `{ id, type }` objects, only IRIs TimeBack accepts, strict date-times, ISO 8601
 * durations, and on each entity only the Caliper 1.2 properties of its type (custom data
 * belongs in `extensions`).
 */
import { z } from 'zod';
import { closestKey, didYouMean } from '../closest-name.ts';
import { formatPath, quoteValue } from '../errors.ts';
import { termRangeOf, type TermRange } from './caliper-terms.ts';
import {
  ACTIONS,
  AUTO_ATTACH_SESSION,
  BOOLEAN_PROPERTIES,
  CALIPER_1_2_CONTEXT,
  DATE_TIME_PROPERTIES,
  DURATION_PROPERTIES,
  ENTITY_PROPERTIES,
  ENTITY_TYPE_PROPERTIES,
  ENTITY_TYPES,
  ENTITY_VALUED_PROPERTIES,
  EVENTS,
  EVENT_TYPES,
  ID_LESS_TYPES,
  MAP_PROPERTIES,
  NUMBER_PROPERTIES,
  PROFILES,
  TEXT_LIST_PROPERTIES,
  TEXT_PROPERTIES,
  isAnyOf,
  sessionEventRanges,
  type EventDefinition,
  type EventType,
} from './caliper-vocabulary.ts';
import { isRecord } from '../is-record.ts';
import { CALIPER_DATE_TIME, CALIPER_DURATION, isCaliperDateTime } from './date-time.ts';
import { isTimebackIri, isUrnUuid } from './iri.ts';

type Path = PropertyKey[];
type Report = (path: Path, message: string) => void;

const IRI_FORMS = 'urn:uuid: in lowercase, https://, or urn:email:';
const MAX_DEPTH = 32;
const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Walks entities with one shared path stack (pushed and popped, copied only when something is
 * reported): every produced event goes through here, so the walk allocates nothing per property.
 */
class EntityWalk {
  readonly path: PropertyKey[] = [];
  constructor(private readonly report: Report) {}

  private fail(message: string, last?: PropertyKey): void {
    this.report(last === undefined ? [...this.path] : [...this.path, last], message);
  }

  entityRef(value: unknown, depth: number): void {
    if (typeof value === 'string') {
      if (!isTimebackIri(value)) this.fail(`${quoteValue(value)} is not an IRI TimeBack accepts (${IRI_FORMS})`);
      return;
    }
    if (!isRecord(value)) {
      this.fail('expected an entity (an object with id and type) or its IRI');
      return;
    }
    if (depth > MAX_DEPTH) {
      this.fail('entities nest too deeply');
      return;
    }
    const entity = value as Record<string, unknown>;
    const type = entity.type;
    if (typeof type !== 'string' || !ENTITY_TYPES.has(type)) {
      this.fail(type === undefined ? 'an entity needs a type' : `${quoteValue(type)} is not a Caliper 1.2 entity type`, 'type');
      return;
    }
    if (entity.id === undefined) {
      if (!ID_LESS_TYPES.has(type)) this.fail(`a ${type} needs an id`, 'id');
    } else if (typeof entity.id !== 'string' || !isTimebackIri(entity.id)) {
      this.fail(`${quoteValue(entity.id)} is not an IRI TimeBack accepts (${IRI_FORMS})`, 'id');
    }
    const allowed = ENTITY_TYPE_PROPERTIES.get(type)!;
    for (const key in entity) {
      if (key === 'id' || key === 'type' || !hasOwn.call(entity, key)) continue;
      const child = entity[key];
      if (key === 'extensions') {
        if (!isRecord(child)) this.fail('extensions must be an object', key);
      } else if (!allowed.has(key)) {
        // A rule's misspelt key (`nmae`) is no custom data: name the property it stands for.
        const meant = closestKey(key, [...allowed, 'extensions']);
        const hint = meant === undefined ? '' : `; ${didYouMean(key, meant)}`;
        this.fail(
          ENTITY_PROPERTIES.has(key)
            ? `not a property of a ${type} in Caliper 1.2${hint} (custom data belongs in extensions)`
            : `not a Caliper 1.2 property of an entity${hint} (custom data belongs in extensions)`,
          key,
        );
      } else {
        this.path.push(key);
        this.property(key, child, depth + 1);
        const range = termRangeOf(type, key);
        if (range) this.terms(child, range);
        this.path.pop();
      }
    }
  }

  /** Text (or a list of it) that must be terms of `range`; other kinds were reported by property(). */
  private terms(value: unknown, range: TermRange): void {
    if (typeof value === 'string') {
      if (!range.terms.has(value)) this.fail(`${quoteValue(value)} is not ${range.what}`);
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item === 'string' && !range.terms.has(item)) this.fail(`${quoteValue(item)} is not ${range.what}`, i);
      }
    }
  }

  private property(key: string, value: unknown, depth: number): void {
    if (ENTITY_VALUED_PROPERTIES.has(key)) {
      if (!Array.isArray(value)) {
        this.entityRef(value, depth);
        return;
      }
      for (let i = 0; i < value.length; i++) {
        this.path.push(i);
        this.entityRef(value[i], depth);
        this.path.pop();
      }
    } else if (DATE_TIME_PROPERTIES.has(key)) {
      if (!isCaliperDateTime(value)) this.fail(dateTimeProblem(value));
    } else if (DURATION_PROPERTIES.has(key)) {
      if (typeof value !== 'string' || !CALIPER_DURATION.test(value)) this.fail(`${quoteValue(value)} is not an ISO 8601 duration like PT30M54S`);
    } else if (NUMBER_PROPERTIES.has(key)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) this.fail('expected a number');
    } else if (BOOLEAN_PROPERTIES.has(key)) {
      if (typeof value !== 'boolean') this.fail('expected true or false');
    } else if (TEXT_PROPERTIES.has(key)) {
      if (typeof value !== 'string') this.fail('expected text');
    } else if (TEXT_LIST_PROPERTIES.has(key)) {
      if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) this.fail('expected a list of text');
    } else if (MAP_PROPERTIES.has(key)) {
      if (!isRecord(value)) this.fail('expected an object');
    }
  }
}

function dateTimeProblem(value: unknown): string {
  // Told apart: "not written YYYY-…" about 2024-02-30T10:14:55.301Z, which is, sent the rule's
  // author looking for a typo in the form rather than in the date.
  if (typeof value === 'string' && CALIPER_DATE_TIME.test(value)) {
    return `${quoteValue(value)} is written YYYY-MM-DDTHH:mm:ss.SSSZ but names no instant (no such day, or an hour past 23, a minute or second past 59)`;
  }
  return `${quoteValue(value)} is not a date-time written YYYY-MM-DDTHH:mm:ss.SSSZ`;
}

/** The event properties that hold entities, in the order their problems are reported. */
const EVENT_ENTITY_PROPERTIES = [
  'actor', 'object', 'generated', 'target', 'referrer', 'edApp', 'group', 'membership', 'federatedSession',
] as const;

/**
 * Zod checks the event's own fields (context, id, type, profile, action, the allowed keys); one
 * refinement then walks every entity-valued property with a single EntityWalk. (A refinement per
 * property measured twice as slow, and every produced event passes through here.)
 */
const CaliperEventSchema = z
  .strictObject({
    '@context': z.literal(CALIPER_1_2_CONTEXT, { error: `must be ${CALIPER_1_2_CONTEXT}` }),
    id: z.string({ error: 'required: the event id' }).refine(isUrnUuid, 'must be urn:uuid: followed by a UUID, in lowercase'),
    type: z.enum(EVENT_TYPES, { error: (issue) => `${quoteValue(issue.input)} is not a Caliper 1.2 event type` }),
    profile: z.enum(PROFILES, { error: (issue) => `${quoteValue(issue.input)} is not a Caliper 1.2 profile` }),
    actor: z.unknown().optional(),
    action: z.enum(ACTIONS, { error: (issue) => `${quoteValue(issue.input)} is not a Caliper 1.2 action` }),
    object: z.unknown().optional(),
    generated: z.unknown().optional(),
    target: z.unknown().optional(),
    referrer: z.unknown().optional(),
    eventTime: z.unknown().optional(),
    edApp: z.unknown().optional(),
    group: z.unknown().optional(),
    membership: z.unknown().optional(),
    session: z.unknown().optional(),
    federatedSession: z.unknown().optional(),
    extensions: z.record(z.string(), z.unknown(), { error: 'extensions must be an object' }).optional(),
  })
  .superRefine((event, ctx) => {
    const report: Report = (path, message) => ctx.addIssue({ code: 'custom', path, message, input: event });
    if (event.actor === undefined) report(['actor'], 'required: every event has an actor');
    if (event.object === undefined) report(['object'], 'required: every event has an object');
    if (event.eventTime === undefined) report(['eventTime'], 'required: every event has an eventTime');
    else if (!isCaliperDateTime(event.eventTime)) report(['eventTime'], dateTimeProblem(event.eventTime));

    const walk = new EntityWalk(report);
    for (const key of EVENT_ENTITY_PROPERTIES) {
      const value = event[key];
      if (value === undefined) continue;
      walk.path.push(key);
      walk.entityRef(value, 0);
      walk.path.pop();
    }
    if (event.session !== undefined && event.session !== AUTO_ATTACH_SESSION) {
      walk.path.push('session');
      walk.entityRef(event.session, 0);
      walk.path.pop();
    }

    const type = event.type as EventType;
    const definition: EventDefinition = EVENTS[type];
    if (!(definition.actions as readonly string[]).includes(event.action)) {
      report(['action'], `${type} does not allow ${event.action} (allowed: ${definition.actions.join(', ')})`);
    }
    if (!(definition.profiles as readonly string[]).includes(event.profile)) {
      report(['profile'], `${event.profile} does not carry ${type} (use ${definition.profiles.join(' or ')})`);
    }
    const ranges = type === 'SessionEvent' ? { ...definition, ...sessionEventRanges(event.action) } : definition;
    checkRange(event.actor, ['actor'], ranges.actor, type, report);
    checkRange(event.object, ['object'], ranges.object, type, report);
    if (ranges.generated) checkRange(event.generated, ['generated'], ranges.generated, type, report);
    if (ranges.target) checkRange(event.target, ['target'], ranges.target, type, report);
    if (ranges.referrer) checkRange(event.referrer, ['referrer'], ranges.referrer, type, report);
    checkRange(event.edApp, ['edApp'], ['SoftwareApplication'], type, report);
    checkRange(event.group, ['group'], ['Organization'], type, report);
    checkRange(event.membership, ['membership'], ['Membership'], type, report);
    checkRange(event.federatedSession, ['federatedSession'], ['LtiSession'], type, report);
    checkRange(event.session, ['session'], ['Session'], type, report);
    if (type === 'ResourceManagementEvent' && event.action === 'Copied' && event.generated === undefined) {
      report(['generated'], 'required: ResourceManagementEvent Copied needs generated (the copy)');
    }
    if (type === 'ToolLaunchEvent' && event.action === 'Launched' && event.federatedSession === undefined) {
      report(['federatedSession'], "required: ToolLaunchEvent Launched needs federatedSession (the tool's LtiSession)");
    }
  });

/** An entity object in `value` must be one of `expected` (or a subtype); IRIs are not checked further. */
function checkRange(value: unknown, path: Path, expected: readonly string[], eventType: string, report: Report): void {
  if (!isRecord(value)) return;
  const type = value.type;
  if (typeof type === 'string' && ENTITY_TYPES.has(type) && !isAnyOf(type, expected)) {
    report([...path, 'type'], `${eventType} needs ${formatPath(path)} of type ${expected.join(' or ')}, got ${type}`);
  }
}

type CaliperEvent = z.infer<typeof CaliperEventSchema>;

export type ValidationResult = { ok: true } | { ok: false; path: string; message: string };

/**
 * Who an event sent to TimeBack may name as actor and edApp: TimeBack knows a person only by
 * their platform id and this gateway only by its app id, both `urn:uuid:` IRIs.
 */
export interface Parties {
  /** `urn:uuid:<platform id>` of the student the event is about. */
  student: string;
  /** `urn:uuid:<TIMEBACK_APP_ID>`. */
  edApp: string;
}

/**
 * Checks one produced event; on failure names the first offending property path. With `parties`
 * it also checks what TimeBack needs beyond Caliper: the actor is the student (or, where the
 * event type lets software act, this app), edApp is this app, and session is `urn:tag:auto-attach`.
 */
export function validateCaliperEvent(event: unknown, parties?: Parties): ValidationResult {
  const result = CaliperEventSchema.safeParse(event);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
    const message =
      issue.code === 'unrecognized_keys' ? 'not a property of a Caliper 1.2 event (custom data belongs in extensions)' : issue.message;
    return { ok: false, path: formatPath(path), message };
  }
  return parties === undefined ? { ok: true } : checkParties(result.data, parties);
}

/** The id of an entity given as an IRI or as an object. */
function idOf(value: unknown): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>).id : value;
}

// The messages name no id: they reach the log and the admin routes, and a platform id is the student's.
function checkParties(event: CaliperEvent, parties: Parties): ValidationResult {
  const type = event.type as EventType;
  const definition: EventDefinition = EVENTS[type];
  const actorRange = type === 'SessionEvent' ? sessionEventRanges(event.action).actor : definition.actor;
  const personMayAct = isAnyOf('Person', actorRange);
  const appMayAct = isAnyOf('SoftwareApplication', actorRange);
  const actor = idOf(event.actor);
  if (!((personMayAct && actor === parties.student) || (appMayAct && actor === parties.edApp))) {
    const who = personMayAct && appMayAct ? "the student's platform id or this app's id" : personMayAct ? "the student's platform id" : "this app's id";
    return { ok: false, path: 'actor', message: `must be ${who} (urn:uuid:…), the only ${type} actor TimeBack knows` };
  }
  if (idOf(event.edApp) !== parties.edApp) {
    return { ok: false, path: 'edApp', message: "must be this app's id, urn:uuid:<TIMEBACK_APP_ID>" };
  }
  if (event.session !== AUTO_ATTACH_SESSION) {
    return { ok: false, path: 'session', message: `must be ${AUTO_ATTACH_SESSION} (TimeBack attaches the event to the student's session)` };
  }
  return { ok: true };
}
