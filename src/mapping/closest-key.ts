/**
 * "Did you mean …?" for a misspelt key, shared by the rule schema, the lists schema and the
 * loader's unknown-key messages (a module of its own, since rule-schema.ts imports rule-lists.ts).
 */

/**
 * The known key `key` is most likely a misspelling of: one letter off, two swapped, or another
 * case (`actoin`, `Action`, `studnet`); undefined when none is that close.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  if (known.includes(key)) return undefined;
  const lower = key.toLowerCase();
  return known.find((candidate) => candidate.toLowerCase() === lower) ?? known.find((candidate) => editDistance(lower, candidate.toLowerCase()) <= 1);
}

/** Levenshtein distance, counting two swapped neighbours as one edit. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 1) return 2;
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}
