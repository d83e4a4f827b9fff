import type { EdgeConfig } from './config.js';

/** Hono's environment for this app: bindings from `wrangler types`, variables set by middleware. */
export interface AppEnv {
  Bindings: Env;
  Variables: { config: EdgeConfig };
}
