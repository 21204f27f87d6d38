/**
 * POSTs one event to TimeBack's `/events/1.0/` over a pool of keep-alive connections
 * (undici), and turns whatever happens into a plain result: an HTTP answer, or a
 * transport failure. It never throws and never decides what an answer means (outcome.ts does).
 * An answer never holds the bearer token it was sent with: it is kept on the event for the admin.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { describeNetworkError } from '../timeback/http-answers.ts';
import { classifyError, type TransportFailure } from './outcome.ts';

export type PostResult =
  | { kind: 'response'; status: number; retryAfter: string | undefined; body: string }
  /** No answer: `aborted` only when the client was shut down mid-request. */
  | { kind: 'failure'; failure: TransportFailure | 'aborted'; message: string };

export interface EventsClient {
  /** `body` is sent as is: the stored JSON text of the event, never re-serialised. */
  post(body: string, token: string): Promise<PostResult>;
  /** Aborts every request in flight (their results come back as `aborted`). */
  abortAll(): void;
  close(): Promise<void>;
}

export interface EventsClientOptions {
  /** `TIMEBACK_BASE_URL`; may carry a path prefix. */
  baseUrl: string;
  /** Sockets kept open to TimeBack: the number of POSTs in flight. */
  connections: number;
  /** How long connecting, then the answer's headers, then each chunk of its body may take. */
  timeoutMs: number;
}

/** Answers are kept for the admin; TimeBack's error bodies are small, anything bigger is cut. */
const MAX_BODY_BYTES = 64 * 1024;

const USER_AGENT = 'caliper-gateway/0.1 (+delivery)';

function eventsPath(baseUrl: string): { origin: string; path: string } {
  const url = new URL(baseUrl);
  return { origin: url.origin, path: `${url.pathname.replace(/\/+$/, '')}/events/1.0/` };
}

/**
 * Per POST this costs undici's dispatch and a small handler, nothing else: no response
 * stream and async iterator (undici's `request`), and no timer and AbortController of ours;
 * the deadline is undici's own (connect, then headers, then each body chunk, each within
 * `timeoutMs`). Together those measured as a fifth of the event loop's time at full
 * delivery rate. `abortAll` destroys the pool; what was in flight then comes back as
 * `aborted`.
 */
export function createEventsClient({ baseUrl, connections, timeoutMs }: EventsClientOptions): EventsClient {
  const { origin, path } = eventsPath(baseUrl);
  const pool = new Pool(origin, {
    connections,
    pipelining: 1,
    connectTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 30_000,
  });
  let aborted = false;
  // The same headers for every POST with the same token (it changes about hourly).
  let headers = { token: '', value: {} as Record<string, string> };
  const headersFor = (token: string) => {
    if (headers.token !== token) {
      headers = {
        token,
        value: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json',
          'user-agent': USER_AGENT,
        },
      };
    }
    return headers.value;
  };

  const fail = (err: unknown): PostResult => {
    if (aborted) return { kind: 'failure', failure: 'aborted', message: ABORTED };
    const failure = classifyError(err);
    const message = failure === 'timeout' ? `no answer within ${timeoutMs} ms` : describeNetworkError(err);
    return { kind: 'failure', failure, message };
  };

  return {
    post(body, token) {
      if (aborted) return Promise.resolve({ kind: 'failure', failure: 'aborted', message: ABORTED });
      return new Promise<PostResult>((resolve) => {
        try {
          pool.dispatch({ path, method: 'POST', headers: headersFor(token), body }, new Answer(resolve, fail, token));
        } catch (err) {
          resolve(fail(err));
        }
      });
    },

    abortAll() {
      aborted = true;
      void pool.destroy().catch(() => {});
    },

    async close() {
      await pool.destroy();
    },
  };
}

const ABORTED = 'delivery stopped while the request was in flight';

/**
 * One answer as it arrives, as undici's dispatch handler (methods, not closures made per
 * POST). The body is read to its end either way (a half-read body would cost the
 * keep-alive connection), and only its first MAX_BODY_BYTES are kept.
 */
class Answer implements Dispatcher.DispatchHandler {
  private status = 0;
  private retryAfter: string | undefined;
  private chunks: Buffer[] = [];
  private kept = 0;
  private dropped = 0;

  constructor(
    private readonly settle: (result: PostResult) => void,
    private readonly fail: (err: unknown) => PostResult,
    private readonly token: string,
  ) {}

  // Its presence tells undici this handler speaks the current handler API.
  onRequestStart(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    // Called again after a 1xx: the final answer is the one that counts.
    const retryAfter = headers['retry-after'];
    this.status = status;
    this.retryAfter = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
    this.chunks.length = 0;
    this.kept = 0;
    this.dropped = 0;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const room = MAX_BODY_BYTES - this.kept;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, Math.max(0, room));
    if (part.length > 0) {
      // A copy: the chunk may be a view of the socket's buffer.
      this.chunks.push(Buffer.from(part));
      this.kept += part.length;
    }
    this.dropped += chunk.length - part.length;
  }

  onResponseEnd(): void {
    // Usually one small chunk: decoded as it is, without gluing it into a new buffer first.
    let text = this.chunks.length === 1 ? this.chunks[0]!.toString('utf8') : Buffer.concat(this.chunks).toString('utf8');
    // A server or proxy that echoes the request in its error page would otherwise put a live
    // token in the database, where the admin's event view shows it.
    if (this.token !== '' && text.includes(this.token)) text = text.replaceAll(this.token, '[redacted]');
    this.settle({
      kind: 'response',
      status: this.status,
      retryAfter: this.retryAfter,
      body: this.dropped > 0 ? `${text}… (${this.dropped} more bytes)` : text,
    });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.settle(this.fail(err));
  }
}
