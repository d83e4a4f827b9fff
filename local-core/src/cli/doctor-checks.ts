import { access, open, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { isLoopbackHost, isPlainTextOffLoopback, type CoreKeySet } from '@hearth/shared';
import type { CoreConfig } from '../config.js';
import { ConfigError, ModelNotFoundError } from '../errors.js';
import { resolveModelPath } from '../inference/model-path.js';
import { DEFAULT_MODEL_SIZE, isModelUri } from '../inference/model-uri.js';
import { readKeySet } from '../keys/key-store.js';
import { NODE_ENGINES, NODE_UPGRADE, nodeVersionProblem } from '../node-version.js';
import type { PluginsConfig } from '../plugins/config.js';
import { type NamespaceSupport, namespaceSupport } from '../plugins/sandbox.js';
import { ownerRequest } from '../tunnel/owner-request.js';
import { SKEW_FAIL_MS, classifySkew, clockSkewMs, fail, ok, warn, type CheckResult } from './doctor-report.js';

/** Network checks wait this long: a healthy edge or Redis answers in well under a second. */
const NETWORK_TIMEOUT_MS = 5_000;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
/** `fetch failed` says nothing; its cause (ECONNREFUSED, ENOTFOUND...) says what happened. */
const causeOf = (error: unknown): string => {
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error) return 'code' in cause && !cause.message.includes(String(cause.code)) ? `${String(cause.code)} ${cause.message}` : cause.message;
  return messageOf(error);
};
const megabytes = (bytes: number) => `${(bytes / 1_048_576).toFixed(bytes < 10_485_760 ? 1 : 0)} MB`;

/**
 * A supported line at or past its January 2026 security release, which fixed permission-model
 * bypasses the plugin host's outer layer would otherwise be open to (see node-version.ts).
 */
export function checkNode(version = process.versions.node): CheckResult {
  const problem = nodeVersionProblem(version);
  return problem === undefined
    ? ok('node', 'Node.js', `${version} (Hearth needs ${NODE_ENGINES}; this one has the January 2026 security fixes)`)
    : fail('node', 'Node.js', problem, NODE_UPGRADE);
}

/**
 * The plugin sandbox's operating-system layer: bubblewrap namespaces where they work. Without
 * them plugins still run in the QuickJS engine, with one boundary fewer.
 */
export function checkPluginSandbox(plugins: PluginsConfig, support: () => NamespaceSupport = namespaceSupport): CheckResult {
  const name = 'plugin sandbox';
  if (!plugins.enabled) return ok('plugins', name, 'plugins are off (HEARTH_PLUGINS=off)');
  if (plugins.isolation === 'off') {
    return warn('plugins', name, 'QuickJS engine only: namespaces are off (HEARTH_PLUGINS_ISOLATION=off)', 'set HEARTH_PLUGINS_ISOLATION=auto to add namespaces where bubblewrap works');
  }
  const found = support();
  if (found.ok) return ok('plugins', name, `QuickJS engine in a host process with namespaces of its own (${found.bwrap})`);
  const finding = `QuickJS engine only: ${found.reason}`;
  const fix = 'apt install bubblewrap, and allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1) or run the core where they are allowed';
  return plugins.isolation === 'namespaces' ? fail('plugins', name, finding, fix) : warn('plugins', name, finding, fix);
}

/** The key file: there, a valid private key set, and readable by its owner only. */
export async function checkKey(keyFile: string): Promise<{ result: CheckResult; keySet?: CoreKeySet }> {
  const path = resolve(keyFile);
  let keySet: CoreKeySet;
  try {
    keySet = await readKeySet(keyFile);
  } catch (error) {
    if (error instanceof ConfigError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      return { result: fail('key', 'core key', `no core key at ${path} (HEARTH_KEY_FILE)`, 'run npx hearth init (or npx hearth keygen) and give the edge the public key it prints (HEARTH_CORE_JWKS)') };
    }
    return {
      result: fail('key', 'core key', messageOf(error), 'restore the key file from a backup, or make a new one with npx hearth init --force (the edge must then get the new public key)'),
    };
  }
  const mode = (await stat(keyFile)).mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    return { result: warn('key', 'core key', `${path} can be read by others (mode 0${mode.toString(8)})`, `chmod 600 ${keyFile}`), keySet };
  }
  return { result: ok('key', 'core key', `${path} (valid, mode 0${mode.toString(8)})`), keySet };
}

/** Where a model URI would already be downloaded, without downloading or asking the network. */
async function downloadedModel(uri: string, directory: string): Promise<string | undefined> {
  const { resolveModelFile } = await import('node-llama-cpp');
  try {
    return await resolveModelFile(uri, { directory, download: false, cli: false });
  } catch {
    // Not there under a name node-llama-cpp can predict; a plain URL is saved under its last segment.
  }
  if (!/^https?:\/\//i.test(uri)) return undefined;
  const file = resolve(join(directory, basename(new URL(uri).pathname)));
  return access(file).then(
    () => file,
    () => undefined,
  );
}

/** The model the core would load, found as the core finds it; a URI is looked for, never downloaded. */
export async function checkModel(config: CoreConfig): Promise<CheckResult> {
  if (config.engine === 'echo') return ok('model', 'model', 'none needed: HEARTH_ENGINE=echo repeats messages (diagnostic)');
  let path: string;
  if (config.modelPath && isModelUri(config.modelPath)) {
    const directory = config.modelsDirs[0] ?? 'models';
    const found = await downloadedModel(config.modelPath, directory);
    if (!found) {
      return warn(
        'model',
        'model',
        `${config.modelPath} is not downloaded into ${resolve(directory)} yet: the core would download it on its first start`,
        `download it now, with a progress bar: npx hearth models pull ${config.modelPath}`,
      );
    }
    path = found;
  } else {
    try {
      path = await resolveModelPath(config.modelPath, config.modelsDirs);
    } catch (error) {
      if (!(error instanceof ModelNotFoundError)) throw error;
      const fix = config.modelPath
        ? 'correct HEARTH_MODEL, or unset it to use the first .gguf in HEARTH_MODELS_DIR'
        : `npx hearth models pull (the default chat model, ${DEFAULT_MODEL_SIZE}; or copy a .gguf into ${config.modelsDirs[0] ?? 'models'}, or set HEARTH_MODEL)`;
      return fail('model', 'model', error.message, fix);
    }
  }
  const magic = Buffer.alloc(4);
  try {
    const handle = await open(path, 'r');
    try {
      await handle.read(magic, 0, 4, 0);
    } finally {
      await handle.close();
    }
  } catch (error) {
    return fail('model', 'model', `cannot read ${path}: ${messageOf(error)}`, 'let the user who runs the core read it (or point HEARTH_MODEL at a copy it can read)');
  }
  if (magic.toString('latin1') !== 'GGUF') {
    return fail('model', 'model', `${path} is not a GGUF file`, 'point HEARTH_MODEL at a .gguf chat model, or download the default one: npx hearth models pull');
  }
  return ok('model', 'model', `${path} (${megabytes((await stat(path)).size)})`);
}

/**
 * The backend llama.cpp picks here, as the core would (`gpu: 'auto'`). Loading the bindings
 * takes a moment; nothing is built or downloaded, and the instance is disposed.
 */
export async function checkGpu(config: CoreConfig): Promise<CheckResult> {
  const name = 'GPU backend';
  if (config.engine === 'echo') return ok('gpu', name, 'not used: HEARTH_ENGINE=echo');
  const { getLlama, getLlamaGpuTypes, LlamaLogLevel } = await import('node-llama-cpp');
  const installed = (await getLlamaGpuTypes('supported')).filter((type) => type !== false);
  let llama: Awaited<ReturnType<typeof getLlama>>;
  try {
    llama = await getLlama({ gpu: 'auto', build: 'never', skipDownload: true, progressLogs: false, logLevel: LlamaLogLevel.error, logger: () => {} });
  } catch (error) {
    return fail('gpu', name, `llama.cpp does not load here: ${messageOf(error)}`, 'npm install again so node-llama-cpp finds its prebuilt binary, or build one: npx --no node-llama-cpp source download');
  }
  try {
    const backend = llama.gpu;
    if (backend) {
      const devices = await llama.getGpuDeviceNames().catch(() => [] as string[]);
      const { total } = await llama.getVramState();
      return ok('gpu', name, `${backend}${devices.length > 0 ? `: ${devices.join(', ')}` : ''}${total > 0 ? ` (${megabytes(total)} VRAM)` : ''}`);
    }
    if (installed.length > 0) {
      return warn('gpu', name, `cpu, though ${installed.join(', ')} looks installed: llama.cpp could not use it`, 'check the GPU driver; npx --no node-llama-cpp inspect gpu says what it finds');
    }
    return ok('gpu', name, 'cpu: no CUDA, Vulkan or Metal here (fine for small models; a GPU answers much faster)');
  } finally {
    await llama.dispose();
  }
}

/** Redis, when REDIS_URL is set: connect once (no redial) and PING, with a short timeout. */
export async function checkRedis(config: CoreConfig): Promise<CheckResult> {
  const url = config.memory.redisUrl;
  if (!url) return ok('redis', 'Redis', 'REDIS_URL is not set: memory and jobs stay in this process and on disk');
  const [{ Redis }, { quitRedis, redactRedisUrl }] = await Promise.all([import('ioredis'), import('../memory/redis.js')]);
  const shown = redactRedisUrl(url);
  const started = performance.now();
  const client = new Redis(url, {
    lazyConnect: true,
    connectionName: 'hearth-doctor',
    connectTimeout: NETWORK_TIMEOUT_MS,
    commandTimeout: NETWORK_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // The socket's own error (ECONNREFUSED, ENOTFOUND) says more than the "Connection is closed" connect() rejects with.
  let socketError: unknown;
  client.on('error', (error: unknown) => {
    socketError ??= error;
  });
  try {
    await client.connect();
    await client.ping();
    return ok('redis', 'Redis', `${shown} answered PING in ${Math.round(performance.now() - started)} ms`);
  } catch (error) {
    return fail('redis', 'Redis', `${shown} (REDIS_URL) does not answer: ${messageOf(socketError ?? error)}`, 'start redis-server there, correct REDIS_URL, or unset it to run without Redis');
  } finally {
    await quitRedis(client);
  }
}

const isLoopback = (url: URL) => isLoopbackHost(url.hostname);

/**
 * The edge's `/healthz`, and from the same answer its clock: the HTTP `Date` header against
 * ours (see {@link clockSkewMs}). Tunnel tokens are refused past 30 s of difference.
 */
export async function checkEdge(edgeUrl: string): Promise<{ edge: CheckResult; clock: CheckResult; reachable: boolean }> {
  const url = `${edgeUrl}/healthz`;
  const sentAt = Date.now();
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(NETWORK_TIMEOUT_MS) });
    await response.arrayBuffer();
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    return {
      edge: fail(
        'edge',
        'edge',
        timedOut ? `no answer from ${url} within ${NETWORK_TIMEOUT_MS / 1000} s` : `cannot reach ${url}: ${causeOf(error)}`,
        'start the edge (npm run start:edge here, or npm start for everything), deploy it (cd edge-worker && npx wrangler deploy), or correct HEARTH_EDGE_URL in .env',
      ),
      clock: warn('clock', 'clock skew', 'not checked: the edge did not answer', 'fix the edge check first'),
      reachable: false,
    };
  }
  const receivedAt = Date.now();
  const elapsed = receivedAt - sentAt;
  const parsed = new URL(edgeUrl);
  let edge: CheckResult;
  if (!response.ok) {
    edge = fail('edge', 'edge', `${url} answered HTTP ${response.status}`, "check that HEARTH_EDGE_URL is the Hearth edge; its log (npm run start:edge, or npx wrangler tail) says what is wrong");
  } else if (isPlainTextOffLoopback(parsed)) {
    edge = warn('edge', 'edge', `${edgeUrl} answered in ${elapsed} ms, over plain http`, 'use the https:// URL of the deployed edge: the tunnel carries your messages');
  } else {
    edge = ok('edge', 'edge', `${edgeUrl} answered /healthz in ${elapsed} ms`);
  }

  const skew = clockSkewMs(response.headers.get('date'), sentAt, receivedAt);
  if (skew === undefined) {
    // workerd run locally (wrangler dev) sends no Date header; Cloudflare always does.
    const clock = isLoopback(parsed)
      ? ok('clock', 'clock skew', 'the edge runs on this machine (loopback): the same clock')
      : warn('clock', 'clock skew', 'not checked: the edge sent no Date header', 'check that HEARTH_EDGE_URL is the Hearth edge');
    return { edge, clock, reachable: true };
  }
  const seconds = Math.round(Math.abs(skew) / 1000);
  const finding =
    skew === 0 ? "this machine's clock agrees with the edge's (within a second)" : `the edge's clock is ${seconds} s ${skew > 0 ? 'ahead of' : 'behind'} this machine's`;
  const status = classifySkew(skew);
  const fix = `sync this machine's clock (NTP: timedatectl set-ntp true, or the system's time settings); the tunnel refuses tokens past ${SKEW_FAIL_MS / 1000} s`;
  const clock = status === 'ok' ? ok('clock', 'clock skew', finding) : status === 'warn' ? warn('clock', 'clock skew', finding, fix) : fail('clock', 'clock skew', finding, fix);
  return { edge, clock, reachable: true };
}

/** Whether the edge accepts this core's key: one owner session over the tunnel, a no-op `list`. */
export async function checkTunnel(config: CoreConfig, keySet: CoreKeySet | undefined, edgeReachable: boolean): Promise<CheckResult> {
  const name = 'key at edge';
  if (!keySet) return warn('tunnel', name, 'not checked: no usable core key', 'fix the core key check first');
  if (!edgeReachable) return warn('tunnel', name, 'not checked: the edge did not answer', 'fix the edge check first');
  try {
    const result = await ownerRequest({ edgeUrl: config.edgeUrl, coreId: config.coreId, purpose: 'doctor', keySet, timeoutMs: NETWORK_TIMEOUT_MS * 2 }, { action: 'list' });
    if (!result.ok) return fail('tunnel', name, `the edge opened the tunnel but refused a command: ${result.error ?? 'no reason given'}`, 'run the same Hearth version at both ends');
    return ok('tunnel', name, 'the edge accepts this core key: a tunnel opened and answered');
  } catch (error) {
    const message = messageOf(error);
    const fix = /does not accept this core key/.test(message)
      ? "give the edge this core's public key as HEARTH_CORE_JWKS (npx hearth init writes it to .dev.vars and prints it for npx wrangler secret put HEARTH_CORE_JWKS); a clock off by more than 30 s is refused too"
      : /version|upgrade/i.test(message)
        ? 'run the same Hearth version at both ends'
        : "check HEARTH_EDGE_URL, and the edge's log (npm run start:edge, or npx wrangler tail)";
    return fail('tunnel', name, message, fix);
  }
}
