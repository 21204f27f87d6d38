/**
 * POST /caliper and GET /caliper: Learn's Caliper Event Store endpoint.
 * (Placeholder: issue 2 implements intake.)
 */
import { Hono } from 'hono';
import type { AppDeps, AppEnv } from '../app.ts';

export function caliperRoutes(_deps: AppDeps) {
  return new Hono<AppEnv>();
}
