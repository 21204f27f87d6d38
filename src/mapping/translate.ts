/**
 * Translates Caliper 1.1 events from Learn into Caliper 1.2 events for TimeBack. One code
 * path for the translate worker, `caliper-gateway translate`, the fixtures and the benchmark.
 *
 * A batch goes through three phases so identity lookups are shared and never serialised:
 *   1. per event: check it, find the rule, find the student's Learn id (all synchronous);
 *   2. resolve each distinct student once, concurrently, through the IdentityResolver;
 *   3. per event: render the rule's output, set what the gateway owns, check personal data,
 *      validate against Caliper 1.2.
 */
import type { IdentityAnswer, IdentityResolver } from '../identity/identity-resolver.ts';
import { describeZodError, shown } from '../errors.ts';
import { checkEvent, EventSchema, type EventCheck, type InboundEvent } from '../ingest/envelope-schema.ts';
import { isRecord } from '../is-record.ts';
import { AUTO_ATTACH_SESSION, CALIPER_1_2_CONTEXT } from './caliper-vocabulary.ts';
import { validateCaliperEvent } from './caliper-validator.ts';
import { toCaliperDateTime } from './date-time.ts';
import { outputEventId } from './event-ids.ts';
import type { Variables } from './paths.ts';
import { findPii, MAX_PII_DEPTH } from './pii-guard.ts';
import type { CompiledRule, RuleSet } from './rule-set.ts';

export interface TranslateItem {
  /** The envelope's `sensor` (Learn's site id). */
  sensor: string;
  /** One element of the envelope's `data`, as parsed from JSON. */
  event: unknown;
  /**
   * Its position in the envelope's `data`, so a message about an invalid event points into the
   * envelope (`data[3].eventTime: …`); leave it out when there is no envelope to point into.
   */
  index?: number;
}

export interface TranslateContext {
  rules: RuleSet;
  identity: IdentityResolver;
  /**
   * TIMEBACK_APP_ID (a lowercase UUID): every event's edApp is `urn:uuid:<appId>`. Without it
   * an event that would be sent waits (`untilConfigured`); the others settle as usual.
   */
  appId: string | undefined;
}

export const SKIP_REASONS = ['no-rule', 'rule-skips', 'no-user-id', 'user-not-in-timeback'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];
export const REJECT_REASONS = ['invalid-event', 'invalid-output'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** A Caliper 1.2 event ready to POST. */
export type OutputEvent = Record<string, unknown> & { id: string };

/** What translation decided for one event (not deliver/outcome.ts's Outcome, what a TimeBack answer means). */
export type TranslateOutcome =
  | { fate: 'deliver'; rule: string; studentId: string; platformId: string; event: OutputEvent; outputId: string }
  | { fate: 'skipped'; reason: SkipReason; detail: string; rule?: string; studentId?: string }
  | { fate: 'rejected'; reason: RejectReason; detail: string; rule?: string; studentId?: string }
  /** The roster could not answer: translate again later (`held`, `untilConfigured`: see IdentityAnswer). */
  | { fate: 'retry'; detail: string; retryAfterMs?: number; held?: boolean; untilConfigured?: boolean; rule: string; studentId: string };

export type RetryOutcome = Extract<TranslateOutcome, { fate: 'retry' }>;

/** Why an event that would be sent waits while TIMEBACK_APP_ID is unset. */
export const WAITING_FOR_APP_ID = 'TIMEBACK_APP_ID is not set (every event names the app as edApp)';

interface Matched {
  at: number;
  sensor: string;
  event: InboundEvent;
  /** The event's eventTime as Caliper writes it. */
  eventTime: string;
  rule: CompiledRule;
  studentId: string;
}

export async function translate(items: readonly TranslateItem[], context: TranslateContext): Promise<TranslateOutcome[]> {
  const outcomes: TranslateOutcome[] = new Array(items.length);
  const matched: Matched[] = [];

  for (let at = 0; at < items.length; at++) {
    const item = items[at]!;
    const result = matchEvent(item, context.rules);
    if ('fate' in result) outcomes[at] = result;
    else matched.push({ at, sensor: item.sensor, ...result });
  }

  const answers = await resolveStudents(matched, context.identity);

  const edApp = context.appId === undefined ? undefined : `urn:uuid:${context.appId}`;
  for (const { at, sensor, event, eventTime, rule, studentId } of matched) {
    const answer = answers.get(studentId)!;
    if (answer.status === 'found') {
      outcomes[at] =
        edApp === undefined
          ? { fate: 'retry', detail: WAITING_FOR_APP_ID, held: true, untilConfigured: true, rule: rule.id, studentId }
          : render(event, eventTime, rule, studentId, answer.platformId, sensor, edApp);
    } else if (answer.status === 'not-found') {
      outcomes[at] = { fate: 'skipped', reason: 'user-not-in-timeback', detail: answer.detail, rule: rule.id, studentId };
    } else {
      const retry: RetryOutcome = { fate: 'retry', detail: answer.detail, rule: rule.id, studentId };
      if (answer.retryAfterMs !== undefined) retry.retryAfterMs = answer.retryAfterMs;
      if (answer.held) retry.held = true;
      // Without the app id the event could not be sent anyway: a failed lookup must not start
      // its retry budget before the gateway is configured.
      if (answer.untilConfigured || edApp === undefined) {
        retry.held = true;
        retry.untilConfigured = true;
      }
      // `status` shows this detail: it names every setting still missing, not only the first.
      if (edApp === undefined) retry.detail = `${answer.detail}; ${WAITING_FOR_APP_ID}`;
      outcomes[at] = retry;
    }
  }
  return outcomes;
}

/** Phase 1 for one event: a finished outcome, or the rule and student to go on with. */
function matchEvent(item: TranslateItem, rules: RuleSet): TranslateOutcome | Omit<Matched, 'at' | 'sensor'> {
  const check = checkInput(item);
  if (!check.ok) return { fate: 'rejected', reason: 'invalid-event', detail: check.message };
  const event = check.event;
  // Intake checks the form only (its regex and Date.parse take 30 February and 24:00): an
  // instant Caliper cannot write is Learn's mistake, not the rule's, so it is no invalid-output.
  const eventTime = toCaliperDateTime(event.eventTime);
  if (eventTime === undefined) {
    const at = item.index === undefined ? 'eventTime' : `data[${item.index}].eventTime`;
    return { fate: 'rejected', reason: 'invalid-event', detail: `${at}: ${IMPOSSIBLE_EVENT_TIME}` };
  }
  const rule = rules.find(event.type, event.action, event);
  if (!rule) return { fate: 'skipped', reason: 'no-rule', detail: `no rule matches ${shown(event.type)} ${shown(event.action)}` };
  if (rule.skip !== undefined) return { fate: 'skipped', reason: 'rule-skips', detail: rule.skip, rule: rule.id };
  // Before the student is looked up: a value the rule requires that the event does not give
  // (a score that is not a number) is Learn's mistake, whoever the student is.
  for (const required of rule.output?.required ?? []) {
    const problem = required.problem(event, item.index === undefined ? undefined : `data[${item.index}]`);
    if (problem !== undefined) {
      return { fate: 'rejected', reason: 'invalid-event', detail: `${problem} (rule ${rule.id} requires it for ${required.at})`, rule: rule.id };
    }
  }
  const studentId = findStudent(event, rule);
  if (studentId === undefined) {
    return {
      fate: 'skipped',
      reason: 'no-user-id',
      detail: `no student id at ${rule.student.map((path) => path.source).join(' or ')}`,
      rule: rule.id,
    };
  }
  return { event, eventTime, rule, studentId };
}

const IMPOSSIBLE_EVENT_TIME = 'not a date and time that exists (such as 30 February or 24:00), or outside the years 0000-9999 in UTC';

/** The intake check, with the envelope position in its message when there is one. */
function checkInput(item: TranslateItem): EventCheck {
  if (item.index !== undefined) return checkEvent(item.event, item.index);
  const value = item.event;
  if (!isRecord(value)) {
    return { ok: false, message: 'expected an event object', event: value };
  }
  const result = EventSchema.safeParse(value);
  return result.success ? { ok: true, event: value as InboundEvent } : { ok: false, message: describeZodError(result.error), event: value };
}

const NO_VARIABLES: Variables = Object.freeze({ student: '', platformId: '', edApp: '', sensor: '', sourceId: '' });

/** The first student path holding non-empty text (trimmed: Learn has sent ids ending in newlines). */
function findStudent(event: InboundEvent, rule: CompiledRule): string | undefined {
  for (const path of rule.student) {
    const value = path.read(event, NO_VARIABLES);
    if (typeof value === 'string') {
      const id = value.trim();
      if (id !== '') return id;
    }
  }
  return undefined;
}

/** Phase 2: each distinct student once, all at the same time. A resolver that throws counts as unavailable. */
async function resolveStudents(matched: readonly Matched[], identity: IdentityResolver): Promise<Map<string, IdentityAnswer>> {
  const pending = new Map<string, Promise<IdentityAnswer>>();
  for (const { studentId } of matched) {
    if (!pending.has(studentId)) {
      pending.set(
        studentId,
        identity.resolve(studentId).catch(
          (err: unknown): IdentityAnswer => ({ status: 'unavailable', detail: `identity lookup failed: ${(err as Error)?.message ?? String(err)}` }),
        ),
      );
    }
  }
  const answers = new Map<string, IdentityAnswer>();
  await Promise.all([...pending].map(async ([studentId, answer]) => answers.set(studentId, await answer)));
  return answers;
}

const NOTHING_COMPUTED = "the rule computes none for this event (no path gave a value its map knows, and it has no default)";

/** Phase 3 for one event: build, complete, check. */
function render(event: InboundEvent, eventTime: string, rule: CompiledRule, studentId: string, platformId: string, sensor: string, edApp: string): TranslateOutcome {
  const output = rule.output!;
  const sourceId = event.id.trim();
  const student = `urn:uuid:${platformId}`;
  const vars: Variables = { student, platformId, edApp, sensor, sourceId, hashed: new Map() };
  const outputId = outputEventId(sensor, sourceId, event.eventTime, rule.id);

  const built: Record<string, unknown> = {};
  let action: unknown;
  let profile: unknown;
  try {
    action = output.action(event, vars);
    profile = output.profile(event, vars);
    for (const [name, fn] of output.properties) {
      const value = fn(event, vars);
      if (value !== undefined) built[name] = value;
    }
  } catch (err) {
    return invalidOutput(rule, studentId, `could not build the event: ${(err as Error).message}`);
  }
  if (action === undefined) return invalidOutput(rule, studentId, `action: ${NOTHING_COMPUTED}`);
  if (profile === undefined) return invalidOutput(rule, studentId, `profile: ${NOTHING_COMPUTED}`);

  // The gateway owns these; the order is the one Caliper's own examples use.
  const produced: OutputEvent = { '@context': CALIPER_1_2_CONTEXT, id: outputId, type: output.type, profile };
  const actor = output.setsActor ? built.actor : student;
  if (actor !== undefined) produced.actor = actor;
  produced.action = action;
  assign(produced, 'object', built.object);
  assign(produced, 'generated', built.generated);
  assign(produced, 'target', built.target);
  assign(produced, 'referrer', built.referrer);
  produced.eventTime = eventTime;
  produced.edApp = edApp;
  assign(produced, 'group', built.group);
  assign(produced, 'membership', built.membership);
  produced.session = AUTO_ATTACH_SESSION;
  assign(produced, 'federatedSession', built.federatedSession);
  assign(produced, 'extensions', built.extensions);

  const pii = findPii(produced, rule.allowPii, { event, studentId, own: [student, platformId], constants: output.constants, notPersonal: [sensor], hashed: vars.hashed });
  if (pii && 'tooDeep' in pii) {
    return invalidOutput(rule, studentId, `${pii.path}: nests too deeply to be checked for personal data (more than ${MAX_PII_DEPTH} levels)`);
  }
  if (pii) {
    return invalidOutput(
      rule,
      studentId,
      `${pii.path}: carries personal data (${pii.category}${pii.source === undefined ? '' : `, as ${pii.source} in the input`}); list "${pii.category}" in the rule's allowPii to send it`,
    );
  }
  const validation = validateCaliperEvent(produced, { student, edApp });
  if (!validation.ok) return invalidOutput(rule, studentId, `${validation.path}: ${validation.message}`);
  return { fate: 'deliver', rule: rule.id, studentId, platformId, event: produced, outputId };
}

function assign(target: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) target[key] = value;
}

function invalidOutput(rule: CompiledRule, studentId: string, problem: string): TranslateOutcome {
  return { fate: 'rejected', reason: 'invalid-output', detail: `rule ${rule.id}: ${problem}`, rule: rule.id, studentId };
}
