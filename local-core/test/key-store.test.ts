import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publicKeySet, seal, unseal } from '@hearth/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureKeySet, readKeySet, writeNewKeySet } from '../src/keys/key-store.js';
import { tempDir } from './support.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe('key store', () => {
  it('writes a private key set only its owner can read, and reads it back', async () => {
    const path = join(dir, 'nested', 'core-key.json');
    const written = await writeNewKeySet(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const read = await readKeySet(path);
    expect(read).toEqual(written);
    expect(await unseal(await seal('ping', publicKeySet(written)), read)).toBe('ping');
  });

  it('refuses to overwrite a key unless forced', async () => {
    const path = join(dir, 'core-key.json');
    const first = await writeNewKeySet(path);
    await expect(writeNewKeySet(path)).rejects.toThrow(/--force/);
    expect(await readKeySet(path)).toEqual(first);
    expect(await writeNewKeySet(path, true)).not.toEqual(first);
  });

  it('says to run keygen when there is no key, and what is wrong with a bad one', async () => {
    await expect(readKeySet(join(dir, 'missing.json'))).rejects.toThrow(/npx hearth keygen/);
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify(publicKeySet(await writeNewKeySet(join(dir, 'k.json')))));
    await expect(readKeySet(bad)).rejects.toThrow(/only public keys/);
  });

  it('creates a key on first use and reuses it after', async () => {
    const path = join(dir, 'core-key.json');
    const first = await ensureKeySet(path);
    const second = await ensureKeySet(path);
    expect(first.created).toBe(true);
    expect(second).toEqual({ keySet: first.keySet, created: false });
  });
});
