/**
 * Turns a checked envelope into the rows intake stores: each event checked on its own
 * (a malformed one is kept as `rejected` with the message; the rest go on), its id, type,
 * action and time pulled out for the indexes, and its JSON text as received.
 *
 * The work runs in slices with a turn of the event loop between them, so a 5,000-event
 * envelope does not hold up other requests, health checks and delivery for its whole
 * duration. Rows are kept as parallel columns: no per-event object besides the strings.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { EnvelopeBatch } from '../store/intake.ts';
import { eventProblem, eventSummary, type Envelope } from './envelope-schema.ts';
import { locateEventSlices } from './event-slices.ts';

/** Events checked between two turns of the event loop (about 5 ms of work). */
const EVENTS_PER_SLICE = 500;

export async function toEnvelopeBatch(
  text: string,
  envelope: Envelope,
  details: { receivedAt: number; bytes: number },
): Promise<EnvelopeBatch> {
  const events = envelope.data;
  const count = events.length;
  const slices = locateEventSlices(text, count);

  const batch: EnvelopeBatch = {
    sensor: envelope.sensor,
    sendTime: envelope.sendTime,
    bytes: details.bytes,
    receivedAt: details.receivedAt,
    sourceIds: new Array(count),
    types: new Array(count),
    actions: new Array(count),
    eventTimes: new Array(count),
    raws: new Array(count),
    problems: new Array(count),
  };

  for (let i = 0; i < count; i++) {
    if (i > 0 && i % EVENTS_PER_SLICE === 0) await nextTurn();
    const event = events[i];
    // The text Learn sent for this event. Without slices (never expected: the scanner
    // only fails on text JSON.parse rejected) the parsed value is re-serialised, which
    // keeps every key and value, only not the original spacing and escapes.
    batch.raws[i] = slices ? text.slice(slices[2 * i], slices[2 * i + 1]) : (JSON.stringify(event) ?? 'null');
    const problem = eventProblem(event, i);
    batch.problems[i] = problem;
    if (problem === undefined) {
      // eventProblem has checked these are non-blank strings.
      const good = event as { id: string; type: string; action: string; eventTime: string };
      batch.sourceIds[i] = good.id.trim();
      batch.types[i] = good.type.trim();
      batch.actions[i] = good.action.trim();
      batch.eventTimes[i] = good.eventTime;
    } else {
      const summary = eventSummary(event);
      batch.sourceIds[i] = summary.sourceId;
      batch.types[i] = summary.type;
      batch.actions[i] = summary.action;
      batch.eventTimes[i] = summary.eventTime;
    }
  }
  return batch;
}
