/**
 * `Expect: 100-continue` for POST /caliper and /admin/*. Java HTTP clients send it with large
 * bodies and upload nothing until the server says 100 Continue. Node says it before any
 * handler runs, so a sender with a wrong key, a wrong Content-Type or an oversized envelope
 * (or a wrong admin token) was invited to upload all of it only to hear 401, 415 or 413.
 * Here the server leaves the 100 to the route, which sends it only once those checks pass
 * (readBody invites the body just before reading it); a request refused first is answered
 * at once, with `Connection: close` since its body was never read.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const awaiting = new WeakSet<IncomingMessage>();
// As app.ts routes them.
const CALIPER_PATHS = new Set(['/caliper', '/caliper/']);

/**
 * The server's `checkContinue` handler: holds back the 100 for POST /caliper and for every
 * request under /admin (the route sends it, after the token check), and sends it at once for
 * any other request, as Node would.
 */
export function answerExpectContinue(request: IncomingMessage, response: ServerResponse): void {
  if (holdsContinue(request.method, pathOf(request.url))) awaiting.add(request);
  else response.writeContinue();
}

function holdsContinue(method: string | undefined, path: string): boolean {
  if (method === 'POST' && CALIPER_PATHS.has(path)) return true;
  return path === '/admin' || path.startsWith('/admin/');
}

/** True while the sender waits for our 100 Continue before sending the body. */
export function awaitsContinue(request: IncomingMessage | undefined): boolean {
  return request !== undefined && awaiting.has(request);
}

/** Invites the body, if the sender waits to be invited; called just before reading it. */
export function inviteBody(request: IncomingMessage, response: ServerResponse | undefined): void {
  if (!awaiting.delete(request) || !response || response.headersSent) return;
  response.writeContinue();
}

// The path as routed: origin-form or absolute-form (from a proxy), without the query.
function pathOf(url: string | undefined): string {
  try {
    return new URL(url ?? '/', 'http://gateway.invalid').pathname;
  } catch {
    return '';
  }
}
