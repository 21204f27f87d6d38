/**
 * One client connection written byte by byte, for what a request-at-a-time helper cannot
 * show: whether the server said 100 Continue before answering, several responses on one
 * kept-alive connection, and whether the server hung up.
 */
import { connect, type Socket } from 'node:net';
import { waitFor } from './wait-for.ts';

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface Wire {
  socket: Socket;
  write(data: string | Buffer): void;
  /** Every complete response so far, interim ones (100 Continue) included, in order. */
  responses(): WireResponse[];
  /** Waits until `count` complete responses (interim ones included) have arrived. */
  waitForResponses(count: number): Promise<WireResponse[]>;
  /** True once the server closed its side. */
  closedByServer(): boolean;
  /** Resolves once the server has closed its side. */
  serverClosed: Promise<void>;
}

export async function openWire(baseUrl: string): Promise<Wire> {
  const url = new URL(baseUrl);
  const socket = connect(Number(url.port), url.hostname);
  const received: Buffer[] = [];
  let ended = false;
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  // The server may hang up while we write; what it answered is still in `received`.
  socket.on('error', () => socket.destroy());
  const serverClosed = new Promise<void>((resolve) => {
    socket.once('end', () => {
      ended = true;
      resolve();
    });
    socket.once('close', () => {
      ended = true;
      resolve();
    });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const responses = () => parseResponses(Buffer.concat(received));
  return {
    socket,
    write: (data) => void socket.write(data),
    responses,
    async waitForResponses(count) {
      await waitFor(`${count} responses`, () => responses().length >= count || ended);
      const all = responses();
      if (all.length < count) throw new Error(`the server closed after ${all.length} of ${count} responses`);
      return all;
    },
    closedByServer: () => ended,
    serverClosed,
  };
}

/** The request line and headers of a request to `baseUrl`, ending with the blank line. */
export function requestHead(baseUrl: string, requestLine: string, headers: Record<string, string | number>): string {
  const lines = [requestLine, `Host: ${new URL(baseUrl).host}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function parseResponses(bytes: Buffer): WireResponse[] {
  const out: WireResponse[] = [];
  let at = 0;
  for (;;) {
    const headEnd = bytes.indexOf('\r\n\r\n', at);
    if (headEnd < 0) return out;
    const [statusLine = '', ...lines] = bytes.subarray(at, headEnd).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let next = headEnd + 4;
    let body: Buffer = Buffer.alloc(0);
    if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = bytes.indexOf('\r\n', next);
        if (lineEnd < 0) return out;
        const size = parseInt(bytes.subarray(next, lineEnd).toString('latin1'), 16);
        if (size === 0) {
          if (bytes.length < lineEnd + 4) return out;
          next = lineEnd + 4;
          break;
        }
        if (bytes.length < lineEnd + 2 + size + 2) return out;
        parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
        next = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (bytes.length < next + length) return out;
      body = bytes.subarray(next, next + length);
      next += length;
    }
    out.push({ status, headers, body: body.toString('utf8') });
    at = next;
  }
}
