/**
 * What changed between a fixture's expected.json and what the rules produce now. An event whose
 * fate changed (delivered before, skipped or rejected now) is one line with the new reason in
 * full, since the reason is what says what to fix; an event with the same fate is shown property
 * by property.
 */
import { cutText } from '../errors.ts';
import { isRecord } from '../is-record.ts';
import { CHECK_WORDS, jsonDiff, showValue, type DiffWords } from './json-diff.ts';

const LIMIT = 20;
// A skip or rejection reason is a sentence naming the rule and the property: shown whole.
const MAX_DETAIL_CHARS = 1_000;

export function fixtureDiff(expected: unknown, actual: readonly unknown[], words: DiffWords = CHECK_WORDS): string[] {
  if (!Array.isArray(expected)) return jsonDiff(expected, actual, { words, limit: LIMIT });
  const lines: string[] = [];
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    const before: unknown = expected[i];
    const after: unknown = actual[i];
    if (sameFate(before, after)) {
      lines.push(...jsonDiff(before, after, { words, at: [i], limit: LIMIT, maxChars: isDelivered(after) ? undefined : MAX_DETAIL_CHARS }));
    } else {
      lines.push(`[${i}]: ${words.before} ${describeEntry(before)}, ${words.after} ${describeEntry(after)}`);
    }
  }
  return lines.length > LIMIT ? [...lines.slice(0, LIMIT), `… and ${lines.length - LIMIT} more differences`] : lines;
}

/** One entry in words: `deliver MessageEvent Posted (rule forum-post-created)`, `skipped, no-rule: …`. */
export function describeEntry(entry: unknown): string {
  if (!isEntry(entry)) return showValue(entry);
  const rule = typeof entry.rule === 'string' ? ` (rule ${entry.rule})` : '';
  if (entry.fate === 'deliver') {
    const event = entry.event !== null && typeof entry.event === 'object' ? (entry.event as Record<string, unknown>) : {};
    return `deliver ${String(event.type)} ${String(event.action)}${rule}`;
  }
  const reason = typeof entry.reason === 'string' ? `, ${entry.reason}` : '';
  const detail = typeof entry.detail === 'string' ? `: ${entry.detail.length > MAX_DETAIL_CHARS ? `${cutText(entry.detail, MAX_DETAIL_CHARS - 1)}…` : entry.detail}` : '';
  return `${entry.fate}${reason}${rule}${detail}`;
}

function isEntry(value: unknown): value is { fate: string; reason?: unknown; rule?: unknown; detail?: unknown; event?: unknown } {
  return isRecord(value) && typeof value.fate === 'string';
}

function sameFate(before: unknown, after: unknown): boolean {
  if (!isEntry(before) || !isEntry(after)) return !isEntry(before) && !isEntry(after) && before !== undefined && after !== undefined;
  return before.fate === after.fate && before.reason === after.reason;
}

function isDelivered(entry: unknown): boolean {
  return isEntry(entry) && entry.fate === 'deliver';
}
