import { availableParallelism, hostname } from 'node:os';
import { LogKeySchema, RedactionEnvSchema, isPlainTextOffLoopback, redactionConfigFromEnv, wholeNumber, type RedactionConfig } from '@hearth/shared';
import { z } from 'zod';
import { parseEnv } from './env.js';
import { ApprovalEnvSchema, type ApprovalConfig, loadApprovalConfig } from './approval/config.js';
import { ConfigError } from './errors.js';
import { DEFAULT_MODEL, isModelUri } from './inference/model-uri.js';
import { JobsEnvSchema, loadJobsConfig, type JobsConfig } from './jobs/config.js';
import { McpEnvSchema, loadMcpConfig, type McpConfig } from './mcp/config.js';
import { MemoryEnvSchema, loadMemoryConfig, type MemoryConfig } from './memory/config.js';
import { MemoryItemsEnvSchema, loadMemoryItemsConfig, type MemoryItemsConfig } from './memory/memory-items-config.js';
import { MqttEnvSchema, loadMqttConfig, type MqttConfig } from './mqtt/config.js';
import { PluginsEnvSchema, loadPluginsConfig, type PluginsConfig } from './plugins/config.js';
import { RecallEnvSchema, loadRecallConfig, type RecallConfig } from './recall/config.js';

/** Where the core's private key set is kept unless HEARTH_KEY_FILE says otherwise. */
export const DEFAULT_KEY_FILE = '.hearth/core-key.json';

/**
 * The core's settings, read once at start from the environment (a `.env` file fills what the
 * environment leaves unset). Every error names the variable and says how to fix it.
 */
const CoreEnvSchema = z.object({
  HEARTH_EDGE_URL: z
    .url({ error: 'HEARTH_EDGE_URL must be the edge URL, e.g. https://hearth.example.workers.dev or http://127.0.0.1:8787' })
    .default('http://127.0.0.1:8787')
    .meta({ description: 'where the core finds the edge (`https://...` in production); plain `http:`/`ws:` is refused unless the host is loopback' }),
  HEARTH_CORE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/, 'HEARTH_CORE_ID must be 1-128 characters of A-Z a-z 0-9 . _ -')
    .default(hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 128) || 'core')
    .meta({ description: "this core's name, in its tunnel JWT, the edge's logs and its MQTT client id (`hearth-<id>`)", shownDefault: 'host name' }),
  HEARTH_KEY_FILE: z.string().min(1).default(DEFAULT_KEY_FILE).meta({ description: "the core's private key set (mode 0600)" }),
  HEARTH_ENGINE: z.enum(['llama', 'echo'], { error: 'HEARTH_ENGINE must be llama (default) or echo (diagnostic)' }).default('llama').meta({ description: '`llama`; `echo` is a diagnostic engine that repeats the message (for measuring the delivery path)' }),
  HEARTH_ECHO_DELAY_MS: wholeNumber('HEARTH_ECHO_DELAY_MS', 0, 600_000).default(0).meta({ description: 'diagnostic: how long the echo engine takes per reply' }),
  HEARTH_MODEL: z.string().min(1).optional().meta({ description: 'the GGUF model: a path, or `hf:user/repo:Q4_K_M` / an https URL downloaded into the first models folder on first start (`hearth start --model` does the same)', shownDefault: 'the first `*.gguf` by name in `HEARTH_MODELS_DIR`' }),
  HEARTH_MODELS_DIR: z.string().min(1).default('models').meta({ description: 'where to look for a model; a `:`-separated list', shownDefault: '`models` (`npm start`: `models:../shared/models`)' }),
  HEARTH_DEFAULT_MODEL: z
    .string()
    .refine(isModelUri, 'HEARTH_DEFAULT_MODEL must be hf:user/repo/file.gguf, hf:user/repo:QUANT or an https URL')
    .default(DEFAULT_MODEL)
    .meta({ description: 'what `hearth models pull` with no argument, and `npm start` finding no model (after asking at a terminal), download into the first models folder' }),
  HEARTH_THREADS: wholeNumber('HEARTH_THREADS', 1, 256).default(Math.max(1, Math.floor(availableParallelism() / 2))).meta({ description: 'llama.cpp threads', shownDefault: 'half the CPU cores' }),
  HEARTH_SEQUENCES: wholeNumber('HEARTH_SEQUENCES', 1, 64).optional().meta({ description: "conversations generated in parallel (context sequences, evaluated in shared batches); also the core's credit window at the Relay", shownDefault: 'as many as half the free memory holds (1-8; echo engine: 4)' }),
  HEARTH_CONTEXT_SIZE: wholeNumber('HEARTH_CONTEXT_SIZE', 128, 131_072).default(2048).meta({ description: "upper bound of each sequence's context (capped by memory and the model)" }),
  HEARTH_MAX_TOKENS: wholeNumber('HEARTH_MAX_TOKENS', 1, 8192).default(256).meta({ description: 'longest reply, in tokens' }),
  HEARTH_GENERATION_TIMEOUT_MS: wholeNumber('HEARTH_GENERATION_TIMEOUT_MS', 1_000, 3_600_000).default(60_000).meta({ description: 'a reply still being written after this long is cut off and sent as it is, with a note (the clock stops while the owner decides on a tool call)' }),
  HEARTH_SYSTEM_PROMPT: z.string().max(2000).default('You are Hearth, a helpful personal assistant. Answer briefly.').meta({ description: 'the system prompt' }),
  HEARTH_HEARTBEAT_MS: wholeNumber('HEARTH_HEARTBEAT_MS', 500, 300_000).default(15_000).meta({ description: 'the heartbeat the core keeps on a new tunnel until the edge announces its own' }),
  HEARTH_ADMIN_PORT: wholeNumber('HEARTH_ADMIN_PORT', 0, 65_535).default(9464).meta({ description: "the core's admin port: `/metrics` (Prometheus), `/healthz`, `/status`, `/experiments` (the experiment report with plots); `0` turns it off" }),
  HEARTH_ADMIN_HOST: z.string().min(1).default('127.0.0.1').meta({ description: 'the address the admin port listens on (`hearth security audit` flags one off loopback)' }),
  HEARTH_EXPERIMENTS: z.string().min(1).optional().meta({ description: "a JSON file of variants (model, LoRA adapter, system prompt, sampling) and the experiment's weights; see [learning](learning.md#variants-and-experiments)", shownDefault: 'none (one variant, `default`)' }),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').meta({ description: "pino level of the core's log (every line is redacted before it is written)" }),
  HEARTH_LOG_KEY: LogKeySchema.optional().meta({ description: "keys the pseudonyms that stand for WhatsApp ids in the core's logs; the edge's value here gives the same pseudonym in both logs", shownDefault: 'written by `npm start` and `hearth init`; else derived from the key file' }),
  HEARTH_ALLOW_INSECURE_EDGE: z.enum(['on', 'off'], { error: 'HEARTH_ALLOW_INSECURE_EDGE must be on or off (default)' }).default('off').meta({ description: "`on` lets `HEARTH_EDGE_URL` be plain `http:` off this machine (a network you trust: the tunnel carries the core's token and every message)" }),
}).superRefine((e, ctx) => {
  // The tunnel carries the core's token and every reply: in the clear only on this machine.
  // Refinements run even when the URL itself was refused: that problem is reported already.
  if (!URL.canParse(e.HEARTH_EDGE_URL)) return;
  if (isPlainTextOffLoopback(new URL(e.HEARTH_EDGE_URL)) && e.HEARTH_ALLOW_INSECURE_EDGE === 'off') {
    ctx.addIssue({
      code: 'custom',
      message: `HEARTH_EDGE_URL ${e.HEARTH_EDGE_URL} is plain text off this machine: use the edge's https:// URL (or HEARTH_ALLOW_INSECURE_EDGE=on on a network you trust)`,
    });
  }
});

/**
 * Every schema the core reads its environment with, one per part, in the order of
 * docs/configuration.md (generated from their `.meta()` descriptions: `npm run docs:config`).
 */
export const CORE_ENV_SCHEMAS = [
  { part: 'Tunnel, model and admin port', schema: CoreEnvSchema },
  { part: 'Memory tiers', schema: MemoryEnvSchema },
  { part: 'Job queue', schema: JobsEnvSchema },
  { part: 'Recall', schema: RecallEnvSchema },
  { part: 'Memory of each sender', schema: MemoryItemsEnvSchema },
  { part: 'Redaction', schema: RedactionEnvSchema },
  { part: 'Devices over MQTT', schema: MqttEnvSchema },
  { part: 'Plugins', schema: PluginsEnvSchema },
  { part: 'MCP servers', schema: McpEnvSchema },
  { part: 'Approval', schema: ApprovalEnvSchema },
] as const;

export interface CoreConfig {
  edgeUrl: string;
  coreId: string;
  keyFile: string;
  engine: 'llama' | 'echo';
  /** Diagnostic: how long the echo engine takes per reply. */
  echoDelayMs: number;
  /** An explicit model file; else the first `*.gguf` in `modelsDirs`. */
  modelPath: string | undefined;
  modelsDirs: string[];
  /** What `hearth models pull` and a first `npm start` without a model download. */
  defaultModel: string;
  threads: number;
  /**
   * Parallel conversations: context sequences, and the window granted to the Relay. Undefined:
   * the engine picks from free memory (the echo engine takes 4).
   */
  sequences: number | undefined;
  /** Upper bound per sequence; the context adapts to free memory and the model's trained size. */
  contextSize: number;
  maxTokens: number;
  /** A reply still generating after this long is cut off and sent as it is. */
  generationTimeoutMs: number;
  systemPrompt: string;
  heartbeatMs: number;
  /** The local admin port (/metrics, /healthz, /status); 0: none. */
  admin: { host: string; port: number };
  logLevel: z.infer<typeof CoreEnvSchema>['LOG_LEVEL'];
  /** HEARTH_LOG_KEY: keys the pseudonyms of WhatsApp ids in logs (see logger.ts). */
  logKey: string | undefined;
  /** Memory tiers: L1 in memory, L2 Redis (REDIS_URL), L3 SQLite in HEARTH_DATA_DIR. */
  memory: MemoryConfig;
  /** Deliveries as jobs: BullMQ on REDIS_URL, else in-process. */
  jobs: JobsConfig;
  /** Long-term recall: embeddings of past messages and notes. */
  recall: RecallConfig;
  /** Facts kept about each sender (HEARTH_MEMORY_ITEMS, HEARTH_MEMORY_TOKENS, MEMORY.md); undefined (a config built by hand): none. */
  memoryItems?: MemoryItemsConfig | undefined;
  /** What is redacted from logs, and whether the model sees redacted text. */
  redaction: RedactionConfig;
  /** Devices on a local MQTT broker (MQTT_URL); undefined when off. */
  mqtt: MqttConfig | undefined;
  /** Plugins (HEARTH_PLUGINS, HEARTH_PLUGINS_DIR); undefined (a config built by hand): none. */
  plugins?: PluginsConfig | undefined;
  /** MCP servers whose tools the model may use (HEARTH_MCP_CONFIG); undefined (a config built by hand): none. */
  mcp?: McpConfig | undefined;
  /** Who approves risky tool calls, and how long a turn waits (HEARTH_OWNER, HEARTH_APPROVAL_*); undefined: tools needing approval are never offered. */
  approval?: ApprovalConfig | undefined;
  /** The variants and experiment file (HEARTH_EXPERIMENTS, see learning/variants.ts); undefined: one `default` variant. */
  experimentsFile?: string | undefined;
}

/** Runs each part's loader, gathering every part's problems into one error. */
function loadParts<T extends Record<string, unknown>>(loaders: { [K in keyof T]: () => T[K] }): T {
  const problems: string[] = [];
  const parts: Partial<T> = {};
  for (const key of Object.keys(loaders) as (keyof T)[]) {
    try {
      parts[key] = loaders[key]();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
  return parts as T;
}

/**
 * Validates `env` into a {@link CoreConfig}.
 *
 * @throws ConfigError listing every bad variable
 * @example
 * const config = loadCoreConfig(process.env);
 */
export function loadCoreConfig(env: NodeJS.ProcessEnv): CoreConfig {
  const { e, memory, jobs, recall, memoryItems, redaction, plugins, mcp, approval } = loadParts<{
    e: z.infer<typeof CoreEnvSchema>;
    memory: MemoryConfig;
    jobs: JobsConfig;
    recall: RecallConfig;
    memoryItems: MemoryItemsConfig;
    redaction: RedactionConfig;
    plugins: PluginsConfig;
    mcp: McpConfig;
    approval: ApprovalConfig;
  }>({
    e: () => parseEnv(CoreEnvSchema, env),
    memory: () => loadMemoryConfig(env),
    jobs: () => loadJobsConfig(env),
    recall: () => loadRecallConfig(env),
    memoryItems: () => loadMemoryItemsConfig(env),
    redaction: () => redactionConfigFromEnv(parseEnv(RedactionEnvSchema, env)),
    plugins: () => loadPluginsConfig(env),
    mcp: () => loadMcpConfig(env),
    approval: () => loadApprovalConfig(env),
  });
  return {
    memory,
    jobs,
    recall,
    memoryItems,
    redaction,
    plugins,
    mcp,
    approval,
    // Its client id derives from the core id, so it is read once the core's variables are valid.
    mqtt: loadMqttConfig(env, e.HEARTH_CORE_ID),
    edgeUrl: e.HEARTH_EDGE_URL.replace(/\/+$/, ''),
    coreId: e.HEARTH_CORE_ID,
    keyFile: e.HEARTH_KEY_FILE,
    engine: e.HEARTH_ENGINE,
    echoDelayMs: e.HEARTH_ECHO_DELAY_MS,
    modelPath: e.HEARTH_MODEL,
    // A path list, like PATH: `models:/srv/models`.
    modelsDirs: e.HEARTH_MODELS_DIR.split(':').filter(Boolean),
    defaultModel: e.HEARTH_DEFAULT_MODEL,
    threads: e.HEARTH_THREADS,
    sequences: e.HEARTH_SEQUENCES,
    contextSize: e.HEARTH_CONTEXT_SIZE,
    maxTokens: e.HEARTH_MAX_TOKENS,
    generationTimeoutMs: e.HEARTH_GENERATION_TIMEOUT_MS,
    systemPrompt: e.HEARTH_SYSTEM_PROMPT,
    heartbeatMs: e.HEARTH_HEARTBEAT_MS,
    admin: { host: e.HEARTH_ADMIN_HOST, port: e.HEARTH_ADMIN_PORT },
    logLevel: e.LOG_LEVEL,
    logKey: e.HEARTH_LOG_KEY,
    experimentsFile: e.HEARTH_EXPERIMENTS,
  };
}
