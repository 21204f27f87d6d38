/**
 * Reads a request body into one Buffer of its own, refusing it (413) as soon as it is known
 * to be over the limit: up front from Content-Length, or while reading a chunked body, so an
 * oversized upload is never buffered whole.
 */
import { GatewayError } from '../errors.ts';

export function payloadTooLarge(limit: number, size?: number): GatewayError {
  const what = size === undefined ? 'The body is' : `The body (${size} bytes) is`;
  return new GatewayError(
    413,
    'payload-too-large',
    `${what} over this endpoint's limit of ${limit} bytes (MAX_BODY_BYTES); send fewer events per envelope`,
  );
}

export async function readBody(request: Request, limit: number): Promise<Buffer> {
  const declared = request.headers.get('content-length');
  const length = declared !== null && /^\d+$/.test(declared) ? Number(declared) : undefined;
  if (length !== undefined && length > limit) throw payloadTooLarge(limit, length);
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

// Node's HTTP parser enforces Content-Length itself; this guards requests built in-process.
const lengthMismatch = (declared: number) =>
  new GatewayError(400, 'invalid-request', `The body's length does not match its Content-Length (${declared})`);
