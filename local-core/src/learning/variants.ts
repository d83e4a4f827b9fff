import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.js';

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * One way of answering: a model file (default: the core's HEARTH_MODEL), an optional LoRA
 * adapter on it, a system prompt and sampling settings (defaults: the core's).
 */
const VariantSchema = z.strictObject({
  name: z.string().regex(NAME, 'a variant name is 1-64 characters of A-Z a-z 0-9 . _ -'),
  model: z.string().min(1).optional(),
  lora: z.strictObject({ path: z.string().min(1), scale: z.number().min(0).max(4).default(1) }).optional(),
  system_prompt: z.string().min(1).max(2000).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().gt(0).max(1).optional(),
  max_tokens: z.number().int().min(1).max(8192).optional(),
});

/** The experiments file (HEARTH_EXPERIMENTS): the variants, and how users are split between them. */
const ExperimentsFileSchema = z
  .strictObject({
    variants: z.array(VariantSchema).min(1).max(16),
    experiment: z.strictObject({
      /** Part of each user's hash: a new name reshuffles who gets what. */
      name: z.string().regex(NAME, 'an experiment name is 1-64 characters of A-Z a-z 0-9 . _ -').default('default'),
      /** Variant name → weight; users are split in proportion. */
      variants: z.record(z.string(), z.number().min(0).max(1_000_000)),
    }),
  })
  .superRefine((file, ctx) => {
    const names = new Set<string>();
    file.variants.forEach((variant, index) => {
      if (names.has(variant.name)) ctx.addIssue({ code: 'custom', path: ['variants', index, 'name'], message: `variant "${variant.name}" is listed twice` });
      names.add(variant.name);
    });
    for (const name of Object.keys(file.experiment.variants)) {
      if (!names.has(name)) ctx.addIssue({ code: 'custom', path: ['experiment', 'variants', name], message: `no variant named "${name}" in variants` });
    }
    if (Object.values(file.experiment.variants).reduce((a, b) => a + b, 0) <= 0) {
      ctx.addIssue({ code: 'custom', path: ['experiment', 'variants'], message: 'the weights must add up to more than 0' });
    }
  });

export type ExperimentsFile = z.infer<typeof ExperimentsFileSchema>;

/** A variant with its files resolved (absolute paths; `model` undefined: the core's model). */
export interface Variant {
  name: string;
  model: string | undefined;
  lora: { path: string; scale: number } | undefined;
  systemPrompt: string | undefined;
  temperature: number | undefined;
  topP: number | undefined;
  maxTokens: number | undefined;
}

export interface ExperimentsConfig {
  /** Where it was read from; undefined: no file, one `default` variant (the core's settings). */
  file: string | undefined;
  variants: Variant[];
  experiment: { name: string; weights: { variant: string; weight: number }[] };
}

/** The name of the one variant a core without HEARTH_EXPERIMENTS runs. */
const DEFAULT_VARIANT = 'default';

/** Without a file: everyone gets the core's own model and settings, recorded as `default`. */
export const SINGLE_VARIANT: ExperimentsConfig = {
  file: undefined,
  variants: [{ name: DEFAULT_VARIANT, model: undefined, lora: undefined, systemPrompt: undefined, temperature: undefined, topP: undefined, maxTokens: undefined }],
  experiment: { name: 'default', weights: [{ variant: DEFAULT_VARIANT, weight: 1 }] },
};

const where = (path: readonly PropertyKey[]) =>
  path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : `${out}${out ? '.' : ''}${String(key)}`), '') || '(top level)';

/**
 * Reads and validates the experiments file. Relative model and adapter paths are relative to
 * the file. Every model and adapter must exist now: a missing one stops the start, naming the
 * variant and the path, rather than failing on a user's message later.
 *
 * @throws ConfigError naming the file, the field and the fix
 * @example
 * const experiments = loadExperiments(process.env.HEARTH_EXPERIMENTS);
 */
export function loadExperiments(path: string | undefined): ExperimentsConfig {
  if (path === undefined || path === '') return SINGLE_VARIANT;
  const file = resolve(path);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`HEARTH_EXPERIMENTS=${path}: cannot read it as JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const parsed = ExperimentsFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `HEARTH_EXPERIMENTS=${path}: ${where(issue.path)}: ${issue.message}`).join('\n'));
  }
  const base = dirname(file);
  const problems: string[] = [];
  const checked = (variant: string, field: string, value: string): string => {
    const absolute = resolve(base, value);
    if (!existsSync(absolute) || !statSync(absolute).isFile()) problems.push(`HEARTH_EXPERIMENTS=${path}: variant "${variant}": ${field} ${absolute} does not exist`);
    return absolute;
  };
  const variants = parsed.data.variants.map((v) => ({
    name: v.name,
    model: v.model === undefined ? undefined : checked(v.name, 'model file', v.model),
    lora: v.lora === undefined ? undefined : { path: checked(v.name, 'LoRA adapter', v.lora.path), scale: v.lora.scale },
    systemPrompt: v.system_prompt,
    temperature: v.temperature,
    topP: v.top_p,
    maxTokens: v.max_tokens,
  }));
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
  // In the order of `variants`, so the split does not depend on how the weights were written.
  const weights = variants.map((v) => ({ variant: v.name, weight: parsed.data.experiment.variants[v.name] ?? 0 })).filter((w) => w.weight > 0);
  return { file, variants, experiment: { name: parsed.data.experiment.name, weights } };
}

/** The variant named so, or a ConfigError listing the ones there are. */
export function variantNamed(config: ExperimentsConfig, name: string): Variant {
  const variant = config.variants.find((v) => v.name === name);
  if (!variant) throw new ConfigError(`no variant "${name}"${config.file ? ` in ${config.file}` : ''}; there are: ${config.variants.map((v) => v.name).join(', ')}`);
  return variant;
}
