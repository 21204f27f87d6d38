/**
 * Small readings of TimeBack's HTTP answers shared by the token endpoint, the roster
 * client and delivery: how long to wait, the body as JSON, and how to describe a failure to
 * an admin.
 */

/** Longest Retry-After we obey: a misconfigured proxy must not park the gateway for days. */
const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/**
 * A Retry-After header (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) in milliseconds
 * from `now`, or undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const header = Array.isArray(value) ? value[0] : value;
  if (header === undefined) return undefined;
  const text = header.trim();
  if (text === '') return undefined;
  let ms: number;
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    // An HTTP-date always names its month; Date.parse alone would take "-5" or "1.5" as dates.
    if (!/[A-Za-z]{3}/.test(text)) return undefined;
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/** Why a request never got an answer, in a few words (timeouts and refusals named plainly). */
export function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'no answer before the timeout';
  const code = (err as { code?: unknown }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return 'no answer before the timeout';
  }
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return 'the answer was larger than expected';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection closed before an answer';
  return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
}

/** A response body as JSON, or undefined when it is not JSON (a proxy's HTML error page). */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The first part of a response body, on one line, for an error message (never a whole page). */
export function excerpt(body: string, max = 200): string {
  const line = body.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
