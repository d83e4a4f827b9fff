import { access, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelNotFoundError } from '../errors.js';
import { pullModel } from './model-pull.js';
import { isModelUri } from './model-uri.js';

/**
 * Which GGUF to load: the explicit reference if given — a path, which must exist, or a model
 * URI (`hf:...`, https), downloaded into the first of `dirs` unless already there — else the
 * first `*.gguf`, by name, in the first of `dirs` that has one.
 *
 * @throws ModelNotFoundError saying what was looked at and how to point at a model
 */
export async function resolveModelPath(explicit: string | undefined, dirs: readonly string[]): Promise<string> {
  if (explicit && isModelUri(explicit)) return pullModel(explicit, dirs[0] ?? 'models');
  if (explicit) {
    const path = resolve(explicit);
    try {
      await access(path);
      return path;
    } catch {
      throw new ModelNotFoundError(`HEARTH_MODEL points at ${path}, which does not exist: fix the path or unset it to use ./models`);
    }
  }
  for (const dir of dirs) {
    const files = await readdir(dir).catch(() => [] as string[]);
    const gguf = files.filter((f) => f.toLowerCase().endsWith('.gguf')).sort()[0];
    if (gguf) return resolve(join(dir, gguf));
  }
  throw new ModelNotFoundError(
    `no model: HEARTH_MODEL is not set and there is no .gguf file in ${dirs.map((d) => resolve(d)).join(', ')}. ` +
      'Download one (`npx hearth models pull` fetches the default chat model) or copy a .gguf into ./models, or set HEARTH_MODEL=/path/to/model.gguf',
  );
}
