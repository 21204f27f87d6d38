/** A JSON object: not null, not an array (which `typeof` also calls 'object'). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
