import { describe, expect, it } from 'vitest';
import { classifyError, classifyStatus, roundOutcome } from '../../src/deliver/outcome.ts';

describe('classifyStatus', () => {
  it.each([200, 201, 202, 204])('%i is delivered', (status) => {
    expect(classifyStatus(status)).toEqual({ kind: 'delivered' });
  });

  it('409 is delivered: TimeBack already has this event id', () => {
    expect(classifyStatus(409)).toEqual({ kind: 'delivered' });
  });

  it('401 asks for a token refresh', () => {
    expect(classifyStatus(401)).toEqual({ kind: 'unauthorized' });
  });

  it.each([408, 425, 429, 500, 502, 503, 504])('%i is retried', (status) => {
    expect(classifyStatus(status)).toEqual({ kind: 'retry', cause: `http-${status}` });
  });

  it.each([400, 413, 415, 422])('%i is dead with the status as reason', (status) => {
    expect(classifyStatus(status)).toEqual({ kind: 'dead', reason: `http-${status}` });
  });

  it.each([403, 404, 405])('%i is retried: it is about the app or the endpoint, not the event', (status) => {
    expect(classifyStatus(status)).toEqual({ kind: 'retry', cause: `http-${status}` });
  });

  it('a redirect is retried: it is a deployment problem, not the event', () => {
    expect(classifyStatus(301)).toEqual({ kind: 'retry', cause: 'http-301' });
  });
});

describe('roundOutcome', () => {
  const answer = (status: number) => ({ kind: 'response' as const, status, retryAfter: undefined, body: '' });

  it('reads an answer as classifyStatus does', () => {
    expect(roundOutcome(answer(202))).toEqual({ kind: 'delivered' });
    expect(roundOutcome(answer(422))).toEqual({ kind: 'dead', reason: 'http-422' });
    expect(roundOutcome(answer(503))).toEqual({ kind: 'retry', cause: 'http-503' });
  });

  it('retries a 401 after the refresh instead of refreshing again', () => {
    expect(roundOutcome(answer(401))).toEqual({ kind: 'retry', cause: 'http-401' });
  });

  it('retries a request that got no answer, labelled by why', () => {
    expect(roundOutcome({ kind: 'failure', failure: 'timeout', message: 'no answer within 10 ms' })).toEqual({ kind: 'retry', cause: 'timeout' });
    expect(roundOutcome({ kind: 'failure', failure: 'network', message: 'connection refused' })).toEqual({ kind: 'retry', cause: 'network' });
  });
});

describe('classifyError', () => {
  it('names timeouts', () => {
    expect(classifyError(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))).toBe('timeout');
    expect(classifyError(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toBe('timeout');
  });

  it('calls everything else a network failure', () => {
    expect(classifyError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe('network');
    expect(classifyError('weird')).toBe('network');
  });
});
