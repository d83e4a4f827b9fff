import { parseEdgeConfig, type EdgeConfig as Settings, type EmailConfig } from '@hearth/shared';
import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from './app-env.js';
import { configureLog } from './log.js';

/** E-mail as the worker has it: the settings, and the `send_email` binding replies leave through. */
export interface EmailSetup extends EmailConfig {
  binding: SendEmail;
}

/** The validated settings, with what only the worker has (bindings). */
export type EdgeConfig = Omit<Settings, 'email'> & { email: EmailSetup | undefined };

/** The `send_email` binding's name in wrangler.jsonc. */
export const EMAIL_BINDING = 'EMAIL';

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
  const binding = (env as Partial<Record<typeof EMAIL_BINDING, SendEmail>>)[EMAIL_BINDING];
  const { email } = result.config;
  if (email && !binding) {
    throw new EdgeConfigError([`EMAIL_ADDRESS is set but there is no send_email binding named ${EMAIL_BINDING}: add it to wrangler.jsonc (docs/platforms.md: "Email")`]);
  }
  const config: EdgeConfig = { ...result.config, email: email && binding ? { ...email, binding } : undefined };
  configureLog(config.logLevel, config.logKey);
  cache.set(env, config);
  return config;
}

/** Puts the configuration on the context for the routes after it (503 while it is broken). */
export const withConfig: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set('config', loadConfig(c.env));
  await next();
};
