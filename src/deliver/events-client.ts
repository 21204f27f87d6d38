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
  /** Whole-request deadline (connect, send, answer, body). */
  timeoutMs: number;
}

/** Answers are kept for the admin; TimeBack's error bodies are small, anything bigger is cut. */
const MAX_BODY_BYTES = 64 * 1024;

const USER_AGENT = 'caliper-gateway/0.1 (+delivery)';

class RequestTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

class ClientClosed extends Error {
  constructor() {
    super('delivery stopped while the request was in flight');
    this.name = 'AbortError';
  }
}

export function eventsPath(baseUrl: string): { origin: string; path: string } {
  const url = new URL(baseUrl);
  return { origin: url.origin, path: `${url.pathname.replace(/\/+$/, '')}/events/1.0/` };
}

export function createEventsClient({ baseUrl, connections, timeoutMs }: EventsClientOptions): EventsClient {
  const { origin, path } = eventsPath(baseUrl);
  const pool = new Pool(origin, {
    connections,
    pipelining: 1,
    connectTimeout: timeoutMs,
    // Our own timer below is the deadline; these are only backstops.
    headersTimeout: timeoutMs + 1_000,
    bodyTimeout: timeoutMs + 1_000,
    keepAliveTimeout: 30_000,
  });
  const inFlight = new Set<AbortController>();

  return {
    async post(body, token) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new RequestTimeout(timeoutMs)), timeoutMs);
      inFlight.add(controller);
      try {
        const response = await pool.request({
          path,
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'application/json',
            'user-agent': USER_AGENT,
          },
          body,
          signal: controller.signal,
        });
        const text = await readBody(response.body);
        const retryAfter = response.headers['retry-after'];
        return {
          kind: 'response',
          status: response.statusCode,
          retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
          body: text,
        };
      } catch (err) {
        const reason: unknown = controller.signal.reason;
        if (reason instanceof ClientClosed) return { kind: 'failure', failure: 'aborted', message: reason.message };
        if (reason instanceof RequestTimeout) return { kind: 'failure', failure: 'timeout', message: reason.message };
        return { kind: 'failure', failure: classifyError(err), message: describeNetworkError(err) };
      } finally {
        clearTimeout(timer);
        inFlight.delete(controller);
      }
    },

    abortAll() {
      for (const controller of inFlight) controller.abort(new ClientClosed());
    },

    async close() {
      await pool.destroy();
    },
  };
}

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
