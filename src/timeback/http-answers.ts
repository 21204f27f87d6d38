/**
 * Small readings of TimeBack's HTTP answers shared by the token endpoint, the roster
 * client and delivery: how long to wait, the body as JSON, and how to describe a failure to
 * an admin.
 */
import { cutText } from '../errors.ts';

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
    const at = parseHttpDate(text, now);
    if (at === undefined) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
// GMT, the only zone an HTTP-date has; UTC too, which some servers write for it.
/** `Sun, 06 Nov 1994 08:49:37 GMT`, the form senders should use: day, month, year, time. */
const IMF_FIXDATE = /^[a-z]{3},\s*(\d{1,2})\s+([a-z]{3})\s+(\d{4})\s+(\d{2}):(\d{2}):(\d{2})\s+(?:GMT|UTC)$/i;
/** `Sunday, 06-Nov-94 08:49:37 GMT`, obsolete, with a two-digit year. */
const RFC850_DATE = /^[a-z]+,\s*(\d{1,2})-([a-z]{3})-(\d{2})\s+(\d{2}):(\d{2}):(\d{2})\s+(?:GMT|UTC)$/i;
/** `Sun Nov  6 08:49:37 1994`, obsolete (C's asctime): no zone written, and GMT all the same. */
const ASCTIME_DATE = /^[a-z]{3}\s+([a-z]{3})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})\s+(\d{4})$/i;

/**
 * An HTTP-date in any of its three forms (RFC 9110 §5.6.7: a recipient must take all three),
 * as milliseconds since the epoch, or undefined. Every form is GMT, the asctime one included
 * though it names no zone: Date.parse read that one in the gateway's own zone, hours off in a
 * school outside UTC, and read a date without its zone (not an HTTP-date) likewise. A date
 * that is no day of the calendar (31 Feb) is not read either.
 */
export function parseHttpDate(text: string, now: number): number | undefined {
  let parts: [day: string, month: string, year: number, hour: string, minute: string, second: string];
  let m: RegExpExecArray | null;
  if ((m = IMF_FIXDATE.exec(text))) {
    parts = [m[1]!, m[2]!, Number(m[3]), m[4]!, m[5]!, m[6]!];
  } else if ((m = RFC850_DATE.exec(text))) {
    // A two-digit year more than 50 years ahead is the latest such year in the past (§5.6.7).
    const thisYear = new Date(now).getUTCFullYear();
    let year = thisYear - (thisYear % 100) + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    parts = [m[1]!, m[2]!, year, m[4]!, m[5]!, m[6]!];
  } else if ((m = ASCTIME_DATE.exec(text))) {
    parts = [m[2]!, m[1]!, Number(m[6]), m[3]!, m[4]!, m[5]!];
  } else {
    return undefined;
  }
  const [day, monthName, year, hour, minute, second] = parts;
  const month = MONTHS.indexOf(monthName.toLowerCase());
  if (month < 0 || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 60) return undefined;
  // A leap second (60) is read as the second before it.
  const at = new Date(Date.UTC(year, month, Number(day), Number(hour), Number(minute), Math.min(Number(second), 59)));
  // Date.UTC rolls 31 Feb over into March: only a date that stays itself is one.
  return at.getUTCMonth() === month && at.getUTCDate() === Number(day) ? at.getTime() : undefined;
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
  return line.length > max ? `${cutText(line, max)}…` : line;
}
