import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { parseLanGrant } from '../plugins/address-policy.js';
import { HOST, RESERVED_SECRET } from '../plugins/manifest.js';

/** A server's name in mcp.json: it prefixes its tools' names (`files__read_file`). */
const ServerNameSchema = z
  .string()
  // No two separators in a row and none at the end: the first `__` of an offered name then always ends the server's part.
  .regex(
    /^(?=.{1,32}$)[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$/,
    'a server name is 1-32 of a-z 0-9 _ -, starting with a letter, with no two of _ - in a row nor one at the end, e.g. "files" (its tools are offered as files__TOOL)',
  );

/** The server's part of its tools' offered names (see tools.ts offeredName): `my-files` and `my_files` are one. */
const offeredPrefix = (name: string) => name.replace(/-/g, '_');

const VARIABLE = /\$\{([^}]*)\}/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * A value of `env` or `headers`: literal text with `${VAR}` taken from the core's environment
 * when the server is started, so secrets stay out of the file. The core's own variables are refused.
 */
const SecretValueSchema = z
  .string()
  .max(4_096)
  .superRefine((value, ctx) => {
    for (const [, name = ''] of value.matchAll(VARIABLE)) {
      if (!VARIABLE_NAME.test(name)) ctx.addIssue({ code: 'custom', message: `\${${name}} is not a variable name (A-Z a-z 0-9 _)` });
      else if (RESERVED_SECRET.test(name)) {
        ctx.addIssue({ code: 'custom', message: `\${${name}} belongs to the core, a platform or Node (HEARTH_*, TELEGRAM_*, WHATSAPP_*, MQTT_*, REDIS_*, NODE_*, …) and is never given to an MCP server` });
      }
    }
  });

const absolutePath = z.string().refine(isAbsolute, 'must be an absolute path, e.g. "/home/me/notes"');

/** A folder a sandboxed server sees: read-only unless `writable`. */
const FolderSchema = z
  .union([absolutePath, z.strictObject({ path: absolutePath, writable: z.boolean().default(false) })])
  .transform((folder) => (typeof folder === 'string' ? { path: folder, writable: false } : folder));

/** Per tool (its MCP name, or "*" for the rest): ask the owner first always, never, or as its annotations say (the default). */
const ApproveSchema = z.record(z.string().min(1).max(128), z.enum(['always', 'never'], { error: 'approve values are "always" or "never"' })).default({});

const common = {
  approve: ApproveSchema,
  /** A call running longer than this gives the model `{ error }`. */
  timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
};

/** A program spoken to over stdin/stdout: sandboxed unless `trusted`. */
export const StdioEntrySchema = z
  .strictObject({
    type: z.literal('stdio').optional(),
    command: z.string().min(1).max(4_096),
    args: z.array(z.string().max(4_096)).max(256).default([]),
    env: z.record(z.string().regex(VARIABLE_NAME, 'an env name is A-Z a-z 0-9 _'), SecretValueSchema).default({}),
    cwd: absolutePath.optional(),
    trusted: z.boolean().default(false),
    folders: z.array(FolderSchema).max(64).default([]),
    /** Names (`host`: ports 80 and 443, or `host:port`) reached through Hearth's checked proxy (egress-proxy.ts). */
    hosts: z.array(z.string().regex(HOST, 'a host is a name or name:port, lower-case, e.g. "api.github.com" or "mcp.example.com:8443"')).max(32).default([]),
    /** Non-public addresses those names may resolve to, as a plugin's permissions.lan: `ADDRESS[/BITS]:PORT`. */
    lan: z.array(z.string().max(64)).max(32).default([]),
    ...common,
  })
  .superRefine((entry, ctx) => {
    const problem = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    for (const grant of entry.lan) {
      const parsed = parseLanGrant(grant);
      if (!parsed.ok) problem('lan', parsed.problem);
    }
    if (entry.lan.length > 0 && entry.hosts.length === 0) problem('lan', 'lan grants the addresses of hosts: list the hosts too');
    if (entry.trusted && entry.hosts.length > 0) problem('hosts', 'a trusted server runs unsandboxed with the network of the core: drop hosts, or drop "trusted" to sandbox it');
    if (entry.trusted && entry.folders.length > 0) problem('folders', 'a trusted server runs unsandboxed and sees every folder: drop folders, or drop "trusted" to sandbox it');
    if (!entry.trusted) {
      for (const name of Object.keys(entry.env)) if (/^LD_|^DYLD_/.test(name)) problem('env', `${name} would change how the sandbox itself starts; it is refused for sandboxed servers`);
      if (entry.cwd && !entry.folders.some((folder) => inside(entry.cwd ?? '', folder.path))) problem('cwd', 'cwd must be inside one of folders (the server sees nothing else)');
    }
  });

/** A server at an HTTP URL (streamable HTTP): contacted there only, a public address unless `lan`. */
const HttpEntrySchema = z
  .strictObject({
    type: z.enum(['http', 'streamable-http']).optional(),
    url: z.url({ protocol: /^https?$/, error: 'url must be an http(s) URL, e.g. "https://mcp.example.com/mcp"' }),
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'a header name is A-Z a-z 0-9 -'), SecretValueSchema).default({}),
    /** The server is on this machine or the local network: loopback and private addresses allowed. */
    lan: z.boolean().default(false),
    ...common,
  })
  .superRefine((entry, ctx) => {
    const url = new URL(entry.url);
    if (url.username || url.password) ctx.addIssue({ code: 'custom', path: ['url'], message: 'no credentials in the url: send them in headers, as $' + '{VAR}' });
    if (url.protocol === 'http:' && !entry.lan) ctx.addIssue({ code: 'custom', path: ['url'], message: 'plain http only to a server on your network ("lan": true); use https' });
  });

export type StdioEntry = z.output<typeof StdioEntrySchema>;
export type HttpEntry = z.output<typeof HttpEntrySchema>;
export type McpEntry = ({ kind: 'stdio' } & StdioEntry) | ({ kind: 'http' } & HttpEntry);
/** One configured server, by name. */
export type McpServerEntry = McpEntry & { name: string };

const inside = (path: string, folder: string) => {
  const rel = relative(folder, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/** The raw file: `mcpServers` checked entry by entry below; other top-level keys (another client's) are kept. */
const FileSchema = z.looseObject({ mcpServers: z.record(z.string(), z.unknown()).default({}) });

/**
 * Parses an mcp.json text into its servers, each checked as stdio (`command`) or HTTP (`url`).
 *
 * @throws ConfigError naming the file, the server and each problem
 * @example
 * parseMcpFile('{"mcpServers":{"files":{"command":"node","args":["server.js"]}}}', 'mcp.json');
 */
export function parseMcpFile(text: string, file: string): McpServerEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file} is not JSON (${error instanceof Error ? error.message : String(error)}); the format is { "mcpServers": { NAME: { "command", "args" } | { "url" } } }`);
  }
  const raw = FileSchema.safeParse(json);
  if (!raw.success) throw new ConfigError(`${file}: the file must be an object with "mcpServers": { NAME: entry }`);
  const problems: string[] = [];
  const servers: McpServerEntry[] = [];
  for (const [name, value] of Object.entries(raw.data.mcpServers)) {
    const where = `${file}: mcpServers.${name}`;
    const named = ServerNameSchema.safeParse(name);
    if (!named.success) problems.push(`${where}: ${named.error.issues[0]?.message}`);
    const parsed = parseEntry(value);
    if (!parsed.ok) problems.push(...parsed.problems.map((problem) => `${where}${problem}`));
    else if (named.success) servers.push({ ...parsed.entry, name });
  }
  const seen = new Map<string, string>();
  for (const { name } of servers) {
    const other = seen.get(offeredPrefix(name));
    if (other) problems.push(`${file}: mcpServers.${name}: its tools would be offered under the same names as ${other}'s (${offeredPrefix(name)}__TOOL); rename one`);
    seen.set(offeredPrefix(name), name);
  }
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
  return servers.sort((a, b) => a.name.localeCompare(b.name));
}

/** One entry, as stdio or HTTP by which of `command` and `url` it has. */
export function parseEntry(value: unknown): { ok: true; entry: McpEntry } | { ok: false; problems: string[] } {
  const has = (key: string) => typeof value === 'object' && value !== null && key in value;
  if (has('command') === has('url')) return { ok: false, problems: [': an entry has either "command" (a program run over stdio) or "url" (an HTTP server), not both or neither'] };
  const parsed = has('command') ? StdioEntrySchema.safeParse(value) : HttpEntrySchema.safeParse(value);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.map((issue) => `${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`) };
  return { ok: true, entry: has('command') ? { kind: 'stdio', ...(parsed.data as StdioEntry) } : { kind: 'http', ...(parsed.data as HttpEntry) } };
}

/** The servers in `file`; none when it does not exist. @throws ConfigError for a bad file */
export async function readMcpFile(file: string): Promise<McpServerEntry[]> {
  if (!existsSync(file)) return [];
  return parseMcpFile(await readFile(file, 'utf8'), file);
}

/**
 * Changes one entry of the file (undefined removes it), keeping the others and any other keys
 * as written (a broken entry elsewhere can still be removed). The new entry is checked first.
 * Written owner-only, replaced atomically.
 *
 * @throws ConfigError when the file is not JSON, the new entry is invalid, the one to remove is not there, or `add` finds one (without `replace`)
 */
export async function updateMcpFile(file: string, name: string, entry: Record<string, unknown> | undefined, { replace = false } = {}): Promise<void> {
  const json = existsSync(file) ? rawFile(await readFile(file, 'utf8'), file) : {};
  const servers: Record<string, unknown> = { ...((json.mcpServers as Record<string, unknown> | undefined) ?? {}) };
  if (entry === undefined) {
    if (!(name in servers)) throw new ConfigError(`no MCP server ${name} in ${file} (hearth mcp list shows them)`);
    delete servers[name];
  } else {
    if (name in servers && !replace) throw new ConfigError(`${name} is already in ${file}; --force replaces it`);
    const named = ServerNameSchema.safeParse(name);
    const parsed = parseEntry(entry);
    const problems = [...(named.success ? [] : [`: ${named.error.issues[0]?.message}`]), ...(parsed.ok ? [] : parsed.problems)];
    if (problems.length > 0) throw new ConfigError(problems.map((problem) => `mcpServers.${name}${problem}`).join('\n'));
    servers[name] = entry;
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify({ ...json, mcpServers: servers }, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}

/** The file as an object, without checking its entries. @throws ConfigError when it is not a JSON object */
function rawFile(text: string, file: string): Record<string, unknown> {
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json === 'object' && json !== null && !Array.isArray(json)) return json as Record<string, unknown>;
  } catch {
    // Said below, as for any other shape.
  }
  throw new ConfigError(`${file} is not a JSON object; fix or remove it (the format is { "mcpServers": { NAME: entry } })`);
}

/**
 * `value` with each `${VAR}` replaced from `env`.
 *
 * @returns the text, or the names that are not set
 * @example
 * expandSecrets('Bearer ${TOKEN}', { TOKEN: 'abc' }); // { ok: true, value: 'Bearer abc' }
 */
export function expandSecrets(value: string, env: Readonly<Record<string, string | undefined>>): { ok: true; value: string } | { ok: false; missing: string[] } {
  const missing: string[] = [];
  const expanded = value.replace(VARIABLE, (_whole, name: string) => {
    const found = RESERVED_SECRET.test(name) ? undefined : env[name];
    if (found === undefined || found === '') missing.push(name);
    return found ?? '';
  });
  return missing.length > 0 ? { ok: false, missing } : { ok: true, value: expanded };
}
