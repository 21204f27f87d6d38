/**
 * JSON as the gateway writes it to anyone: what JSON.stringify writes, with the code points it
 * leaves raw but a terminal or log viewer does not show as written escaped as \uXXXX. An
 * admin who curls an answer echoing a value of a request (a replayed id, a quoted field) saw
 * it reordered or hidden (Trojan Source, CVE-2021-42574); escaped, it parses to the same value.
 */

/**
 * DEL and the C1 controls, the line and paragraph separators, and the bidirectional marks,
 * embeddings, overrides and isolates that reorder the text around them (U+061C included).
 */
const UNSHOWN = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const UNSHOWN_ALL = new RegExp(UNSHOWN.source, 'g');

const escaped = (char: string) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * JSON text with those code points escaped. Each can stand only inside a string of JSON text,
 * where \uXXXX means the same. Most text holds none: one test, and it is returned as it is.
 */
export function escapeUnshown(json: string): string {
  return UNSHOWN.test(json) ? json.replace(UNSHOWN_ALL, escaped) : json;
}

/** `JSON.stringify(value, null, indent)`, with what a terminal does not show as written escaped. */
export function jsonText(value: unknown, indent?: number): string {
  return escapeUnshown(JSON.stringify(value, null, indent));
}
