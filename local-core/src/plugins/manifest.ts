import { Cron } from 'croner';
import { z } from 'zod';
import { parseLanGrant } from './address-policy.js';
import { compileToolSchema } from './tool-schema.js';

/** A plugin's name: its folder's name too, so it is checked before any path is built from it. */
const PluginNameSchema = z
  .string()
  .regex(/^[a-z0-9-]{1,40}$/, 'a plugin name is 1-40 characters of a-z 0-9 and -, e.g. "weather" (it is also the folder name)');

/** True when `name` is safe to join to a folder: no `..`, no slash, nothing but a-z 0-9 -. */
export const isPluginName = (name: string): boolean => PluginNameSchema.safeParse(name).success;

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
// Telegram's form of a command name, as commandOf reads it (lower-case).
const COMMAND_NAME = /^[a-z0-9_]{1,32}$/;
// What node-llama-cpp and chat templates accept as a function name.
const TOOL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/;
/** A host name or address, lower-case, with an optional port: what a network grant names. */
export const HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::([1-9]\d{0,4}))?$/;
const SECRET = /^[A-Z][A-Z0-9_]{0,63}$/;
/** Variables of the core itself or of Node: a plugin (or an MCP server) may not be handed them as "secrets". */
export const RESERVED_SECRET = /^(?:HEARTH_|TELEGRAM_|WHATSAPP_|MQTT_|REDIS_|CLOUDFLARE_|WRANGLER_|NODE_|UV_|npm_)|^(?:LOG_LEVEL|PATH|HOME|USER)$/i;

/** Defaults and caps of a plugin's budgets. */
export const LIMITS = {
  timeoutMs: { default: 10_000, min: 100, max: 120_000 },
  memoryMb: { default: 64, min: 16, max: 1_024 },
  /** CPU a plugin may use in any second outside its calls (its timers, late callbacks). */
  idleCpuMs: { default: 100, min: 10, max: 1_000 },
} as const;

const relativeEntry = z
  .string()
  .min(1)
  .max(200)
  .refine((entry) => !entry.startsWith('/') && !entry.startsWith('\\') && !/^[A-Za-z]:/.test(entry), 'entry must be a path relative to the plugin folder, e.g. "handler.js"')
  .refine((entry) => !entry.split(/[\\/]/).includes('..'), 'entry must stay inside the plugin folder: no ".." in it')
  .refine((entry) => /\.(?:m?js)$/.test(entry), 'entry must be a .js or .mjs file (compile TypeScript first)');

const parameters = z
  .record(z.string(), z.unknown())
  .refine((schema) => schema.type === 'object', 'parameters must be a JSON Schema with "type": "object"')
  .superRefine((schema, ctx) => {
    const problem = compileToolSchema(schema).problem;
    if (problem) ctx.addIssue({ code: 'custom', message: `parameters is not a valid JSON Schema: ${problem}` });
  });

/** A `permissions.lan` entry: a non-public address or range, and the one port granted on it. */
const lanGrant = z.string().superRefine((entry, ctx) => {
  const parsed = parseLanGrant(entry);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.problem });
});

const cron = z.string().superRefine((expression, ctx) => {
  try {
    new Cron(expression, { paused: true }).stop();
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not a cron expression (${error instanceof Error ? error.message : String(error)}); e.g. "* * * * *" for every minute` });
  }
});

/** `plugin.json`: what a plugin offers and what it needs. Unknown fields are refused (typos). */
export const ManifestSchema = z
  .object({
    name: PluginNameSchema,
    version: z.string().regex(SEMVER, 'version must be semver, e.g. "1.0.0"'),
    description: z.string().min(1).max(500),
    entry: relativeEntry,
    commands: z
      .array(z.strictObject({ name: z.string().regex(COMMAND_NAME, 'a command name is 1-32 of a-z 0-9 _ (without the /)'), description: z.string().min(1).max(200) }))
      .max(32)
      .default([]),
    tools: z
      .array(
        z.strictObject({
          name: z.string().regex(TOOL_NAME, 'a tool name is 1-64 of a-z A-Z 0-9 _, starting with a letter or _'),
          description: z.string().min(1).max(1_000),
          parameters,
          /** A call waits for the owner's Run / Skip first (see approval/). */
          approval: z.boolean().default(false),
        }),
      )
      .max(32)
      .default([]),
    schedules: z
      .array(z.strictObject({ name: z.string().regex(/^[a-z0-9_-]{1,40}$/, 'a schedule name is 1-40 of a-z 0-9 _ -'), cron }))
      .max(16)
      .default([]),
    permissions: z
      .strictObject({
        network: z.array(z.string().regex(HOST, 'a network permission is a host name or host:port, lower-case, e.g. "api.example.com" or "127.0.0.1:8080"')).max(32).default([]),
        // Loopback, LAN, link-local and other non-public addresses are refused unless granted here.
        lan: z.array(lanGrant).max(32, 'at most 32 lan grants').default([]),
        secrets: z
          .array(
            z
              .string()
              .regex(SECRET, 'a secret is the name of an environment variable, A-Z 0-9 _')
              .refine((name) => !RESERVED_SECRET.test(name), 'that variable belongs to the core, a platform or Node (HEARTH_*, TELEGRAM_*, WHATSAPP_*, MQTT_*, REDIS_*, NODE_*, …) and is never given to a plugin'),
          )
          .max(32)
          .default([]),
        data: z.boolean().default(false),
      })
      .default({ network: [], lan: [], secrets: [], data: false }),
    limits: z
      .strictObject({
        timeout_ms: z.number().int().min(LIMITS.timeoutMs.min).max(LIMITS.timeoutMs.max).default(LIMITS.timeoutMs.default),
        memory_mb: z.number().int().min(LIMITS.memoryMb.min).max(LIMITS.memoryMb.max).default(LIMITS.memoryMb.default),
        idle_cpu_ms: z.number().int().min(LIMITS.idleCpuMs.min).max(LIMITS.idleCpuMs.max).default(LIMITS.idleCpuMs.default),
      })
      .default({ timeout_ms: LIMITS.timeoutMs.default, memory_mb: LIMITS.memoryMb.default, idle_cpu_ms: LIMITS.idleCpuMs.default }),
  })
  .strict();

export type Manifest = z.infer<typeof ManifestSchema>;

/** The outcome of reading one plugin.json: the manifest, or each problem with its field and fix. */
export type ManifestResult = { ok: true; manifest: Manifest } | { ok: false; problems: string[] };

/**
 * Validates a parsed plugin.json found in the folder `folderName`. Every problem names its field
 * path (`tools[0].parameters`) and says what is expected.
 *
 * @example
 * const result = parseManifest(JSON.parse(text), 'weather');
 * if (!result.ok) log.warn({ problems: result.problems }, 'plugin not loaded');
 */
export function parseManifest(value: unknown, folderName: string): ManifestResult {
  const parsed = ManifestSchema.safeParse(value);
  if (!parsed.success) {
    return { ok: false, problems: parsed.error.issues.map((issue) => `${issue.path.length > 0 ? fieldPath(issue.path) : 'plugin.json'}: ${issue.message}`) };
  }
  if (parsed.data.name !== folderName) {
    return { ok: false, problems: [`name: "${parsed.data.name}" must equal the folder name "${folderName}" (rename one of them)`] };
  }
  return { ok: true, manifest: parsed.data };
}

/** `tools[0].parameters`, as a person would write the path. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), '');
}

/**
 * Whether `host:port` of a URL is one a manifest's network permissions allow (`host` alone: ports 80 and 443).
 * By name only: hostFetch then checks the addresses it resolves to (public, or granted in `lan`).
 */
export function networkAllows(allowed: readonly string[], url: URL): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return allowed.some((entry) => {
    const [name, entryPort] = entry.split(':');
    return name === host && (entryPort === undefined ? port === '80' || port === '443' : entryPort === port);
  });
}
