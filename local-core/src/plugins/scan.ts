import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { isPluginName, type Manifest, parseManifest } from './manifest.js';

/** One folder of the plugins directory, read: its manifest, or why it cannot be loaded. */
export interface ScannedPlugin {
  /** The folder's name (a valid plugin name, or the entry is a problem and nothing more). */
  name: string;
  /** The folder's real path. */
  dir: string;
  manifest: Manifest | undefined;
  /** The handler's real path, inside `dir`. */
  entryPath: string | undefined;
  problems: string[];
  /** Changes whenever any file of the plugin does: a reload is due. */
  fingerprint: string;
}

const MAX_MANIFEST_BYTES = 64 * 1024;
const MAX_FILES = 2_000;
const MAX_DEPTH = 8;

/**
 * Reads every plugin folder under `root` (folders starting with `.` are skipped). A folder is
 * refused, with the reason, when its name is not a plugin name (checked before any path is
 * built from it), its plugin.json is missing or invalid, its entry is not a file inside it, or
 * it holds a symbolic link anywhere: Node's permission model follows links, so a link would let
 * the plugin read whatever it points at.
 *
 * @returns the plugins by name; an absent `root` is no plugins
 * @example
 * for (const plugin of await scanPlugins('plugins')) if (plugin.problems.length) console.warn(plugin.name, plugin.problems);
 */
export async function scanPlugins(root: string): Promise<ScannedPlugin[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const rootReal = await realpath(root);
  const found: ScannedPlugin[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.name.startsWith('.')) continue;
    if (!isPluginName(entry.name)) {
      found.push(problem(entry.name, resolve(root), `"${entry.name}" is not a plugin name (1-40 of a-z 0-9 -): rename the folder`));
      continue;
    }
    const dir = join(rootReal, entry.name);
    if (entry.isSymbolicLink()) {
      found.push(problem(entry.name, dir, 'the plugin folder is a symbolic link: copy the plugin in instead'));
      continue;
    }
    if (!entry.isDirectory()) continue;
    found.push(await scanOne(entry.name, dir));
  }
  return found;
}

function problem(name: string, dir: string, text: string): ScannedPlugin {
  return { name, dir, manifest: undefined, entryPath: undefined, problems: [text], fingerprint: `problem:${text}` };
}

async function scanOne(name: string, dir: string): Promise<ScannedPlugin> {
  const { fingerprint, links } = await fingerprintOf(dir);
  const failed = (text: string): ScannedPlugin => ({ name, dir, manifest: undefined, entryPath: undefined, problems: [text], fingerprint });
  if (links.length > 0) return failed(`it contains a symbolic link (${links.slice(0, 3).join(', ')}): plugins may not, since a link could reach files outside the folder`);
  let text: string;
  try {
    const info = await lstat(join(dir, 'plugin.json'));
    if (info.size > MAX_MANIFEST_BYTES) return failed(`plugin.json is over ${MAX_MANIFEST_BYTES} bytes`);
    text = await readFile(join(dir, 'plugin.json'), 'utf8');
  } catch {
    return failed('no plugin.json in the folder: add one (`hearth plugins new NAME` writes an example)');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return failed(`plugin.json is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const result = parseManifest(json, name);
  if (!result.ok) return { name, dir, manifest: undefined, entryPath: undefined, problems: result.problems, fingerprint };
  const entryPath = join(dir, result.manifest.entry);
  try {
    const real = await realpath(entryPath);
    if (!real.startsWith(dir + sep)) return failed(`entry: ${result.manifest.entry} resolves outside the plugin folder`);
    if (!(await lstat(real)).isFile()) return failed(`entry: ${result.manifest.entry} is not a file`);
  } catch {
    return failed(`entry: ${result.manifest.entry} does not exist in the plugin folder`);
  }
  return { name, dir, manifest: result.manifest, entryPath, problems: [], fingerprint };
}

/** A hash of every file's path, size and mtime, and the symbolic links found on the way. */
async function fingerprintOf(dir: string): Promise<{ fingerprint: string; links: string[] }> {
  const hash = createHash('sha256');
  const links: string[] = [];
  let files = 0;
  const walk = async (folder: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH || files > MAX_FILES) return;
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(folder, entry.name);
      files += 1;
      if (entry.isSymbolicLink()) links.push(relative(dir, path));
      else if (entry.isDirectory()) await walk(path, depth + 1);
      else {
        const info = await lstat(path).catch(() => undefined);
        hash.update(`${relative(dir, path)}\0${info?.size}\0${info?.mtimeMs}\n`);
      }
    }
  };
  await walk(dir, 0);
  return { fingerprint: hash.digest('hex'), links };
}
