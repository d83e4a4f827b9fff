import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError } from '../errors.js';

/**
 * One setting `hearth init` wants in a dotenv file. `replace` says whose value wins when the
 * file already has one: the new value (something the user typed or passed, or `--force`), or
 * the file's (defaults and generated secrets never displace what is there).
 */
export interface EnvEntry {
  name: string;
  /** Empty: a placeholder line (`NAME=`) for the user to fill in; empty counts as unset. */
  value: string;
  replace: boolean;
}

/** What a merge did to a file, by variable name only: values may be secrets. */
export interface EnvMergeResult {
  text: string;
  /** Added, or changed in place. */
  written: string[];
  /** Already set in the file and left as they were (including identical values). */
  kept: string[];
  /** Still empty after the merge: for the user to fill in. */
  missing: string[];
}

const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/;

/**
 * A value as a dotenv line can hold it for both readers (Node's `parseEnv` and wrangler's
 * dotenv): bare when it can be (a JSON key set is), quoted when it holds `#` (a bare one starts a
 * comment), starts with a quote, or has whitespace at an end.
 *
 * @throws ConfigError for values no dotenv quoting keeps intact (line breaks, or both `'` and `"` with `#`)
 * @example formatEnvValue('a#b') // "'a#b'"
 */
export function formatEnvValue(value: string): string {
  if (/[\r\n]/.test(value)) throw new ConfigError('a setting cannot span lines: enter it on one line');
  if (!/#|^['"`\s]|\s$/.test(value)) return value;
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  throw new ConfigError('a setting with # cannot also hold both \' and ": edit the file by hand for this one');
}

/**
 * Merges `entries` into the text of a dotenv file, keeping every other line (comments, other
 * settings) as it was: a setting already there is changed in place, a new one appended under
 * `comment`. A value already set wins unless its entry says `replace`; an empty value in the
 * file counts as unset.
 *
 * @example
 * mergeEnvText('A=1\n', [{ name: 'A', value: '2', replace: false }, { name: 'B', value: 'x', replace: false }], 'init')
 * // → A kept, B appended
 */
export function mergeEnvText(existing: string, entries: readonly EnvEntry[], comment: string): EnvMergeResult {
  const current = parseEnv(existing);
  const lines = existing === '' ? [] : existing.replace(/\n$/, '').split('\n');
  const lineOf = new Map<string, number>();
  lines.forEach((line, index) => {
    const name = ASSIGNMENT.exec(line)?.[1];
    // The last assignment is the one readers keep.
    if (name) lineOf.set(name, index);
  });
  const result: Omit<EnvMergeResult, 'text'> = { written: [], kept: [], missing: [] };
  const appended: string[] = [];
  for (const { name, value, replace } of entries) {
    const had = current[name];
    if (had !== undefined && had !== '' && (!replace || value === '' || value === had)) {
      result.kept.push(name);
      continue;
    }
    if (value === '') result.missing.push(name);
    if (value === had) {
      result.kept.push(name);
      continue;
    }
    const line = `${name}=${formatEnvValue(value)}`;
    const index = lineOf.get(name);
    if (index === undefined) appended.push(line);
    else lines[index] = line;
    result.written.push(name);
  }
  if (appended.length > 0) {
    if (lines.length > 0 && lines.at(-1)?.trim() !== '') lines.push('');
    lines.push(`# ${comment}`, ...appended);
  }
  return { text: lines.length > 0 ? `${lines.join('\n')}\n` : '', ...result };
}

/** A dotenv file's text, or '' when there is none yet. */
export async function readEnvText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Writes a settings file readable by its owner only (0600: it holds secrets), through a
 * temporary file renamed into place, so an interrupted write never leaves half a file.
 */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
    await chmod(temporary, 0o600);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new ConfigError(`cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** A secret for a webhook (Telegram's secret_token, WhatsApp's verify token): 43 chars of A-Z a-z 0-9 _ -. */
export const generateWebhookSecret = (): string => randomBytes(32).toString('base64url');
