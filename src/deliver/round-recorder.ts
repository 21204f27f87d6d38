/**
 * Records one delivery round and acts on what it says about TimeBack: an answer about an
 * event shows TimeBack is up and set up right; a failure counts towards the pause and may be
 * a set-up problem for /readyz. What is written for the round is delivery-record.ts's
 * business; this adds the consequences and logs the dead, once their commit made them so.
 */
import { createLogTally } from '../log-tally.ts';
import type { Logger } from '../log.ts';
import { parseRetryAfter } from '../timeback/http-answers.ts';
import type { Dispatched } from '../timeback/outage-pause.ts';
import { failedRecord, MAX_AGE, settledRecord, type RetryRules } from './delivery-record.ts';
import type { PostResult } from './events-client.ts';
import type { DueEvent } from './outbox.ts';
import { describeFailure, isSetupAnswer, type Outcome } from './outcome.ts';
import type { PendingRecord, ResultBatches } from './result-batches.ts';
import type { TimebackHealth } from './timeback-health.ts';

export interface RoundRecorderOptions {
  log: Logger;
  now: () => number;
  health: Pick<TimebackHealth, 'noteAnswer' | 'noteSetupProblem' | 'noteFailure' | 'scopeProblem'>;
  results: Pick<ResultBatches, 'add'>;
  retryRules: RetryRules;
  /** How long dead events after the first of their reason are only counted, then logged as counts. */
  deadLogWindowMs: number;
}

export interface RoundRecorder {
  /**
   * `result` is undefined when nothing was sent (no output, or no token); `sent` is what the
   * pause handed the round's dispatch, so that only the probe's own answer ends the probe.
   */
  record(event: DueEvent, startedAt: number, posts: number, result: PostResult | undefined, outcome: Outcome, sent: Dispatched): void;
  /**
   * A batch of results is committed; `held[i]` says whether the row of `batch[i]` holds its
   * result (Outbox.record). Logs the dead among those that do: one whose row changed hands
   * while TimeBack answered (an operator's change) was left alone, and is not dead by it.
   */
  committed(batch: readonly PendingRecord[], held: readonly boolean[]): void;
  /** The batch will not be committed (shutdown): its events stay pending, so none of it is logged as dead. */
  abandoned(batch: readonly PendingRecord[]): void;
  /** Logs the counts of dead events not yet logged (shutdown). */
  flushDeaths(): void;
}

export function createRoundRecorder(options: RoundRecorderOptions): RoundRecorder {
  const { log, now, health, results, retryRules } = options;
  // A refusal TimeBack gives every event (or a week-long outage ending) kills thousands a second:
  // one example per reason a minute, and the counts, keep the log readable.
  const deaths = createLogTally(log, { summary: 'more events are dead; counted, not logged one by one', windowMs: options.deadLogWindowMs });
  /**
   * The dead-event lines of results not yet committed. A result whose commit failed keeps its
   * line here while it waits to be written again (result-batches.ts), so it is logged once.
   */
  const deathNotes = new Map<PendingRecord, { kind: string; fields: Record<string, unknown>; msg: string }>();

  return {
    record(event, startedAt, posts, result, outcome, sent) {
      const finishedAt = now();
      if (outcome.kind === 'delivered') {
        health.noteAnswer(sent);
        results.add(settledRecord(event, startedAt, finishedAt, posts, result, outcome));
      } else if (outcome.kind === 'dead') {
        // A refusal of this event (400, 422) still shows the endpoint and the app are right.
        // (Without a result the event had no output and TimeBack was never asked.)
        if (result !== undefined) health.noteAnswer(sent);
        const entry = settledRecord(event, startedAt, finishedAt, posts, result, outcome);
        deathNotes.set(entry, { kind: outcome.reason, fields: { seq: event.seq, outputId: event.outputId, status: entry.status, reason: entry.reason }, msg: 'event is dead' });
        results.add(entry);
      } else {
        const problem = withScopeProblem(describeFailure(result, posts), result);
        if (result?.kind === 'response' && isSetupAnswer(result.status, posts)) health.noteSetupProblem(problem);
        const retryAfterMs = result?.kind === 'response' ? parseRetryAfter(result.retryAfter, finishedAt) : undefined;
        const entry = failedRecord(event, startedAt, finishedAt, posts, result, outcome, problem, retryAfterMs, retryRules);
        if (entry.fate === 'dead') {
          const attempts = event.attempts + posts;
          deathNotes.set(entry, { kind: MAX_AGE, fields: { seq: event.seq, outputId: event.outputId, reason: MAX_AGE, attempts, problem }, msg: 'event is dead: too old to retry' });
        }
        health.noteFailure(problem, retryAfterMs, finishedAt, sent);
        results.add(entry);
      }
    },
    committed(batch, held) {
      if (deathNotes.size === 0) return;
      for (let i = 0; i < batch.length; i++) {
        const note = deathNotes.get(batch[i]!);
        if (note === undefined) continue;
        deathNotes.delete(batch[i]!);
        if (held[i]) deaths.note(note.kind, note.fields, note.msg);
      }
    },
    abandoned(batch) {
      if (deathNotes.size === 0) return;
      for (const entry of batch) deathNotes.delete(entry);
    },
    flushDeaths() {
      deaths.flush();
    },
  };

  /**
   * A refusal of the token (401, 403) with a token whose answer lacked events.write says so, on
   * the event (what `status` shows), the pause and /readyz: the likely cause, in the admin's
   * words, beside TimeBack's. Other failures are not about the token.
   */
  function withScopeProblem(problem: string, result: PostResult | undefined): string {
    if (result?.kind !== 'response' || (result.status !== 401 && result.status !== 403)) return problem;
    const scope = health.scopeProblem();
    return scope === undefined ? problem : `${problem}; ${scope}`;
  }
}
