import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelNotFoundError } from '../src/errors.js';
import { resolveModelPath } from '../src/inference/model-path.js';
import { tempDir } from './support.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe('resolveModelPath', () => {
  it('takes an explicit path that exists', async () => {
    const path = join(dir, 'mine.gguf');
    await writeFile(path, '');
    expect(await resolveModelPath(path, [])).toBe(path);
  });

  it('names HEARTH_MODEL when the explicit path does not exist', async () => {
    const error = await resolveModelPath(join(dir, 'gone.gguf'), []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect((error as Error).message).toMatch(/HEARTH_MODEL points at .*gone\.gguf/);
  });

  it('picks the first .gguf by name in the first folder that has one', async () => {
    await mkdir(join(dir, 'empty'));
    await mkdir(join(dir, 'models'));
    for (const name of ['b.gguf', 'a.GGUF', 'notes.txt']) await writeFile(join(dir, 'models', name), '');
    expect(await resolveModelPath(undefined, [join(dir, 'nowhere'), join(dir, 'empty'), join(dir, 'models')])).toBe(
      join(dir, 'models', 'a.GGUF'),
    );
  });

  it('says where it looked and how to get a model when there is none', async () => {
    const error = await resolveModelPath(undefined, [join(dir, 'models')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect((error as Error).message).toContain(join(dir, 'models'));
    expect((error as Error).message).toContain('HEARTH_MODEL=');
  });
});
