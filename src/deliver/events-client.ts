/**
 * POSTs one event to TimeBack's `/events/1.0/` over a pool of keep-alive connections
 * (undici), and turns whatever happens into a plain result: an HTTP answer, or a
 * transport failure. It never throws and never decides what an answer means (outcome.ts does).
 */
import { Pool } from 'undici';
import { describeNetworkError } from '../timeback/http-answers.ts';
import { classifyError } from './outcome.ts';

export type PostResult =
  | { kind: 'response'; status: number; retryAfter: string | undefined; body: string }
  /** No answer: `aborted` only when the client was shut down mid-request. */
  | { kind: 'failure'; failure: 'timeout' | 'network' | 'aborted'; message: string };

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

export function eventsPath(baseUrl: string): { origin: string; path: string } {
  const url = new URL(baseUrl);
  return { origin: url.origin, path: `${url.pathname.replace(/\/+$/, '')}/events/1.0/` };
}

/**
 * Per POST this costs undici's request and nothing else: the deadline is undici's own
 * (connect, then headers, then each body chunk, each within `timeoutMs`), not a timer and
 * an AbortController of ours per request, which measured as a tenth of the event loop's
 * time at full delivery rate. `abortAll` destroys the pool; what was in flight then comes
 * back as `aborted`.
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

  return {
    async post(body, token) {
      if (aborted) return { kind: 'failure', failure: 'aborted', message: ABORTED };
      try {
        const response = await pool.request({ path, method: 'POST', headers: headersFor(token), body });
        const text = await readBody(response.body);
        const retryAfter = response.headers['retry-after'];
        return {
          kind: 'response',
          status: response.statusCode,
          retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
          body: text,
        };
      } catch (err) {
        if (aborted) return { kind: 'failure', failure: 'aborted', message: ABORTED };
        const failure = classifyError(err);
        const message = failure === 'timeout' ? `no answer within ${timeoutMs} ms (${describeNetworkError(err)})` : describeNetworkError(err);
        return { kind: 'failure', failure, message };
      }
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

async function readBody(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let kept = 0;
  let dropped = 0;
  // Read to the end either way: a half-read body would cost the keep-alive connection.
  for await (const chunk of body) {
    if (kept < MAX_BODY_BYTES) {
      chunks.push(chunk);
      kept += chunk.length;
    } else {
      dropped += chunk.length;
    }
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return dropped > 0 ? `${text}… (${dropped} more bytes)` : text;
}
