/**
 * "Did you mean …?" for a misspelt name: the one distance behind the hints for environment
 * settings (config.ts), rule file keys (src/mapping/) and user-overrides.yaml (src/identity/).
 * Each caller keeps its own threshold: a setting name is long, a key is short.
 */

/**
 * Edits that turn `a` into `b`: a letter inserted, deleted or changed, or two neighbours swapped,
 * each one edit (so `DB_PAHT` is one from `DB_PATH`: a swap is the commonest slip at a keyboard).
 */
export function editDistance(a: string, b: string): number {
  // Three rows of the table are enough: a swap looks back two rows.
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, beforePrevious[j - 2]! + 1);
      current[j] = best;
    }
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The known key `key` is most likely a misspelling of: another case, one letter off, or two
 * swapped (`Action`, `actoin`, `studnet`); undefined when none is that close.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  if (known.includes(key)) return undefined;
  const lower = key.toLowerCase();
  return known.find((candidate) => candidate.toLowerCase() === lower) ?? known.find((candidate) => editDistance(lower, candidate.toLowerCase()) <= 1);
}

/** True when `key` and `meant` differ in case alone (`allowPII`, `allowPii`): a slip the eye does not see. */
export function differsInCaseOnly(key: string, meant: string): boolean {
  return key !== meant && key.toLowerCase() === meant.toLowerCase();
}

/** The hint for `key` written where `meant` was meant, saying why a key in another case is not the same key. */
export function didYouMean(key: string, meant: string): string {
  return differsInCaseOnly(key, meant) ? `keys are case-sensitive: did you mean "${meant}"?` : `did you mean "${meant}"?`;
}
