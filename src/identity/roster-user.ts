/**
 * What a roster answer says about a Learn user: the user and list shapes read from TimeBack
 * (leniently, so one odd field does not make every lookup unreadable), whether a listed user
 * really matches the value looked up, whether they are still enrolled, and whether they could
 * be a student at all. roster-client.ts asks; this decides which of the users it gets back,
 * if any, is the student.
 */
import { z } from 'zod';
import type { RosterStrategy } from '../config.ts';
import type { Logger } from '../log.ts';
import { isUuid } from '../mapping/iri.ts';
import type { RosterLookup } from './roster-client.ts';

export const RosterUserSchema = z.looseObject({
  sourcedId: z.string().min(1),
  status: z.string().nullish(),
  identifier: z.string().nullish(),
  username: z.string().nullish(),
  email: z.string().nullish(),
  // Read leniently: a role list we cannot read says nothing, and the user may be a student.
  roles: z.array(z.looseObject({ role: z.string().nullish() })).nullish().catch(undefined),
  // OneRoster 1.1 (whose conventions TimeBack's roster documents) gives each user one `role`.
  role: z.string().nullish().catch(undefined),
});
export type RosterUser = z.infer<typeof RosterUserSchema>;

/**
 * How many users match, as a list gives it. Only `users` must be there: a count in another
 * form (a number written as text, null) is not read, and lookups go on without it (a full
 * page then stands for "maybe more"), rather than every lookup failing as unreadable.
 */
const ListTotal = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/).transform(Number)])
  .optional()
  .catch(undefined);

/** Both list shapes seen: `{ users, total }` and `{ users, pagination: { total } }`. */
export const UserListSchema = z.looseObject({
  users: z.array(z.unknown()),
  total: ListTotal,
  pagination: z.looseObject({ total: ListTotal }).optional().catch(undefined),
});

/**
 * OneRoster's roles for people who are not learners. A user with roles, all of them among
 * these, is a teacher, a parent or staff: their activity is not a student's, and a shared
 * address must not make them one. Any other role (student, or a value this list does not
 * know) leaves the user a possible student.
 */
const NOT_A_STUDENT = new Set(['administrator', 'aide', 'guardian', 'parent', 'proctor', 'relative', 'teacher']);

function roleNames(user: RosterUser): string[] {
  const roles = (user.roles ?? []).map((entry) => entry.role);
  if (user.role) roles.push(user.role);
  return [...new Set(roles.map((role) => role?.trim().toLowerCase() ?? ''))];
}

export function couldBeStudent(user: RosterUser): boolean {
  const roles = roleNames(user);
  return roles.length === 0 || roles.some((role) => !NOT_A_STUDENT.has(role));
}

export function notAStudent(user: RosterUser): RosterLookup {
  const roles = roleNames(user).join(', ');
  return { outcome: 'not-found', detail: `the matching TimeBack user is not a student (${roles}); pin them in user-overrides.yaml to credit them anyway` };
}

/**
 * OneRoster soft-deletes users by status (`tobedeleted`); 1.0's `inactive`, which servers
 * still send, says the same of a student who left. A departed student must not be credited.
 * Compared as words, not bytes: a server writing `ToBeDeleted` means the same.
 */
const DEPARTED = new Set(['tobedeleted', 'inactive']);

export function isLive(user: RosterUser): boolean {
  return !DEPARTED.has(user.status?.trim().toLowerCase() ?? '');
}

export function sameValue(actual: string | null | undefined, wanted: string): boolean {
  // OneRoster servers compare case-insensitively (e-mail addresses especially).
  return typeof actual === 'string' && actual.trim().toLowerCase() === wanted.toLowerCase();
}

/** A live user with a UUID sourcedId is an answer; anything less is not. */
export function decide(user: RosterUser | undefined, strategy: RosterStrategy, log: Logger): RosterLookup {
  if (!user) return { outcome: 'not-found' };
  if (!isUuid(user.sourcedId)) {
    log.warn(
      { strategy },
      'The matching TimeBack user has a sourcedId that is not a UUID, so it cannot be a Caliper actor; treated as not found',
    );
    return { outcome: 'not-found', detail: 'the matching TimeBack user has no UUID platform id' };
  }
  return { outcome: 'found', platformId: user.sourcedId.toLowerCase() };
}
