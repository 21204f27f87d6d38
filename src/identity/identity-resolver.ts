/**
 * Who is this student in TimeBack? The contract between the mapping stage (which knows
 * where the student's Learn id is) and whatever answers it: the cached roster resolver in
 * production, a static users file in `translate --users` and in the fixtures.
 */
import { shown } from '../errors.ts';

export type IdentityAnswer =
  /** `platformId` is the TimeBack user's sourcedId, a lowercase UUID. */
  | { status: 'found'; platformId: string }
  /** The roster has no such user, or more than one (`detail` says which). Retrying will not help. */
  | { status: 'not-found'; detail: string }
  /**
   * The roster could not answer (unreachable, 5xx, 429, credentials refused). Retry later.
   * `held`: what stopped it is the gateway's set-up (credentials unset, or refused by the
   * token endpoint), not the roster or the student, so the event waits without spending its
   * retry budget, as delivery's events do. `untilConfigured`: it is a setting that is not
   * there at all (credentials unset), which only a restart with it can change.
   */
  | { status: 'unavailable'; detail: string; retryAfterMs?: number; held?: boolean; untilConfigured?: boolean };

export interface IdentityResolver {
  /** `externalId` is Learn's `bb:user.externalId` (the user's batch_uid), trimmed. */
  resolve(externalId: string): Promise<IdentityAnswer>;
  /**
   * Why no lookup can be made at all yet (credentials not set), if so. Translation still
   * settles what needs no student (no rule, a rule that skips, a malformed event); the rest
   * waits, as it does for TIMEBACK_APP_ID, without running out of retries (DELIVERY_MAX_AGE)
   * before the gateway was ever able to try.
   */
  waitingFor?(): string | undefined;
}

/** Learn's batch_uid is at most 256 characters; anything far longer is not an id worth a request. */
export const MAX_EXTERNAL_ID_LENGTH = 1024;

/**
 * The id a resolver looks up, trimmed as the gateway's resolver trims it (Learn has sent ids
 * ending in newlines), or the answer for one no student can have. The gateway's resolver,
 * `translate --users` and the fixture runner (check-mappings) all start here, so a dry run or a
 * fixture answers for an id as the gateway does.
 */
export function checkExternalId(raw: string): { ok: true; externalId: string } | { ok: false; answer: IdentityAnswer } {
  const externalId = raw.trim();
  if (externalId === '') return { ok: false, answer: { status: 'not-found', detail: 'the Learn user id is empty' } };
  if (externalId.length > MAX_EXTERNAL_ID_LENGTH) {
    return { ok: false, answer: { status: 'not-found', detail: `the Learn user id is longer than ${MAX_EXTERNAL_ID_LENGTH} characters` } };
  }
  return { ok: true, externalId };
}

/**
 * A Learn id written as a key of a file that pins or lists students (user-overrides.yaml,
 * `translate --users`, a fixture's users.json), read as checkExternalId reads the id it is
 * matched with: trimmed, so a padded key still matches; an empty or overlong one is refused, as
 * it could never match. The problem names no id: these messages can reach the log.
 */
export function readExternalIdKey(written: string): ReadExternalId {
  return readExternalId(written, 'this key has', 'so it would never match');
}

/**
 * A Learn id an admin names (`roster-cache evict`, `DELETE /admin/roster-cache/<id>`), read as
 * checkExternalId reads the ids the cache is filled with: trimmed, so a pasted `" jstudent9\n"`
 * finds jstudent9; an empty or overlong one is refused, as no entry can have it. The problem
 * names no id, as readExternalIdKey's does.
 */
export function readAdminExternalId(typed: string): ReadExternalId {
  return readExternalId(typed, 'this one has', 'so it is never cached');
}

type ReadExternalId = { ok: true; externalId: string } | { ok: false; problem: string };

function readExternalId(written: string, counted: string, consequence: string): ReadExternalId {
  const externalId = written.trim();
  if (externalId === '') return { ok: false, problem: 'a Learn externalId must not be empty' };
  if (externalId.length > MAX_EXTERNAL_ID_LENGTH) {
    return {
      ok: false,
      problem: `a Learn externalId is at most ${MAX_EXTERNAL_ID_LENGTH} characters (${counted} ${externalId.length}): the gateway takes a longer one as no student, ${consequence}`,
    };
  }
  return { ok: true, externalId };
}

/**
 * A fixed `{ externalId: platformId }` table that stands in for the whole roster (a fixture's
 * users.json, `translate --users`). Looked up through checkExternalId as the gateway looks an
 * id up, so an id the gateway takes as no student is none here either, listed or not.
 */
export function staticIdentity(users: Readonly<Record<string, string>>): IdentityResolver {
  const table = new Map(Object.entries(users));
  return {
    async resolve(rawExternalId) {
      const checked = checkExternalId(rawExternalId);
      if (!checked.ok) return checked.answer;
      const { externalId } = checked;
      const platformId = table.get(externalId);
      // Named, as the users file names it (translate's stderr and a fixture's expected.json show
      // this), but escaped: an id is the sender's text and may hold an escape sequence.
      return platformId === undefined
        ? { status: 'not-found', detail: `${shown(externalId)} is not in the users file` }
        : { status: 'found', platformId: platformId.toLowerCase() };
    },
  };
}

/**
 * `pinned` (user-overrides.yaml) first, then `roster`, as the running gateway resolves: what
 * `translate --users` needs, as its users file stands in for the roster only.
 */
export function withOverrides(pinned: ReadonlyMap<string, string>, roster: IdentityResolver): IdentityResolver {
  return {
    async resolve(rawExternalId) {
      const checked = checkExternalId(rawExternalId);
      if (!checked.ok) return checked.answer;
      const platformId = pinned.get(checked.externalId);
      return platformId === undefined ? roster.resolve(checked.externalId) : { status: 'found', platformId };
    },
  };
}
