/**
 * An admin route's query, one value per name, for its strict zod schema. A filter sent twice
 * (`DELETE /admin/roster-cache?outcome=not-found&outcome=found`) was taken by its first value
 * alone, and that clear ran on a guess at what was meant; a filter the route knows must come
 * once. Unknown names are left to the schema, which names them as unknown.
 */
import { z } from 'zod';
import { badRequest, formatPath } from './errors.ts';
import { finiteNumber } from './finite-number.ts';

export function singleQuery(queries: Record<string, string[]>, known: readonly string[]): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, values] of Object.entries(queries)) {
    if (values.length > 1 && known.includes(name)) {
      throw badRequest('invalid-request', `${name}: give it once (it was sent ${values.length} times)`);
    }
    query[name] = values[0] ?? '';
  }
  return query;
}

/**
 * For a route that takes no query parameter (`POST /admin/replay`, `GET /admin/events/<seq>`,
 * `DELETE /admin/roster-cache/<id>`). Ignored, `POST /admin/replay?reason=http-400` with an empty
 * body replayed every dead event; a name the route does not know is refused, as on the others.
 */
export function noQuery(queries: Record<string, string[]>, why: string): void {
  const name = Object.keys(queries)[0];
  if (name !== undefined) throw badRequest('invalid-request', `${formatPath([name])}: unknown parameter; ${why}`);
}

const DECIMAL = /^-?\d+(?:\.\d+)?$/;

/**
 * For `z.preprocess` before a number parameter's `z.coerce.number()`: only decimal text gets
 * through (a sign and a fraction too, which the schema then refuses by name). Coercion alone
 * also reads `0x10`, `0b1`, `1e3` and ` 12 `, so `/admin/events/0x10` showed event 16. Empty
 * text is left to the schema, which says what the number must be.
 */
export function decimalOnly(value: unknown): unknown {
  return typeof value === 'string' && value !== '' && !DECIMAL.test(value) ? Number.NaN : value;
}

/**
 * A whole-number parameter from `min` to `max` (`limit`, `offset`), in decimal only. The bounds
 * are checked first and end the check: a whole number past what a double holds exactly
 * (`limit=99999999999999999999`) was refused as "must be a whole number", with one problem
 * more, when what it is is too large. With `message`, every refusal says that one thing (an
 * event number, whose range is the message).
 */
export function wholeNumberParameter(min: number, max: number, message?: string) {
  return z.preprocess(
    (value) => finiteDecimal(decimalOnly(value)),
    z.coerce
      .number({ error: message ?? 'must be a number' })
      .min(min, { error: message ?? `must be at least ${min}`, abort: true })
      .max(max, { error: message ?? `must be at most ${max}`, abort: true })
      .int(message ?? 'must be a whole number'),
  );
}

/**
 * An event number (`before`, `/admin/events/<seq>`): seqs start at 1, and past 2^53 - 1 a
 * number no longer names one seq. Out of that range it was "must be an event number", with
 * nothing to say that 0 or a 20-digit number is no event number.
 */
export const eventNumberParameter = () => wholeNumberParameter(1, Number.MAX_SAFE_INTEGER, EVENT_NUMBER_RANGE);

/** What every refusal of an event number says, here and in a replay's ids. */
export const EVENT_NUMBER_RANGE = `must be an event number from 1 to ${Number.MAX_SAFE_INTEGER}`;

/** Decimal digits past what a double holds at all (over 308 of them): see finite-number.ts. */
function finiteDecimal(value: unknown): unknown {
  if (typeof value !== 'string' || value === '') return value;
  const number = Number(value);
  return Number.isFinite(number) || Number.isNaN(number) ? value : finiteNumber(number);
}
