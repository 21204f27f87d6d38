/**
 * HTTP/1.1 requests written byte by byte over a plain socket, for requests `fetch` will not
 * send: no Content-Type at all, a Content-Length that lies, chunked bodies, invalid UTF-8
 * in the body, two Authorization forms, odd methods. One request per connection
 * (`Connection: close`), so the response is everything the server writes before it hangs up.
 */
import { connect } from 'node:net';

export interface RawRequest {
  method?: string;
  path?: string;
  /** Sent as given, in order; `Host` and `Connection: close` are added. */
  headers?: Array<[string, string]>;
  body?: string | Buffer;
  /**
   * `auto` (default): a Content-Length matching the body. `chunked`: the body in chunks of
   * `chunkSize` with `Transfer-Encoding: chunked`. `none`: no framing header at all (the
   * caller's `headers` say what the server should expect, e.g. a Content-Length that lies).
   */
  framing?: 'auto' | 'chunked' | 'none';
  chunkSize?: number;
  /** Half-close the connection after the body (a sender that stops mid-upload). */
  endEarly?: boolean;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function rawRequest(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const body = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : (request.body ?? Buffer.alloc(0));
  const framing = request.framing ?? 'auto';
  const lines = [`${request.method ?? 'POST'} ${request.path ?? '/caliper'} HTTP/1.1`, `Host: ${url.host}`, 'Connection: close'];
  for (const [name, value] of request.headers ?? []) lines.push(`${name}: ${value}`);
  if (framing === 'auto' && (body.length > 0 || request.method === undefined || request.method === 'POST')) {
    lines.push(`Content-Length: ${body.length}`);
  }
  if (framing === 'chunked') lines.push('Transfer-Encoding: chunked');
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');

  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const received: Buffer[] = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      const response = parseResponse(Buffer.concat(received));
      if (response) resolve(response);
      else reject(new Error(`no complete HTTP response (got ${Buffer.concat(received).length} bytes)`));
    };
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('end', finish);
    socket.on('close', finish);
    // The server may answer (413, 401) and hang up before the whole body is written: the
    // write then fails, and what it answered is still in `received`.
    socket.on('error', () => socket.destroy());
    socket.on('connect', () => {
      socket.write(head);
      if (framing === 'chunked') {
        const size = request.chunkSize ?? 64 * 1024;
        for (let at = 0; at < body.length; at += size) {
          const chunk = body.subarray(at, at + size);
          socket.write(`${chunk.length.toString(16)}\r\n`);
          socket.write(chunk);
          socket.write('\r\n');
        }
        if (!request.endEarly) socket.write('0\r\n\r\n');
      } else if (body.length > 0) {
        socket.write(body);
      }
      if (request.endEarly) socket.end();
    });
  });
}

function parseResponse(bytes: Buffer): RawResponse | undefined {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const [statusLine = '', ...headerLines] = bytes.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!Number.isInteger(status)) return undefined;
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let rest = bytes.subarray(headEnd + 4);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') rest = dechunk(rest);
  else if (headers['content-length'] !== undefined) rest = rest.subarray(0, Number(headers['content-length']));
  return { status, headers, body: rest.toString('utf8') };
}

function dechunk(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/**
 * What is wrong with `response` as the gateway's error answer: JSON `{"error": {"code", "message"}}`
 * with `expected.code`, a message that is not blank, mentions `expected.mentions` and stays within
 * `expected.maxMessageChars`. The message comes back too, for a caller's own checks of it.
 */
export function errorAnswerProblems(
  response: RawResponse,
  expected: { code: string; mentions?: string; maxMessageChars: number },
): { problems: string[]; message?: string } {
  const problems: string[] = [];
  if (!/^application\/json/.test(response.headers['content-type'] ?? '')) problems.push(`content-type ${response.headers['content-type'] ?? 'none'}`);
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    return { problems: [...problems, `body is not JSON: ${response.body.slice(0, 120)}`] };
  }
  const error = (body as { error?: Record<string, unknown> }).error;
  if (Object.keys(body as object).join() !== 'error' || error === null || typeof error !== 'object' || Object.keys(error).sort().join() !== 'code,message') {
    return { problems: [...problems, `body is not {"error": {"code", "message"}}: ${response.body.slice(0, 120)}`] };
  }
  const { code, message } = error as { code: unknown; message: unknown };
  if (code !== expected.code) problems.push(`code ${String(code)}, expected ${expected.code}`);
  if (typeof message !== 'string' || message.trim() === '') return { problems: [...problems, 'empty message'] };
  if (expected.mentions !== undefined && !message.includes(expected.mentions)) problems.push(`message does not mention ${expected.mentions}: ${message.slice(0, 200)}`);
  if (message.length > expected.maxMessageChars) problems.push(`message is ${message.length} characters long`);
  return { problems, message };
}
