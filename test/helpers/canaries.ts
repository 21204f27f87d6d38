/**
 * Canaries: unique made-up values put in every field of a Learn event that names a person,
 * their device or their LTI launch, so a test can look for them wherever the gateway writes
 * (logs, HTTP answers, what TimeBack receives, command output) and name any that got out.
 * Each holds `canary-<kind>-<n>-qzx` (`qzx` is never hex, so no id or token holds it by
 * chance); IP addresses, which must look like addresses, come from 198.51.100.0/24.
 */

const CANARY = /canary-([a-z]+)-\d+-qzx(?:@students\.school\.test)?/g;

/** Keys whose text someone wrote (a grader's comment; a note, tag, highlighted passage or search of a student's). */
const WRITTEN_KEYS = new Set(['body', 'comment', 'bookmarkNotes', 'tags', 'selectionText', 'searchTerms']);

export interface Canaries {
  /** A fresh canary of this kind (`buid`, `name`, `text`, …). */
  next(kind: string): string;
  /** A fresh canary e-mail address (`kind` as for next). */
  email(kind: string): string;
  /** A fresh canary IP address. */
  ip(): string;
  /** Every canary found in `text` (also when URL-encoded), each once; empty when none. */
  foundIn(text: string): string[];
  /**
   * A deep copy of a Learn event with a canary in every personal field: batch_uids and
   * people's ids (the same canary for the same id, see `studentIds`), pk1s, people's names,
   * user agents, IP addresses, e-mail addresses, group member lists, LTI launch parameters
   * that name the person or sign the launch, what people wrote (post titles and bodies,
   * comments, notes, tags, highlighted passages, search terms, typed answers), and an extra key
   * in every `extensions`.
   */
  plant(event: unknown): unknown;
  /**
   * The canary planted for each id a rule may read as the student's, by the `plant` calls
   * since it was cleared: a batch_uid (trimmed), or a person's id (another source's events
   * name the student by it).
   */
  readonly studentIds: Map<string, string>;
}

export function canaries(): Canaries {
  let counter = 0;
  let ips = 0;
  const planted = new Set<string>();
  const studentIds = new Map<string, string>();
  const next = (kind: string) => `canary-${kind}-${++counter}-qzx`;
  const email = (kind: string) => `${next(kind)}@students.school.test`;
  const ip = () => {
    ips += 1;
    if (ips > 254) throw new Error('out of canary IP addresses');
    const address = `198.51.100.${ips}`;
    planted.add(address);
    return address;
  };

  const batchUid = (original: string): string => {
    const trimmed = original.trim();
    let canary = studentIds.get(trimmed);
    if (canary === undefined) {
      canary = trimmed.includes('@') ? email('buid') : next('buid');
      studentIds.set(trimmed, canary);
    }
    // Learn's quirks around the id (trailing newlines) stay as sent.
    return original.replace(trimmed, canary);
  };

  /** A person's IRI with its last segment a canary, the same for the same IRI. */
  const personId = (original: string): string => {
    let canary = studentIds.get(original);
    if (canary === undefined) {
      canary = original.replace(/[^/:]+$/, next('user'));
      studentIds.set(original, canary);
    }
    return canary;
  };

  const personal = (key: string, value: string): string | undefined => {
    if (key === 'bb:user.externalId') return batchUid(value);
    if (key === 'bb:user.id') return `_${next('pk')}_1`;
    if (key === 'bb:request.headers.agent') return `Mozilla/5.0 (${next('agent')})`;
    if (key === 'bb:request.headers.ipAddress' || /^\d{1,3}(\.\d{1,3}){3}$/.test(value)) return ip();
    if (key === 'bb:group.users') return JSON.stringify([{ id: '_9_1', batchUid: next('member') }, { id: '_10_1', batchUid: email('member') }]);
    if (key === 'launchUrl') return `${value.split('?')[0]}?lis_person_contact_email_primary=${encodeURIComponent(email('launch'))}`;
    if (/^(lis_person_|oauth_signature$|oauth_consumer_key$|user_id$)/.test(key)) return key.includes('email') ? email('launch') : next('launch');
    if (WRITTEN_KEYS.has(key)) return next('text');
    // (The `@` first: the pattern alone takes quadratic time on a long string without one.)
    if (value.includes('@') && /[^\s@/]+@[^\s@/]+\.[a-z]{2,}/i.test(value)) return email('email');
    // A Learn user's IRI, or a course membership's (which ends in the user's id).
    if (/\/(users|members)\/[^/]+$/.test(value)) return personId(value);
    return undefined;
  };

  const plant = (value: unknown, key = '', inPerson = false): unknown => {
    if (typeof value === 'string') {
      if (inPerson && (key === 'name' || key === 'givenName' || key === 'familyName')) return next('name');
      if (inPerson && (key === 'id' || key === '@id')) return personId(value);
      return personal(key, value) ?? value;
    }
    if (Array.isArray(value)) return value.map((item) => plant(item, key, inPerson));
    if (value === null || typeof value !== 'object') return value;
    const record = value as Record<string, unknown>;
    const type = typeof record.type === 'string' ? record.type : '';
    const isPerson = type === 'Person';
    const out: Record<string, unknown> = {};
    for (const [childKey, child] of Object.entries(record)) out[childKey] = plant(child, childKey, isPerson);
    // What a student writes: a post's title and text, whatever Learn calls the post.
    if (/(Post|Message|Comment)$/.test(type)) {
      out.name = next('text');
      out.body = next('text');
    }
    // A typed answer: the text of each blank, or of each passage selected.
    if (/(FillinBlankResponse|SelectTextResponse)$/.test(type) && Array.isArray(out.values)) out.values = out.values.map(() => next('text'));
    if (key === 'extensions') out['bb:canary'] = next('ext');
    if (isPerson && out.name === undefined) out.name = next('name');
    return out;
  };

  return {
    next,
    email,
    ip,
    plant: (event) => plant(event),
    studentIds,
    foundIn(text) {
      const found = new Set<string>();
      for (const match of decodeLoosely(text).matchAll(CANARY)) found.add(match[0]);
      for (const address of planted) if (text.includes(address)) found.add(address);
      return [...found];
    },
  };
}

/** The kind of a canary found by `foundIn` (`buid`, `name`, …; `ip` for an address). */
export function canaryKind(canary: string): string {
  return /^canary-([a-z]+)-/.exec(canary)?.[1] ?? 'ip';
}

/** `text` with percent-escapes undone where they can be, so an encoded canary is found too. */
function decodeLoosely(text: string): string {
  return text.replace(/(%[0-9a-f]{2})+/gi, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}
