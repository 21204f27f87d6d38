/**
 * Caliper writes every date-time as `YYYY-MM-DDTHH:mm:ss.SSSZ` (UTC, milliseconds, a literal Z).
 * Learn sends ISO 8601 in several precisions and zones; this turns any of them into that form.
 * Durations (`duration`, `currentTime`) are ISO 8601 durations such as `PT30M54S`.
 */

/** The one date-time form Caliper 1.2 (and TimeBack) accept. */
export const CALIPER_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

// Date, time (seconds and fraction optional), and a zone: Z, ±hh, ±hhmm or ±hh:mm.
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$/;

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * An ISO 8601 date-time with a zone as `YYYY-MM-DDTHH:mm:ss.SSSZ` in UTC, or undefined when
 * the text is not one (no zone, impossible date, out-of-range fields). Extra fraction digits
 * are truncated, not rounded, so an instant never moves into the next millisecond.
 */
export function toCaliperDateTime(text: string): string | undefined {
  if (CALIPER_DATE_TIME.test(text)) return isValidCaliperDateTime(text) ? text : undefined;
  const m = ISO_DATE_TIME.exec(text.trim());
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]!) return undefined;
  if (month === 2 && day === 29 && !isLeapYear(year)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const offsetHours = Number(m[10]);
    const offsetMins = m[11] === undefined ? 0 : Number(m[11]);
    if (offsetHours > 23 || offsetMins > 59) return undefined;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, keeps years 0–99 as written.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  date.setTime(date.getTime() - offsetMinutes * 60_000);
  const year4 = date.getUTCFullYear();
  if (year4 < 0 || year4 > 9999) return undefined;
  return date.toISOString();
}

/**
 * Whether `text` is a Caliper date-time naming a real instant: the form alone lets through
 * `2024-02-30T…` or hour 24, which TimeBack would refuse (a rule's literal can hold one).
 */
export function isCaliperDateTime(text: unknown): boolean {
  return typeof text === 'string' && CALIPER_DATE_TIME.test(text) && isValidCaliperDateTime(text);
}

function isValidCaliperDateTime(text: string): boolean {
  const month = Number(text.slice(5, 7));
  const day = Number(text.slice(8, 10));
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]!) return false;
  if (month === 2 && day === 29 && !isLeapYear(Number(text.slice(0, 4)))) return false;
  return Number(text.slice(11, 13)) <= 23 && Number(text.slice(14, 16)) <= 59 && Number(text.slice(17, 19)) <= 59;
}

/**
 * An ISO 8601 duration as Caliper writes one (`xsd:duration` in the 1.2 context): `P`, then
 * years, months, days, and after `T` hours, minutes, seconds (the seconds may have a fraction),
 * at least one of them; or a number of weeks (`P3W`). `PT30M54S`, `P1DT2H`, `PT0.5S`.
 */
export const CALIPER_DURATION = /^P(?:\d+W|(?=\d|T\d)(?:\d+Y)?(?:\d+M)?(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?)$/;

/** The duration when the text is an ISO 8601 duration (surrounding spaces ignored), else undefined. */
export function toCaliperDuration(text: string): string | undefined {
  const trimmed = text.trim();
  return CALIPER_DURATION.test(trimmed) ? trimmed : undefined;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}
