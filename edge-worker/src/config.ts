import { parseEdgeConfig, type EdgeConfig } from '@hearth/shared';
import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from './app-env.js';
import { configureLog } from './log.js';

export type { EdgeConfig };

/**
 * Workers have no start-up to fail at, so a missing or bad setting answers 503 (platforms
 * retry later; nothing is lost) and the log names which variable to set and how.
 */
export class EdgeConfigError extends HTTPException {
  override readonly name = 'EdgeConfigError';
  constructor(readonly problems: string[]) {
    super(503, { message: `edge is misconfigured: ${problems.join('; ')}` });
  }
}

// Bindings are fixed for an isolate's life: validate once per env object.
const cache = new WeakMap<object, EdgeConfig>();

/** The validated configuration; throws {@link EdgeConfigError} naming each bad variable. */
export function loadConfig(env: Env): EdgeConfig {
  const cached = cache.get(env);
  if (cached) return cached;
  const result = parseEdgeConfig({ ...env });
  if (!result.ok) throw new EdgeConfigError(result.problems);
  configureLog(result.config.logLevel, result.config.logKey);
  cache.set(env, result.config);
  return result.config;
}

/** Puts the configuration on the context for the routes after it (503 while it is broken). */
export const withConfig: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set('config', loadConfig(c.env));
  await next();
};
