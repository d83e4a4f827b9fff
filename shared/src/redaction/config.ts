import { z } from 'zod';
import { REDACTION_KINDS, RedactionKindSchema, type RedactionKind } from './kinds.js';

/**
 * Redaction settings. Logs, what is stored for learning and exports are always redacted (of
 * these kinds); `redactModelInput` decides whether the model, which runs at home, is given the
 * redacted text too instead of what the user wrote.
 */
export const RedactionConfigSchema = z.object({
  kinds: z.array(RedactionKindSchema).default([...REDACTION_KINDS]),
  redactModelInput: z.boolean().default(false),
});
export type RedactionConfig = z.infer<typeof RedactionConfigSchema>;

const KINDS_HELP = `a comma-separated list of ${REDACTION_KINDS.join(', ')}, or all, or none`;

/**
 * The same settings as environment variables, for the core's env schema to embed
 * (`CoreEnvSchema.extend(RedactionEnvSchema.shape)`); each error names its variable:
 * - `HEARTH_REDACT_KINDS`: kinds to redact, e.g. `card,iban,secret` (default `all`);
 * - `HEARTH_REDACT_MODEL_INPUT`: `on` to give the model redacted text too (default `off`).
 */
export const RedactionEnvSchema = z.object({
  HEARTH_REDACT_KINDS: z
    .string()
    .default('all')
    .transform((list, ctx): RedactionKind[] => {
      const names = list.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
      if (names.length === 1 && names[0] === 'all') return [...REDACTION_KINDS];
      if (names.length === 1 && names[0] === 'none') return [];
      const kinds: RedactionKind[] = [];
      for (const name of names) {
        const kind = RedactionKindSchema.safeParse(name);
        if (kind.success) kinds.push(kind.data);
        else ctx.addIssue({ code: 'custom', message: `HEARTH_REDACT_KINDS: "${name}" is not a kind; use ${KINDS_HELP}` });
      }
      if (names.length === 0) ctx.addIssue({ code: 'custom', message: `HEARTH_REDACT_KINDS is empty; use ${KINDS_HELP}` });
      return [...new Set(kinds)];
    })
    .meta({ description: "what redaction hides from the core's logs: a comma-separated list of `card`, `email`, `phone`, `iban`, `national_id`, `secret`, or `all`, or `none` (dataset exports always redact every kind)" }),
  HEARTH_REDACT_MODEL_INPUT: z
    .enum(['on', 'off', 'true', 'false', '1', '0'], { error: 'HEARTH_REDACT_MODEL_INPUT must be on or off (default)' })
    .default('off')
    .transform((value) => value === 'on' || value === 'true' || value === '1')
    .meta({ description: '`on`: the model sees redacted text too (it runs at home, so by default it sees what was written)' }),
});

/**
 * The {@link RedactionConfig} of parsed environment variables.
 *
 * @example
 * redactionConfigFromEnv(RedactionEnvSchema.parse({ HEARTH_REDACT_KINDS: 'card,secret' }));
 * // { kinds: ['card', 'secret'], redactModelInput: false }
 */
export const redactionConfigFromEnv = (env: z.output<typeof RedactionEnvSchema>): RedactionConfig => ({
  kinds: env.HEARTH_REDACT_KINDS,
  redactModelInput: env.HEARTH_REDACT_MODEL_INPUT,
});
