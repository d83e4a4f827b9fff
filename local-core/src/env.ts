import type { z } from 'zod';
import { ConfigError } from './errors.js';

/**
 * Validates environment variables with a schema. Empty strings mean "unset", as they do in a
 * `.env` file with `NAME=`.
 *
 * @throws ConfigError with one line per bad variable (each schema message names its variable)
 * @example
 * const e = parseEnv(MemoryEnvSchema, process.env);
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((issue) => issue.message).join('\n'));
  return parsed.data;
}
