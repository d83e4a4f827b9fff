import { HearthError } from '@hearth/shared';

/** Configuration the core cannot start with. The message names the variable and the fix. */
export class ConfigError extends HearthError {
  override readonly name = 'ConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('bad_config', message, options);
  }
}

/** No model file where the configuration says, or none found at all. */
export class ModelNotFoundError extends HearthError {
  override readonly name = 'ModelNotFoundError';
  constructor(message: string) {
    super('model_not_found', message);
  }
}
