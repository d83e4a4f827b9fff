import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generateCoreKeySet, parseCoreKeySet, type CoreKeySet } from '@hearth/shared';
import { ConfigError } from '../errors.js';

/**
 * The core's private key set on disk (JSON, mode 0600). The private half never leaves this
 * file; the edge gets `publicKeySet(...)`.
 */
export async function readKeySet(path: string): Promise<CoreKeySet> {
  let json: string;
  try {
    json = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(
      `no core key at ${path} (HEARTH_KEY_FILE): run \`npx hearth keygen\` and give the printed public key to the edge as HEARTH_CORE_JWKS`,
      { cause },
    );
  }
  try {
    return parseCoreKeySet(json, `the key file ${path}`, true);
  } catch (cause) {
    throw new ConfigError(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/** Writes a fresh key set; refuses to overwrite one unless `force` (that would orphan the edge's copy). */
export async function writeNewKeySet(path: string, force = false): Promise<CoreKeySet> {
  const keySet = await generateCoreKeySet();
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await writeFile(path, `${JSON.stringify(keySet, null, 2)}\n`, { mode: 0o600, flag: force ? 'w' : 'wx' });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConfigError(`${path} already holds a core key; pass --force to replace it (the edge must then get the new public key)`, { cause });
    }
    throw cause;
  }
  await chmod(path, 0o600);
  return keySet;
}

/** Reads the key set, creating one first if there is none (local development). */
export async function ensureKeySet(path: string): Promise<{ keySet: CoreKeySet; created: boolean }> {
  try {
    return { keySet: await readKeySet(path), created: false };
  } catch (error) {
    if (error instanceof ConfigError && error.cause && (error.cause as NodeJS.ErrnoException).code === 'ENOENT') {
      return { keySet: await writeNewKeySet(path), created: true };
    }
    throw error;
  }
}
