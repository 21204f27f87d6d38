/**
 * Turns a checked envelope into the rows intake stores: each event checked on its own
 * (a malformed one is kept as `rejected` with the message; the rest go on), its id, type,
 * action and time pulled out for the indexes, and its JSON text as received (the bytes of
 * the body, not a string made of them).
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

export async function toEnvelopeBatch(body: Buffer, envelope: Envelope, details: { receivedAt: number }): Promise<EnvelopeBatch> {
  const events = envelope.data;
  const count = events.length;
  // The rows are views of a buffer that belongs to the batch alone, so intake can hand it
  // to its thread without a copy. A body of our own has its memory to itself; a small one
  // shares Node's buffer pool (and a copy of it costs next to nothing).
  const owned =
    body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer
      ? body
      : Buffer.from(new Uint8Array(body));
  const slices = locateEventSlices(owned, count);

  const batch: EnvelopeBatch = {
    sensor: envelope.sensor,
    sendTime: envelope.sendTime,
    bytes: body.length,
    receivedAt: details.receivedAt,
    sourceIds: new Array(count),
    types: new Array(count),
    actions: new Array(count),
    eventTimes: new Array(count),
    raws: new Array(count),
    problems: new Array(count),
  };

  if (slices) batch.transferable = owned.buffer as ArrayBuffer;
  for (let i = 0; i < count; i++) {
    if (i > 0 && i % EVENTS_PER_SLICE === 0) await nextTurn();
    const event = events[i];
    // The text Learn sent for this event. Without slices (never expected: the scanner
    // only fails on text JSON.parse rejected) the parsed value is re-serialised, which
    // keeps every key and value, only not the original spacing and escapes.
    batch.raws[i] = slices ? owned.subarray(slices[2 * i], slices[2 * i + 1]) : (JSON.stringify(event) ?? 'null');
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
