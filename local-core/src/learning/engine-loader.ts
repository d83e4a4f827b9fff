import type { CoreConfig } from '../config.js';
import { EchoEngine } from '../inference/engine.js';
import type { Logger } from '../logger.js';
import type { EngineLoader } from './variant-engine.js';

/**
 * Loads variants as the core's configuration says: the echo engine (diagnostic) for every
 * variant under HEARTH_ENGINE=echo, else node-llama-cpp with the variant's model (default: the
 * core's) and LoRA adapter.
 */
export function engineLoader(config: CoreConfig, log: Logger): EngineLoader {
  return async (variant, sequences) => {
    if (config.engine === 'echo') {
      log.warn({ variant: variant.name }, 'HEARTH_ENGINE=echo: diagnostic engine, replies repeat the message');
      return new EchoEngine(config.echoDelayMs, sequences ?? config.sequences ?? 4);
    }
    const { LlamaEngine } = await import('../inference/llama-engine.js');
    return LlamaEngine.create(
      {
        ...config,
        modelPath: variant.model ?? config.modelPath,
        sequences: sequences ?? config.sequences,
        ...(variant.lora ? { lora: variant.lora } : {}),
      },
      log.child({ variant: variant.name }),
    );
  };
}
