import { describe, expect, it } from 'vitest';
import { RedactionConfigSchema, RedactionEnvSchema, redactionConfigFromEnv } from './config.js';
import { REDACTION_KINDS } from './kinds.js';

describe('redaction configuration', () => {
  it('defaults to every kind, with the model seeing what the user wrote', () => {
    expect(RedactionConfigSchema.parse({})).toEqual({ kinds: [...REDACTION_KINDS], redactModelInput: false });
    expect(redactionConfigFromEnv(RedactionEnvSchema.parse({}))).toEqual({ kinds: [...REDACTION_KINDS], redactModelInput: false });
  });

  it('reads kinds and the model switch from the environment', () => {
    const env = RedactionEnvSchema.parse({ HEARTH_REDACT_KINDS: ' Card, secret ,card', HEARTH_REDACT_MODEL_INPUT: 'on' });
    expect(redactionConfigFromEnv(env)).toEqual({ kinds: ['card', 'secret'], redactModelInput: true });
    expect(RedactionEnvSchema.parse({ HEARTH_REDACT_KINDS: 'none' }).HEARTH_REDACT_KINDS).toEqual([]);
  });

  it('names the variable and the fix when a value is wrong', () => {
    const kinds = RedactionEnvSchema.safeParse({ HEARTH_REDACT_KINDS: 'card,passport' });
    expect(kinds.error?.issues[0]?.message).toMatch(/HEARTH_REDACT_KINDS: "passport" is not a kind; use a comma-separated list of secret, email/);
    const model = RedactionEnvSchema.safeParse({ HEARTH_REDACT_MODEL_INPUT: 'maybe' });
    expect(model.error?.issues[0]?.message).toBe('HEARTH_REDACT_MODEL_INPUT must be on or off (default)');
    expect(RedactionConfigSchema.safeParse({ kinds: ['passport'] }).success).toBe(false);
  });
});
