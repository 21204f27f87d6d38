/**
 * The "obvious alternative" from TimeBack's integration guide: inside the request, for each
 * event, look the student up in the roster and POST the event, one after another, then
 * answer. No store, no cache, no concurrency. It gets one token at start, which is kind to it.
 *
 * Env: TIMEBACK_BASE_URL, TIMEBACK_APP_ID, TIMEBACK_CLIENT_ID, TIMEBACK_CLIENT_SECRET, PORT (0,
 * the default, takes any free port). Prints `listening <url>`.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { fetchEmulatorToken } from './emulator-token.ts';

const base = process.env.TIMEBACK_BASE_URL as string;
const appId = process.env.TIMEBACK_APP_ID as string;
const token = await fetchEmulatorToken();
const auth = { authorization: `Bearer ${token}` };

type Event = { id: string; type: string; action: string; eventTime: string; object?: { id?: string }; actor?: { extensions?: Record<string, string> }; membership?: { extensions?: Record<string, string> } };

const app = new Hono();
app.post('/caliper', async (c) => {
  const envelope = (await c.req.json()) as { data: Event[] };
  for (const event of envelope.data) {
    const externalId = event.actor?.extensions?.['bb:user.externalId'] ?? event.membership?.extensions?.['bb:user.externalId'];
    if (!externalId) continue;
    const filter = encodeURIComponent(`identifier='${externalId.replaceAll("'", "''")}'`);
    const roster = await fetch(`${base}/rostering/1.0/users?filter=${filter}`, { headers: auth });
    const { users } = (await roster.json()) as { users: Array<{ sourcedId: string }> };
    const user = users[0];
    if (!user) continue;
    await fetch(`${base}/events/1.0/`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        '@context': 'http://purl.imsglobal.org/ctx/caliper/v1p2',
        id: `urn:uuid:${event.id}`,
        type: 'Event',
        profile: 'GeneralProfile',
        actor: `urn:uuid:${user.sourcedId}`,
        action: event.action,
        object: event.object?.id ?? 'urn:tag:unknown',
        eventTime: event.eventTime,
        edApp: `urn:uuid:${appId}`,
        session: 'urn:tag:auto-attach',
      }),
    }).then((res) => res.arrayBuffer());
  }
  return c.body(null, 200);
});
serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`listening http://127.0.0.1:${info.port}\n`);
});
