/**
 * One delivery round for one due event: a token, the POST, on a 401 one token refresh and a
 * second POST, then the outcome handed to the round recorder (and, after a 403 with a token
 * lacking events.write, that token forgotten for the pause's next probe). It runs once per event, the
 * hottest path of delivery: an object, closure or await added here is paid on every event,
 * which is why the token is taken without a promise when one is at hand.
 */
import type { Metrics } from '../metrics.ts';
import type { Dispatched } from '../timeback/outage-pause.ts';
import type { TokenProvider } from '../timeback/token-provider.ts';
import { NO_OUTPUT } from './delivery-record.ts';
import type { EventsClient } from './events-client.ts';
import type { DueQueue } from './due-queue.ts';
import type { DueEvent } from './outbox.ts';
import { roundOutcome } from './outcome.ts';
import type { RoundRecorder } from './round-recorder.ts';
import type { TimebackHealth } from './timeback-health.ts';

export interface DeliveryRoundOptions {
  tokens: TokenProvider;
  client: Pick<EventsClient, 'post'>;
  metrics: Metrics;
  now: () => number;
  health: Pick<TimebackHealth, 'obtainToken' | 'pause'>;
  recorder: Pick<RoundRecorder, 'record'>;
  /** No token: the event waits for a token (or, once stopping, for the next start). */
  putBack(event: DueEvent): void;
  /** `release`: nothing is known about the event (shutdown cut its POST), it stays due. */
  queue: Pick<DueQueue, 'release'>;
  /** Shutdown has cut the token requests (TokenProvider.abort): a token not had is no answer from TimeBack. */
  tokensCut(): boolean;
}

/** `sent` is what the pause handed the event's dispatch (OutagePause.dispatching), given back with its answer. */
export type DeliveryRound = (event: DueEvent, sent: Dispatched) => Promise<void>;

export function createDeliveryRound(options: DeliveryRoundOptions): DeliveryRound {
  const { tokens, client, metrics, now, health, recorder, queue, putBack, tokensCut } = options;

  return async function deliver(event, sent) {
    const startedAt = now();
    if (event.output === null) {
      // Nothing is sent, so TimeBack will not answer: were this the probe, the pause would
      // wait for its answer for ever, and no event would go again until a restart.
      health.pause.probeAbandoned(sent);
      return recorder.record(event, startedAt, 0, undefined, { kind: 'dead', reason: NO_OUTPUT }, sent);
    }
    // The token is nearly always at hand: take it without the promise round trip.
    let bearer = tokens.fresh() ?? (await health.obtainToken());
    if (bearer === undefined) return putBack(event);

    let posts = 1;
    let sentAt = performance.now();
    let result = await client.post(event.output, bearer);
    if (result.kind === 'response' && result.status === 401) {
      metrics.deliveryLatency.observe({ outcome: 'unauthorized' }, secondsSince(sentAt));
      tokens.invalidate(bearer);
      bearer = await health.obtainToken();
      if (bearer === undefined) {
        // Shutdown cut the new token's request: as for a cut POST, nothing more is known, and
        // recording the 401 as an attempt would kill an event past DELIVERY_MAX_AGE that the
        // next start can still send.
        if (tokensCut()) {
          health.pause.probeAbandoned(sent);
          queue.release(event.seq);
          return;
        }
        return recorder.record(event, startedAt, posts, result, { kind: 'retry', cause: 'http-401' }, sent);
      }
      posts += 1;
      sentAt = performance.now();
      result = await client.post(event.output, bearer);
    }
    if (result.kind === 'failure' && result.failure === 'aborted') {
      // Shutdown cut the request: nothing is known, the row stays due for the next start.
      health.pause.probeAbandoned(sent);
      queue.release(event.seq);
      return;
    }
    const outcome = roundOutcome(result);
    metrics.deliveryLatency.observe({ outcome: outcome.kind }, secondsSince(sentAt));
    recorder.record(event, startedAt, posts, result, outcome, sent);
    // A 403 to a token whose answer lacked events.write: the admin may fix the app's scopes at
    // TimeBack, and the token held would carry the old ones until it expires (up to an hour).
    // Forgotten only once the pause is not closed: this failure opened it, it was the probe, or
    // it is a late answer to a POST sent before the pause opened (for this or another cause).
    // Each says the same of the token, and forgetting asks for nothing: the next dispatch, the
    // probe, asks for one new token, and the rest of a burst of 403s with the old token find it
    // gone. While closed, below the pause's threshold, a new token per 403 would be a burst.
    if (result.kind === 'response' && result.status === 403 && health.pause.state !== 'closed') tokens.invalidateLackingScope(bearer);
  };
}

function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
