/**
 * Requests Node refuses before the app sees them: not valid HTTP/1.1 (400), headers over
 * Node's 16 KB (431), too slow to arrive (408). Node answers those with a bare status line
 * and logs nothing, so a proxy that mangles or bloats Learn's requests was invisible from
 * our side. They now get the gateway's JSON error body, and a warning in the log naming the
 * parser's error code (never the request's bytes).
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { GatewayError } from './errors.ts';
import { jsonText } from './json-text.ts';
import type { LingeringClose } from './lingering-close.ts';
import type { Logger } from './log.ts';

interface ClientError extends Error {
  code?: string;
  /** llhttp's fixed description of what it could not parse. */
  reason?: string;
}

export function answerClientError(log: Logger, lingering?: Pick<LingeringClose, 'lingerUnparsed' | 'has'>) {
  return (error: ClientError, socket: Duplex) => {
    // Refused already: Node's parser raises its error again for each chunk the sender still
    // writes, which the lingering close reads and drops.
    if (lingering?.has(socket as Socket)) return;
    // A sender hanging up is not a bad request.
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const { status, code, message } = refusalFor(error);
    log.warn({ status, code, parserError: error.code }, `refused a request Node could not take: ${message}`);
    // As Node does: answer only when no response of this connection has begun to be written.
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    if (!inFlight?.headersSent) {
      // The same body as every other refusal (app.ts's onError), written as every answer is.
      const body = jsonText(new GatewayError(status, code, message).toJSON());
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    // The rest of what the sender wrote cannot be framed. Closed with it unread, the
    // connection is reset and the answer can be lost (to senders writing 4 MiB more, 152
    // answers in 200 on loopback): it lingers instead (lingering-close.ts), when the parser has
    // given up on the connection and no answer of the app's is still to be written on it.
    // Otherwise destroySoon: once what is written is flushed, the connection closes, unless a
    // request on it still has body to come, which lingering-close.ts's watch() turns into a
    // linger too. A timeout (408) leaves the parser going, so it never lingers as unparsed
    // (whatever came next would be parsed as a request); it takes the destroySoon path.
    if (lingering && error.code?.startsWith('HPE_') && inFlight == null) lingering.lingerUnparsed(socket as Socket);
    else (socket as Socket).destroySoon();
  };
}

function refusalFor(error: ClientError): { status: ContentfulStatusCode; code: string; message: string } {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        code: 'headers-too-large',
        message: 'The request headers are over 16 KB in all; Learn sends a few hundred bytes, so look at what a proxy on the way adds',
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, code: 'chunk-extensions-too-large', message: 'The chunked body carries over 16 KB of chunk extensions' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        code: 'request-timeout',
        message: 'The request did not arrive in time (its headers within 60 s, all of it within 5 minutes)',
      };
    default:
      return {
        status: 400,
        code: 'malformed-http',
        message: `The request is not valid HTTP/1.1 (${error.code ?? 'unknown'}${error.reason ? `: ${error.reason}` : ''}); the connection is closed`,
      };
  }
}
