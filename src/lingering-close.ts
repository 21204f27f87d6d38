/**
 * A lingering close, as Apache and nginx do it (`lingering_close`; RFC 9112 §9.6): when a
 * response ends its connection before the request's body has all arrived (413 for a declared
 * size over the limit, 408 for a stalled body, 503 busy, any refusal answered before reading:
 * app.ts closes the connection of every answer that leaves the body unread, and a sender of
 * `Connection: close` closes its own; a request Node's parser refused, client-errors.ts), the
 * connection is not closed at once. Closed with the sender's bytes still unread, the kernel answers them with a
 * reset, and a reset can reach the sender before it has read our answer: it then sees a
 * network error instead of the refusal, and Learn sends the same envelope again. Instead our
 * side is half-closed (FIN after the answer), what the sender still sends is read and
 * dropped, and the socket is closed once the sender hangs up too, or at the first bound
 * reached: LINGER_MS in all (absolute, so a sender that trickles a byte now and then cannot
 * hold the connection: slowloris), LINGER_IDLE_MS without a byte, or LINGER_MAX_BYTES read.
 */
import { Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';

/**
 * The longest a connection lingers. A sender that reads answers while it uploads (curl,
 * undici, Java's HttpClient) stops within a round trip of the refusal; one that writes its
 * whole body before reading needs the time to send it. nginx gives 30 s; here a shutdown
 * waits for lingering connections too, so less.
 */
const LINGER_MS = 5_000;
/** No byte for this long: the sender has stopped, nothing is unread, a close resets nothing. */
const LINGER_IDLE_MS = 2_000;
/**
 * Dropped bytes after which the sender is cut off anyway. Above what a sender that stops at
 * the refusal can still have in flight (its socket buffer and ours, a few MiB each on Linux),
 * so a cut-off happens only to a sender that keeps pouring without reading.
 */
const LINGER_MAX_BYTES = 16 * 1024 * 1024;

export interface LingerLimits {
  ms: number;
  idleMs: number;
  maxBytes: number;
}

export interface LingeringClose {
  /**
   * Called for each request, before the app sees it: if its response ends the connection
   * before its body has arrived, the connection lingers. A request that arrives on a
   * lingering connection (pipelined after a `Connection: close` answer) closes it at once:
   * it gets no answer, and its body, unless already received whole, never arrives.
   */
  watch(request: IncomingMessage): void;
  /**
   * A refusal Node's HTTP parser made (client-errors.ts), already written: the connection
   * lingers as above. The parser stays in its error state, so nothing more of what the
   * sender sends becomes a request; Node raises `clientError` again for each chunk of it,
   * which the handler must leave alone while `has(socket)`.
   */
  lingerUnparsed(socket: Socket): void;
  /** True while `socket` lingers. */
  has(socket: Socket): boolean;
  /** Connections lingering now. */
  readonly count: number;
  /** Closes every lingering connection at once (shutdown's deadline). */
  cutAll(): void;
}

/** How often a lingering connection's bytes are looked at, at most. */
const CHECK_EVERY_MS = 100;

export function createLingeringClose(limits: Partial<LingerLimits> = {}): LingeringClose {
  const { ms = LINGER_MS, idleMs = LINGER_IDLE_MS, maxBytes = LINGER_MAX_BYTES } = limits;
  const lingering = new Map<Socket, () => void>();

  function linger(socket: Socket, request?: IncomingMessage): void {
    if (socket.destroyed || lingering.has(socket)) return;
    const started = Date.now();
    const startBytes = socket.bytesRead;
    let lastBytes = startBytes;
    let lastByteAt = started;
    const close = () => {
      clearTimeout(total);
      clearInterval(check);
      lingering.delete(socket);
      socket.destroy();
    };
    const total = setTimeout(close, ms);
    // Node's HTTP parser reads the socket, and drops the body of a request nobody reads;
    // socket.bytesRead says how much has come.
    const check = setInterval(() => {
      const now = Date.now();
      if (socket.bytesRead !== lastBytes) {
        lastBytes = socket.bytesRead;
        lastByteAt = now;
      }
      if (now - lastByteAt >= idleMs || lastBytes - startBytes >= maxBytes) close();
    }, Math.min(CHECK_EVERY_MS, idleMs));
    lingering.set(socket, close);
    // The sender hung up too: everything it sent has been read, so the close resets nothing.
    socket.once('end', close);
    socket.once('error', close);
    socket.once('close', close);
    socket.end();
    // Whatever still arrives of the body is read and dropped; a handler that stopped reading
    // it (a 413 mid-body) left the request paused, which would leave it unread.
    request?.removeAllListeners('data');
    request?.resume();
  }

  return {
    watch(request) {
      const socket = request.socket;
      if (lingering.has(socket)) {
        socket.destroy();
        return;
      }
      // Node ends a connection after its last response with socket.destroySoon()
      // (node:_http_server's resOnFinish): end, then destroy once our side is flushed. For
      // this request's connection that becomes a linger when its body has not all arrived.
      socket.destroySoon = () => {
        if (request.complete) Socket.prototype.destroySoon.call(socket);
        else linger(socket, request);
      };
    },
    lingerUnparsed(socket) {
      linger(socket);
    },
    has(socket) {
      return lingering.has(socket);
    },
    get count() {
      return lingering.size;
    },
    cutAll() {
      for (const close of [...lingering.values()]) close();
    },
  };
}
