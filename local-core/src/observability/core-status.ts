import { z } from 'zod';

const lookups = z.object({ hits: z.number(), misses: z.number() });

/** What `GET /status` on the admin port answers, and what `hearth status` reads back. */
export const CoreStatusSchema = z.object({
  core_id: z.string(),
  version: z.string(),
  started_at: z.number(),
  tunnel: z.object({ state: z.string(), edge: z.string(), credits: z.number() }),
  engine: z.object({ name: z.string(), model: z.string(), sequences: z.number() }),
  queue: z.object({ kind: z.string(), waiting: z.number(), active: z.number(), running: z.number(), held: z.number() }),
  memory: z.object({ state_tier: z.string(), l1: lookups.extend({ entries: z.number(), bytes: z.number() }), l2: lookups.nullable(), l3: lookups }),
  recall: z.string(),
  rss_bytes: z.number(),
});
export type CoreStatus = z.infer<typeof CoreStatusSchema>;
