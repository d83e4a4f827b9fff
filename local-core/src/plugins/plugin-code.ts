import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

/** The files of a plugin the engine may import: its JavaScript modules. */
const MODULE = /\.m?js$/;

/**
 * A plugin's modules read by the core, to hand to its host process (which reads no plugin file
 * itself). `files` comes from the scan, which refused links; O_NOFOLLOW refuses one made since.
 *
 * @example
 * const files = await readPluginModules(plugin.dir, plugin.files); // { 'handler.mjs': '…' }
 */
export async function readPluginModules(dir: string, files: readonly string[]): Promise<Record<string, string>> {
  const modules: Record<string, string> = {};
  for (const file of files.filter((path) => MODULE.test(path))) {
    const handle = await open(join(dir, file), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      modules[file] = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  }
  return modules;
}
