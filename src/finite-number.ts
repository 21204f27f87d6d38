/**
 * Infinity as the largest finite number of its sign; any other number as it is. A number
 * written with over 308 digits (`Number()`), or as `1e400` (`JSON.parse`), reads as Infinity,
 * which zod refuses as "not a number" before any bound is checked: as the largest finite one,
 * it is refused by the bound it is past, which is what is wrong with it.
 */
export const finiteNumber = (number: number): number =>
  number === Number.POSITIVE_INFINITY || number === Number.NEGATIVE_INFINITY ? Math.sign(number) * Number.MAX_VALUE : number;
