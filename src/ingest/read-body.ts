/**
 * Reads a request body into one Buffer of its own, refusing it (413) as soon as it is known
 * to be over the limit: up front from Content-Length, or while reading a chunked body, so an
 * oversized upload is never buffered whole.
 *
 * Served by @hono/node-server, the body is read straight from Node's request stream: going
 * through the web `Request` and its ReadableStream cost a fifth of the event loop's time
 * per envelope under load, for nothing the gateway uses. Requests built in-process (tests,
 * `app.request()`) are read through their web stream.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../errors.ts';
import { awaitsContinue, inviteBody } from './expect-continue.ts';

export function payloadTooLarge(limit: number, size?: number, unread = false): GatewayError {
  const what = size === undefined ? 'The body is' : `The body (${size} bytes) is`;
  return new GatewayError(
    413,
    'payload-too-large',
    `${what} over this endpoint's limit of ${limit} bytes (MAX_BODY_BYTES); send fewer events per envelope`,
    // The rest of an upload cut short is still on the wire: hang up after answering.
    unread ? { headers: { connection: 'close' } } : undefined,
  );
}

/** A Content-Length header's value as a number; undefined when absent or not a plain count. */
export function declaredLength(header: string | null | undefined): number | undefined {
  return header != null && /^\d+$/.test(header) ? Number(header) : undefined;
}

/**
 * True when an answer given now leaves part of the request's body unread, never to be read:
 * refused on its headers (401, 415, 429; an admin token), or cut short (413, 408, 503 busy).
 * Kept alive, the connection would have Node read and drop the rest of it (@hono/node-server
 * drains it for 500 ms with no byte cap that works, since Node dumps the body; Node alone
 * reads it all, up to the 5-minute request timeout): a wrong key declaring 60 MB costs 60 MB
 * of reading. Closed instead, lingering-close.ts bounds what is still read. A sender waiting
 * for our 100 Continue has sent nothing of it; one whose body has all arrived (read, or
 * small enough to come with its headers) keeps its connection.
 */
export async function bodyLeftUnread(incoming: IncomingMessage | undefined): Promise<boolean> {
  if (incoming === undefined) return false;
  if (awaitsContinue(incoming)) return true;
  const framed = incoming.headers['transfer-encoding'] !== undefined || (declaredLength(incoming.headers['content-length']) ?? 0) > 0;
  if (!framed || incoming.complete) return false;
  // A body that came in the same read as its headers is parsed only after the request was
  // handed to the app (and a refusal on its headers can be ready before): let the parser
  // finish that read first.
  await new Promise((resolve) => setImmediate(resolve));
  return !incoming.complete;
}

/** Node's side of a request served by @hono/node-server. */
export interface NodeRequest {
  incoming: IncomingMessage;
  /** The response to `incoming`: a sender waiting for 100 Continue is invited only here, once not refused for its declared size. */
  outgoing?: ServerResponse;
  /** How long the body may go without a byte before it is given up (408); BODY_IDLE_MS by default. */
  idleMs?: number;
}

/**
 * How long a body being read may go without a byte. A sender that stalls mid-body (a hung
 * Learn node, a proxy that lost its upstream, slowloris) otherwise holds its share of
 * MAX_BYTES_IN_FLIGHT until Node's 5-minute request timeout, and two stalled 64 MB envelopes
 * leave every other sender waiting 30 s for a 503 all that time. Any sender that is still
 * sending gets a packet through in far less.
 */
export const BODY_IDLE_MS = 30_000;

export async function readBody(request: Request, limit: number, node?: NodeRequest): Promise<Buffer> {
  const incoming = node?.incoming;
  const length = declaredLength(request.headers.get('content-length'));
  // Refused unread: the upload is (or is about to be) on the wire, and a kept-alive connection
  // would make the server read and discard all of it before the next request.
  if (length !== undefined && length > limit) throw payloadTooLarge(limit, length, true);
  if (incoming) inviteBody(incoming, node.outgoing);
  if (incoming && !incoming.readableDidRead) return readIncoming(incoming, length, limit, node.idleMs ?? BODY_IDLE_MS);
  if (!request.body) return Buffer.alloc(0);

  const reader = request.body.getReader();
  // With a Content-Length (Learn's usual case) the body is copied once into a buffer of
  // the right size; a chunked body is collected and joined at the end.
  const exact = length === undefined ? undefined : Buffer.allocUnsafe(length);
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await reader.read();
    } catch (error) {
      // The sender went away mid-upload (or the server is cutting connections at shutdown).
      throw new GatewayError(400, 'incomplete-body', 'The connection closed before the whole body arrived', { cause: error });
    }
    const { done, value } = chunk;
    if (done) break;
    const end = received + value.byteLength;
    if (end > limit || (exact && end > exact.length)) {
      // Stop reading; the server drains or drops the rest of the upload.
      await reader.cancel().catch(() => {});
      throw end > limit ? payloadTooLarge(limit) : lengthMismatch(exact!.length);
    }
    if (exact) {
      exact.set(value, received);
    } else {
      chunks.push(value);
    }
    received = end;
  }
  if (exact) {
    if (received !== exact.length) throw lengthMismatch(exact.length);
    return exact;
  }
  // A copy even of a single chunk: the body's memory must be its own (intake may move it to
  // another thread), not a view into a buffer the stream handed us.
  return Buffer.concat(chunks);
}

function readIncoming(incoming: IncomingMessage, length: number | undefined, limit: number, idleMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // As below: one copy into a buffer of the right size, or chunks joined at the end.
    const exact = length === undefined ? undefined : Buffer.allocUnsafe(length);
    const chunks: Buffer[] = [];
    let received = 0;
    let ended = false;

    const stop = () => {
      clearTimeout(idle);
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onGone);
      incoming.off('close', onGone);
    };
    const onData = (chunk: Buffer) => {
      const end = received + chunk.length;
      if (end > limit || (exact && end > exact.length)) {
        stop();
        // Read no more of it; the connection closes once the 413 is sent.
        incoming.pause();
        reject(end > limit ? payloadTooLarge(limit, undefined, true) : lengthMismatch(exact!.length));
        return;
      }
      if (exact) chunk.copy(exact, received);
      else chunks.push(chunk);
      received = end;
      idle.refresh();
    };
    const onStalled = () => {
      stop();
      incoming.pause();
      reject(
        new GatewayError(
          408,
          'body-timeout',
          `No part of the body arrived for ${idleMs / 1000} s (${received} bytes had); nothing of this envelope was stored. Send it again.`,
          // What is left of it may still come: hang up rather than wait for it.
          { headers: { connection: 'close' } },
        ),
      );
    };
    const idle = setTimeout(onStalled, idleMs);
    const onEnd = () => {
      ended = true;
      stop();
      if (!exact) resolve(Buffer.concat(chunks));
      else if (received !== exact.length) reject(lengthMismatch(exact.length));
      else resolve(exact);
    };
    const onGone = (error?: Error) => {
      if (ended) return;
      stop();
      // The sender went away mid-upload (or the server is cutting connections at shutdown).
      reject(new GatewayError(400, 'incomplete-body', 'The connection closed before the whole body arrived', { cause: error }));
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onGone);
    incoming.on('close', onGone);
  });
}

// Node's HTTP parser enforces Content-Length itself; this guards requests built in-process.
const lengthMismatch = (declared: number) =>
  new GatewayError(400, 'invalid-request', `The body's length does not match its Content-Length (${declared})`);
