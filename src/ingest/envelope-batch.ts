/**
 * Turns a checked envelope into the rows intake stores: each event checked on its own
 * (a malformed one is kept as `rejected` with the message; the rest go on), its id, type,
 * action and time pulled out for the indexes, and its JSON text as received (the bytes of
 * the body, not a string made of them).
 *
 * The work runs in slices with a turn of the event loop between them, so a 5,000-event
 * envelope does not hold up other requests, health checks and delivery for its whole
 * duration. Rows are kept as parallel columns, and each parsed event is dropped once its
 * row is made: no per-event object outlives its turn besides the strings.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { EnvelopeBatch } from '../store/intake.ts';
import { MAX_PARSED_BYTES, eventProblem, eventSummary } from './envelope-schema.ts';
import { UnparsedEvent, type ParsedEnvelope } from './parse-envelope.ts';

/** Events checked between two turns of the event loop (about 5 ms of work). */
const EVENTS_PER_SLICE = 250;

export async function toEnvelopeBatch({ envelope, events, bytes }: ParsedEnvelope, details: { receivedAt: number }): Promise<EnvelopeBatch> {
  const { count } = events;
  const batch: EnvelopeBatch = {
    sensor: envelope.sensor,
    sendTime: envelope.sendTime,
    bytes,
    receivedAt: details.receivedAt,
    sourceIds: new Array(count),
    types: new Array(count),
    actions: new Array(count),
    eventTimes: new Array(count),
    raws: new Array(count),
    problems: new Array(count),
  };
  if (events.transferable) batch.transferable = events.transferable;

  for (let i = 0; i < count; i++) {
    if (i > 0 && i % EVENTS_PER_SLICE === 0) await nextTurn();
    batch.raws[i] = events.raw(i);
    const read = events.fields?.[i];
    if (read) {
      // Read and checked without a parse (event-fields.ts).
      batch.problems[i] = undefined;
      batch.sourceIds[i] = read.sourceId;
      batch.types[i] = read.type;
      batch.actions[i] = read.action;
      batch.eventTimes[i] = read.eventTime;
      continue;
    }
    const event = events.value(i);
    const problem =
      event instanceof UnparsedEvent
        ? `data[${i}]: the event is ${event.bytes} bytes; an event over ${MAX_PARSED_BYTES} bytes is kept as sent, not read`
        : eventProblem(event, i);
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
