/**
 * The one error type that knows its HTTP status. `app.onError` renders it as
 * `{ "error": { "code", "message" } }`, and in the same shape a ZodError (400) and Hono's own
 * HTTPException; anything else becomes a 500 without details.
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { jsonText } from './json-text.ts';

export class GatewayError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, { cause: options?.cause });
    this.name = 'GatewayError';
    this.headers = options?.headers;
  }

  readonly headers: Record<string, string> | undefined;

  toJSON() {
    return { error: { code: this.code, message: this.message } };
  }
}

// Messages name a place in the request; they never echo it. A path thousands of levels deep,
// or a property name of megabytes, is shown by its ends.
const PATH_HEAD = 3;
const PATH_TAIL = 5;
const MAX_KEY_CHARS = 60;
/** How much of a value from the request a message (or a log line) shows. */
export const MAX_QUOTED_CHARS = 100;

/**
 * Renders a zod path the way people write it: `data[3].actor.extensions["bb:user.id"]`.
 * A very deep path keeps its first and last steps (`a.a.a … 9992 more … a.a.a.a.a`).
 */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length > PATH_HEAD + PATH_TAIL + 1) {
    const omitted = path.length - PATH_HEAD - PATH_TAIL;
    return `${formatSteps(path.slice(0, PATH_HEAD))} … ${omitted} more … ${formatSteps(path.slice(-PATH_TAIL))}`;
  }
  return formatSteps(path) || '(root)';
}

function formatSteps(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && key.length <= MAX_KEY_CHARS && /^[A-Za-z_$@][\w$@]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${quote(String(key), MAX_KEY_CHARS)}]`;
  }
  return out;
}

/** A value from the request, quoted for a message: JSON-escaped and cut to `max` characters. */
export function quote(value: string, max = MAX_QUOTED_CHARS): string {
  return value.length <= max ? jsonText(value) : `${jsonText(cutText(value, max))}… (${value.length} characters)`;
}

/**
 * Any value from the input or a rule, for a message: text as `quote` shows it, anything else
 * (a number, an object a rule put where text belongs) as its JSON text, escaped and cut alike.
 */
export function quoteValue(value: unknown, max = MAX_QUOTED_CHARS): string {
  if (typeof value === 'string') return quote(value, max);
  if (value === undefined) return 'undefined';
  const text = jsonText(value);
  if (text.length <= max) return text;
  return `${cutText(text, max)}… (${text.length} characters of JSON)`;
}

/**
 * The first `max` UTF-16 units of `text`, or one fewer when the last would be the first half
 * of a surrogate pair (an emoji): a lone half is written out as U+FFFD.
 */
export function cutText(text: string, max: number): string {
  return /[\ud800-\udbff]/.test(text.charAt(max - 1)) ? text.slice(0, max - 1) : text.slice(0, max);
}

/**
 * A value from the request as a message shows it: as sent when it is short printable ASCII
 * without spaces (an IRI, an id, an action), else quoted and cut like `quote`, so no line
 * break or escape sequence of the sender's reaches a terminal or a log as written.
 */
export function shown(value: string): string {
  return value.length <= MAX_QUOTED_CHARS && /^[\x21-\x7e]+$/.test(value) ? value : quote(value);
}

/** How many of the other problems' fields a message names. */
const MORE_PATHS = 3;

/**
 * The first issue of a zod error as one sentence that names the failing field, and the fields
 * of the others: a sender told only of the first fixes it, resends, and hears of the next.
 */
export function describeZodError(error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = []): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid input';
  const others = error.issues.length - 1;
  const at = [...new Set(error.issues.slice(1).map((other) => formatPath([...prefix, ...issuePath(other)])))];
  const listed = at.length > MORE_PATHS ? `${at.slice(0, MORE_PATHS).join(', ')}, …` : at.join(', ');
  const more = others > 0 ? ` (and ${others} more problem${others > 1 ? 's' : ''}, at ${listed})` : '';
  return `${formatPath([...prefix, ...issuePath(issue)])}: ${issue.message}${more}`;
}

/** Where an issue is: an unknown key is named where it is, not as a problem of the object around it. */
function issuePath(issue: z.core.$ZodIssue): PropertyKey[] {
  return issue.code === 'unrecognized_keys' ? [...issue.path, ...issue.keys.slice(0, 1)] : issue.path;
}

/**
 * The error option of a strict query schema (`z.strictObject(shape, { error: unknownParameter(…) })`).
 * An admin route that ignored a mistyped parameter would run without the filter that was
 * meant: `DELETE /admin/roster-cache?outcom=not-found` cleared every entry, and
 * `GET /admin/events?status=dead` listed every event.
 */
export function unknownParameter(known: readonly string[]) {
  return (issue: { code?: string }) =>
    issue.code === 'unrecognized_keys' ? `unknown parameter; use ${known.join(', ')}` : undefined;
}

/** What went wrong, in words, whatever was thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function badRequest(code: string, message: string, cause?: unknown): GatewayError {
  return new GatewayError(400, code, message, { cause });
}
