/**
 * What the delivery worker reports about itself: its state for the status report, and the
 * problems only an operator can fix, for /readyz.
 */
import type { PauseCause } from '../timeback/outage-pause.ts';
import type { TimebackHealth, TokenStatus } from './timeback-health.ts';

export interface DeliveryStatus {
  state: 'waiting-for-credentials' | 'running' | 'paused' | 'stopping' | 'stopped';
  inFlight: number;
  token: TokenStatus;
  tokenProblem?: string;
  pause?: { cause: PauseCause; since: string; nextProbe: string; problem: string };
}

export function describeDelivery(state: DeliveryStatus['state'], inFlight: number, health: TimebackHealth, now: () => number): DeliveryStatus {
  const { token, pause } = health;
  const status: DeliveryStatus = { state, inFlight, token: token.status };
  if (token.problem !== undefined) status.tokenProblem = token.problem;
  if (pause.state !== 'closed' && pause.cause !== undefined) {
    status.pause = {
      cause: pause.cause,
      since: new Date(pause.since ?? now()).toISOString(),
      nextProbe: new Date(pause.until).toISOString(),
      problem: pause.problem ?? '',
    };
  }
  return status;
}

/** `resultsProblem`: why the last commit of results failed (result-batches.ts). */
export function deliveryProblems(health: TimebackHealth, resultsProblem: string | undefined): string[] {
  const { token, setupProblem } = health;
  const problems: string[] = [];
  if (token.status === 'rejected') {
    // The problem says what was refused and what to check: the credentials, the scopes or
    // TIMEBACK_TOKEN_URL. A wrapper naming the credentials misled for the other two.
    problems.push(`${token.problem ?? 'TimeBack refused the token request'}; delivery is paused until a token can be obtained`);
  }
  if (setupProblem) problems.push(`TimeBack will not take events: ${setupProblem}; they wait until it does`);
  if (resultsProblem) problems.push(`the database cannot record delivery results (${resultsProblem}); delivery waits until it can`);
  return problems;
}
