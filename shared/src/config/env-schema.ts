import { z } from 'zod';

declare module 'zod' {
  interface GlobalMeta {
    /**
     * What docs/configuration.md shows as a variable's default (Markdown) where the schema's own
     * is computed at start (the host name), derived from another variable, or absent.
     */
    shownDefault?: string;
  }
}

/**
 * A whole number read from an environment variable (a string), with errors that name the
 * variable: `HEARTH_QUEUE_MAX must be at least 1`.
 */
export function wholeNumber(name: string, min: number, max: number) {
  return z.coerce
    .number({ error: `${name} must be a whole number` })
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be at least ${min}`)
    .max(max, `${name} must be at most ${max}`);
}
