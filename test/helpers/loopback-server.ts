/**
 * A Hono app's `fetch` served by @hono/node-server on 127.0.0.1 and a free port, as the
 * gateway serves its app, for route tests that build the app with test doubles of their own
 * (a wake counter, a short lock wait) and still send real requests over a socket.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type HttpBindings } from '@hono/node-server';

export interface LoopbackServer {
  /** e.g. `http://127.0.0.1:41234` */
  url: string;
  /** Stops listening and drops every connection (fetch keeps idle ones alive). */
  close(): Promise<void>;
}

export async function serveOnLoopback(fetch: (request: Request, env: HttpBindings) => Response | Promise<Response>): Promise<LoopbackServer> {
  const server = await new Promise<Server>((resolve) => {
    const started = serve({ fetch: (request, env) => fetch(request, env as HttpBindings), port: 0, hostname: '127.0.0.1' }, () => resolve(started as Server));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
