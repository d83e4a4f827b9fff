import type { Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.js';
import { relayFor } from '../relay/stub.js';

const Query = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

/**
 * `GET /admin/dead-letters?limit=N` (behind `coreAuth('admin')`): messages the Relay gave up
 * on, newest first. Bodies stay sealed: only the core that asks can open them.
 */
export async function listDeadLetters(c: Context<AppEnv>): Promise<Response> {
  const { limit } = Query.parse(c.req.query());
  return c.json({ dead_letters: await relayFor(c.env).deadLetters(limit) });
}
