/**
 * The one error type that knows its HTTP status. `app.onError` renders it as
 * `{ "error": { "code", "message" } }`; anything else becomes a 500 without details.
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';

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

/** Renders a zod path the way people write it: `data[3].actor.extensions["bb:user.id"]`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$@][\w$@]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out || '(root)';
}

/** The first issue of a zod error as one sentence that names the failing field. */
export function describeZodError(error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = []): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid input';
  const where = formatPath([...prefix, ...issue.path]);
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem${error.issues.length > 2 ? 's' : ''})` : '';
  return `${where}: ${issue.message}${more}`;
}

export function badRequest(code: string, message: string, cause?: unknown): GatewayError {
  return new GatewayError(400, code, message, { cause });
}
