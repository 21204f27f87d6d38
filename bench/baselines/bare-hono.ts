/**
 * The ingest baseline: the same server stack as the gateway (Hono on @hono/node-server),
 * a handler that parses the JSON body and answers 200, and nothing else.
 *
 * Env: PORT (0, the default, takes any free port). Prints `listening <url>`.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.post('/caliper', async (c) => {
  await c.req.json();
  return c.body(null, 200);
});
serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`listening http://127.0.0.1:${info.port}\n`);
});
