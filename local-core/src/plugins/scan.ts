import { createHash, type Hash } from 'node:crypto';
import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
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
  /**
   * Every regular file in `dir`, relative, with `/` separators, sorted: what the host may hand
   * to the plugin. Empty when the plugin is refused.
   */
  files: string[];
}

const MAX_MANIFEST_BYTES = 64 * 1024;
/** Entries (files, folders, links) in one plugin folder, all levels together. */
const MAX_FILES = 2_000;
/** Folders nested below the plugin folder. */
const MAX_DEPTH = 8;
/** The regular files' sizes, added up. */
const MAX_TOTAL_BYTES = 16 * 1024 * 1024;

/**
 * Reads every plugin folder under `root` (folders starting with `.` are skipped). A folder is
 * refused, with the reason, when its name is not a plugin name (checked before any path is
 * built from it), its plugin.json is missing or invalid, its entry is not a file inside it, or
 * it holds a symbolic link anywhere: Node's permission model follows links, so a link would let
 * the plugin read whatever it points at. The check fails closed: a folder that cannot be read
 * in full (an unreadable entry, too deep, too many entries, too many bytes) or that holds
 * anything but files and folders (a FIFO, a socket, a device) is refused, never half-read.
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
  return { name, dir, manifest: undefined, entryPath: undefined, problems: [text], fingerprint: `problem:${text}`, files: [] };
}

async function scanOne(name: string, dir: string): Promise<ScannedPlugin> {
  const contents = await readFolder(dir);
  const { fingerprint } = contents;
  const refused = (problems: string[]): ScannedPlugin => ({ name, dir, manifest: undefined, entryPath: undefined, problems, fingerprint, files: [] });
  const failed = (text: string): ScannedPlugin => refused([text]);
  const unsafe = folderProblems(contents);
  if (unsafe.length > 0) return refused(unsafe);
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
  if (!result.ok) return refused(result.problems);
  const entryPath = join(dir, result.manifest.entry);
  try {
    const real = await realpath(entryPath);
    if (!real.startsWith(dir + sep)) return failed(`entry: ${result.manifest.entry} resolves outside the plugin folder`);
    if (!(await lstat(real)).isFile()) return failed(`entry: ${result.manifest.entry} is not a file`);
  } catch {
    return failed(`entry: ${result.manifest.entry} does not exist in the plugin folder`);
  }
  return { name, dir, manifest: result.manifest, entryPath, problems: [], fingerprint, files: contents.files };
}

/** What a walk of a plugin folder found. */
interface FolderContents {
  /** A hash of every entry's path and type, and each file's size and mtime. */
  fingerprint: string;
  /** The regular files, relative with `/`, sorted. */
  files: string[];
  links: string[];
  /** Why the walk stopped before the end; undefined when it read everything. */
  stopped: string | undefined;
}

/** Why the folder is refused: the links found, and what stopped the walk. */
function folderProblems({ links, stopped }: FolderContents): string[] {
  const problems: string[] = [];
  if (links.length > 0) problems.push(`it contains a symbolic link (${links.slice(0, 3).join(', ')}): plugins may not, since a link could reach files outside the folder`);
  if (stopped !== undefined) problems.push(stopped);
  return problems;
}

/** Thrown inside the walk to stop it: the folder cannot be checked in full. */
class Unscannable extends Error {}

/** The walk's running state. */
interface Walk {
  dir: string;
  hash: Hash;
  files: string[];
  links: string[];
  entries: number;
  bytes: number;
}

/** Walks all of `dir` (links are listed, not followed), or stops at the first thing that makes it unsafe. */
async function readFolder(dir: string): Promise<FolderContents> {
  const walk: Walk = { dir, hash: createHash('sha256'), files: [], links: [], entries: 0, bytes: 0 };
  let stopped: string | undefined;
  try {
    await walkFolder(walk, '', 0);
  } catch (error) {
    if (!(error instanceof Unscannable)) throw error;
    stopped = error.message;
  }
  // Hashed too, so that fixing what stopped the walk is a change (a reload).
  walk.hash.update(`stopped\0${stopped ?? ''}\n`);
  return { fingerprint: walk.hash.digest('hex'), files: walk.files.sort(), links: walk.links, stopped };
}

const byName = (a: Dirent, b: Dirent) => (a.name < b.name ? -1 : 1);

async function walkFolder(walk: Walk, folder: string, depth: number): Promise<void> {
  if (depth > MAX_DEPTH) {
    throw new Unscannable(`the plugin folder nests folders more than ${MAX_DEPTH} deep (${folder}): the scan stops there, so the plugin is refused (flatten its folders)`);
  }
  let entries: Dirent[];
  try {
    entries = await readdir(join(walk.dir, folder), { withFileTypes: true });
  } catch (error) {
    throw unreadable(folder, error);
  }
  for (const entry of entries.sort(byName)) {
    const path = folder === '' ? entry.name : `${folder}/${entry.name}`;
    walk.entries += 1;
    if (walk.entries > MAX_FILES) {
      throw new Unscannable(`the plugin folder holds more than ${MAX_FILES} entries: the scan stops there, so the plugin is refused (a plugin this large is unusual; remove what it does not need)`);
    }
    if (entry.isSymbolicLink()) {
      walk.links.push(path);
      walk.hash.update(`link\0${path}\n`);
    } else if (entry.isDirectory()) {
      walk.hash.update(`folder\0${path}\n`);
      await walkFolder(walk, path, depth + 1);
    } else if (entry.isFile()) await addFile(walk, path);
    else throw notFileNorFolder(path, entry);
  }
}

/** A regular file: its size and mtime into the hash, its size into the total. */
async function addFile(walk: Walk, path: string): Promise<void> {
  let info: Stats;
  try {
    info = await lstat(join(walk.dir, path));
  } catch (error) {
    throw unreadable(path, error);
  }
  // Replaced since readdir (by a link, a FIFO...): judged as what it is now.
  if (info.isSymbolicLink()) {
    walk.links.push(path);
    walk.hash.update(`link\0${path}\n`);
    return;
  }
  if (!info.isFile()) throw notFileNorFolder(path, info);
  walk.bytes += info.size;
  if (walk.bytes > MAX_TOTAL_BYTES) {
    throw new Unscannable(
      `the plugin's files add up to more than ${MAX_TOTAL_BYTES / 1024 / 1024} MiB: the scan stops there, so the plugin is refused (a plugin this large is unusual; remove what it does not need)`,
    );
  }
  walk.files.push(path);
  walk.hash.update(`file\0${path}\0${info.size}\0${info.mtimeMs}\n`);
}

function unreadable(path: string, error: unknown): Unscannable {
  const code = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
  const what = path === '' ? 'the plugin folder' : path;
  return new Unscannable(`the scan cannot read ${what} (${code}), so the plugin is refused: all of it must be checked (let the user who runs the core read the whole folder)`);
}

type Kind = Pick<Stats, 'isFIFO' | 'isSocket' | 'isBlockDevice' | 'isCharacterDevice'>;

function notFileNorFolder(path: string, kind: Kind): Unscannable {
  const what = kind.isFIFO() ? 'a named pipe (FIFO)' : kind.isSocket() ? 'a socket' : kind.isBlockDevice() || kind.isCharacterDevice() ? 'a device' : 'of an unknown type';
  return new Unscannable(`${path} is ${what}, neither a file nor a folder: plugins may hold only those, so the plugin is refused (remove it)`);
}
