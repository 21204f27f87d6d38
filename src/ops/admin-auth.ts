/**
 * Guards `/admin/*` with ADMIN_TOKEN. Admin HTTP is off (404) when no token is set, so a
 * gateway started with no configuration exposes nothing that can change its queue. Wrong
 * tokens are limited per client address (auth-failures.ts), apart from wrong ingest keys.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { tooManyWrongKeys, type AuthFailures } from '../auth-failures.ts';
import { GatewayError } from '../errors.ts';
import { secretDigest } from '../ingest/api-keys.ts';

export function adminAuth(adminToken: string | undefined, failures: AuthFailures, clientAddress: (c: Context) => string): MiddlewareHandler {
  const expected = adminToken === undefined ? undefined : secretDigest(adminToken);
  return async (c, next) => {
    if (!expected) {
      throw new GatewayError(404, 'admin-disabled', 'Admin HTTP is off; set ADMIN_TOKEN to turn it on');
    }
    const presented = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1]?.trim();
    const verify = () => presented !== undefined && presented !== '' && timingSafeEqual(secretDigest(presented), expected);
    const verdict = failures.check(clientAddress(c), verify);
    if (verdict.outcome === 'limited') throw tooManyWrongKeys(verdict.retryAfterSeconds);
    if (verdict.outcome === 'wrong') {
      throw new GatewayError(401, 'unauthorized', 'Send the admin token as "Authorization: Bearer <ADMIN_TOKEN>"', {
        headers: { 'www-authenticate': 'Bearer realm="caliper-gateway admin"' },
      });
    }
    await next();
  };
}
