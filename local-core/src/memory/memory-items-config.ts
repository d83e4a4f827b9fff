import { join } from 'node:path';
import { wholeNumber } from '@hearth/shared';
import { z } from 'zod';
import { parseEnv } from '../env.js';

/**
 * Memory items' settings (the facts kept about each sender):
 * - `HEARTH_MEMORY_ITEMS`: `off` to keep none and offer no `remember`/`forget` (default `on`);
 * - `HEARTH_MEMORY_TOKENS`: most prompt tokens a turn's recalled items take (default 200: a
 *   dozen short facts, small beside a 2k context; 0 keeps items but recalls none).
 */
export const MemoryItemsEnvSchema = z.object({
  HEARTH_DATA_DIR: z.string().min(1, 'HEARTH_DATA_DIR must be a folder path').default('.hearth'),
  HEARTH_MEMORY_ITEMS: z
    .enum(['on', 'off', 'true', 'false', '1', '0'], { error: 'HEARTH_MEMORY_ITEMS must be on (default) or off' })
    .default('on')
    .transform((v) => v === 'on' || v === 'true' || v === '1')
    .meta({ description: 'facts kept per sender (`MEMORY.md`, the `remember`/`forget` tools); `off` keeps none and offers no tools' }),
  HEARTH_MEMORY_TOKENS: wholeNumber('HEARTH_MEMORY_TOKENS', 0, 8192).default(200).meta({ description: "the most prompt tokens a turn's recalled facts take (0: kept, not recalled)" }),
});

export interface MemoryItemsConfig {
  enabled: boolean;
  /** The owner's editable copy: `<HEARTH_DATA_DIR>/MEMORY.md`. */
  filePath: string;
  budgetTokens: number;
}

/**
 * Validates the memory items' variables in `env`.
 *
 * @throws ConfigError naming each bad variable
 * @example
 * loadMemoryItemsConfig({}); // { enabled: true, filePath: '.hearth/MEMORY.md', budgetTokens: 200 }
 */
export function loadMemoryItemsConfig(env: NodeJS.ProcessEnv): MemoryItemsConfig {
  const e = parseEnv(MemoryItemsEnvSchema, env);
  return { enabled: e.HEARTH_MEMORY_ITEMS, filePath: join(e.HEARTH_DATA_DIR, 'MEMORY.md'), budgetTokens: e.HEARTH_MEMORY_TOKENS };
}
