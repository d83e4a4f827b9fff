import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The repository root and its infra/ folder. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const INFRA = join(ROOT, 'infra');

export const read = (path: string): string => readFileSync(path, 'utf8');

// ---- Compose --------------------------------------------------------------------------------

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** docker-compose.yml as written: `<<` merge keys applied, `${...}` left as they are. */
export function loadComposeRaw(): JsonObject {
  const doc: unknown = parse(read(join(INFRA, 'docker-compose.yml')), { merge: true });
  if (!isObject(doc)) throw new Error('docker-compose.yml is not a mapping');
  return doc;
}

/**
 * Compose's variable interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?error}`, `${VAR?error}` and `$$`. As in compose, an empty value counts as unset for the
 * forms with a colon.
 *
 * @throws Error with the error text of the first required variable that is missing
 */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match, name?: string, colon?: string, op?: string, word?: string, bare?: string) => {
    if (match === '$$') return '$';
    if (bare !== undefined) return env[bare] ?? '';
    const value = env[name ?? ''];
    const missing = value === undefined || (colon === ':' && value === '');
    if (op === '-') return missing ? interpolate(word ?? '', env) : (value ?? '');
    if (op === '?') {
      if (missing) throw new Error(`${name}: ${word}`);
      return value ?? '';
    }
    return value ?? '';
  });
}

/** Every string in `value` interpolated. */
export function interpolateAll(value: Json, env: Record<string, string | undefined>): Json {
  if (typeof value === 'string') return interpolate(value, env);
  if (Array.isArray(value)) return value.map((v) => interpolateAll(v, env));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, env)]));
  return value;
}

/** The names of every variable docker-compose.yml interpolates. */
export function composeVariables(): Set<string> {
  const text = read(join(INFRA, 'docker-compose.yml'));
  return new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] ?? ''));
}

/** `environment` as a map, from either the mapping or the `KEY=value` list form. */
export function environmentOf(service: JsonObject): Record<string, string> {
  const env = service.environment;
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const [key, ...rest] = String(entry).split('=');
        return [key ?? '', rest.join('=')];
      }),
    );
  }
  if (isObject(env)) return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
  return {};
}

export interface Mount {
  type: string;
  source: string;
  target: string;
  readOnly: boolean;
}

/** A service's `volumes`, short (`src:dst:ro`) and long syntax alike. */
export function mountsOf(service: JsonObject): Mount[] {
  const volumes = Array.isArray(service.volumes) ? service.volumes : [];
  return volumes.map((volume) => {
    if (typeof volume === 'string') {
      const [source = '', target = '', mode = ''] = volume.split(':');
      const type = source.startsWith('.') || source.startsWith('/') || source.startsWith('$') ? 'bind' : 'volume';
      return { type, source, target, readOnly: mode.split(',').includes('ro') };
    }
    if (!isObject(volume)) throw new Error(`a volume that is neither a string nor a mapping: ${JSON.stringify(volume)}`);
    return { type: String(volume.type), source: String(volume.source), target: String(volume.target), readOnly: volume.read_only === true };
  });
}

/** Seconds in a compose duration such as `45s`, `3m`, `1m30s`. */
export function seconds(duration: string): number {
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== duration) throw new Error(`not a compose duration: ${duration}`);
  const unit = { h: 3600, m: 60, s: 1, ms: 0.001 } as const;
  return parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u as keyof typeof unit], 0);
}

// ---- Dockerfiles ----------------------------------------------------------------------------

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  /** The image (ARG defaults substituted) or an earlier stage's name. */
  base: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Map<string, string>;
  stages: Stage[];
}

/**
 * Parses a Dockerfile the way the builder reads it: comment lines dropped (also inside a
 * continuation), lines ending in `\` joined, one instruction per logical line.
 */
export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) || (line.trim() === '' && pending === undefined)) return;
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1) : line;
    pending = pending ? { text: `${pending.text} ${body.trim()}`, line: pending.line } : { text: body.trim(), line: index + 1 };
    if (!continued) {
      const [keyword = '', ...rest] = pending.text.split(/\s+/);
      instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), line: pending.line });
      pending = undefined;
    }
  });
  if (pending) throw new Error(`line ${pending.line}: a continuation runs past the end of the file`);

  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const image = (words[0] ?? '').replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a?: string, b?: string) => globalArgs.get(a ?? b ?? '') ?? '');
      const name = words[1]?.toUpperCase() === 'AS' ? words[2] : undefined;
      stages.push({ base: image, name, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`line ${instruction.line}: ${instruction.keyword} before the first FROM`);
      const [name = '', ...value] = instruction.args.split('=');
      globalArgs.set(name, value.join('='));
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

export const loadDockerfile = (name: string): Dockerfile => parseDockerfile(read(join(INFRA, name)));

/** The stage named `name`. */
export function stage(dockerfile: Dockerfile, name: string): Stage {
  const found = dockerfile.stages.find((s) => s.name === name);
  if (!found) throw new Error(`no stage ${name}: ${dockerfile.stages.map((s) => s.name).join(', ')}`);
  return found;
}

export const instructionsOf = (s: Stage, keyword: string): Instruction[] => s.instructions.filter((i) => i.keyword === keyword);

/** The sources of a COPY that reads the build context (not `--from=`); the last word is the destination. */
export function contextSources(instruction: Instruction): string[] {
  const words = instruction.args.split(/\s+/);
  if (words.some((w) => w.startsWith('--from='))) return [];
  const paths = words.filter((w) => !w.startsWith('--'));
  return paths.slice(0, -1);
}

// ---- .dockerignore --------------------------------------------------------------------------

/** A .dockerignore pattern as a regular expression over a path and its parents (moby's rules). */
function ignoreRegex(pattern: string): RegExp {
  let source = '';
  const p = pattern.replace(/^\/+/, '').replace(/\/+$/, '');
  for (let i = 0; i < p.length; i++) {
    const c = p[i] ?? '';
    if (c === '*' && p[i + 1] === '*') {
      // `**/` matches any number of folders, `**` at the end anything.
      if (p[i + 2] === '/') {
        source += '(?:.*/)?';
        i += 2;
      } else {
        source += '.*';
        i += 1;
      }
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/**
 * Whether the builder leaves `path` (relative to the context root) out, under the repository's
 * .dockerignore: the last matching pattern wins, a `!` pattern takes a path back in, and a
 * pattern that matches a folder matches everything under it.
 */
export function dockerignored(path: string, ignoreText = read(join(ROOT, '.dockerignore'))): boolean {
  const rules = ignoreText
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => (l.startsWith('!') ? { include: true, regex: ignoreRegex(l.slice(1)) } : { include: false, regex: ignoreRegex(l) }));
  const parts = path.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (prefixes.some((prefix) => rule.regex.test(prefix))) ignored = !rule.include;
  }
  return ignored;
}

// ---- tools ----------------------------------------------------------------------------------

/** The path of an executable on PATH, or undefined. */
function which(command: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The path of `command`, or an error that says which Debian package brings it. */
export function requireTool(command: string, aptPackage: string): string {
  const path = which(command);
  if (!path) throw new Error(`${command} is not installed: the infra tests need it (apt-get install -y ${aptPackage}; .ci/run installs it)`);
  return path;
}
