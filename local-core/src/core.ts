import type { CoreKeySet, DeliverFrame } from '@hearth/shared';
import type { CoreConfig } from './config.js';
import { EchoEngine, type Engine } from './inference/engine.js';
import { createJobQueue } from './jobs/create-queue.js';
import { queueCreditWindow } from './jobs/credits.js';
import type { JobQueue } from './jobs/job-queue.js';
import { startLearning } from './learning/index.js';
import type { EngineLoader } from './learning/variant-engine.js';
import { readKeySet } from './keys/key-store.js';
import { Lifecycle } from './lifecycle.js';
import type { Logger } from './logger.js';
import type { Memory } from './memory/memory.js';
import { openMemory } from './memory/open-memory.js';
import { startAdminServer } from './observability/admin-server.js';
import { CoreMetrics } from './observability/metrics.js';
import { ApprovalDesk } from './approval/desk.js';
import { Pipeline } from './pipeline.js';
import { createEmbedder } from './recall/create-embedder.js';
import { Recall } from './recall/recall.js';
import { TunnelClient } from './tunnel/client.js';
import { answerEmbed, embeddingModelOf } from './tunnel/embed-answer.js';
import { answerHistory } from './tunnel/history-answer.js';
import { answerNoteSearch } from './mcp-server/note-search-answer.js';
import { answerOwnerTools } from './mcp-server/owner-tools-answer.js';
import { VERSION } from './version.js';

/** A running core: its parts, for status and tests, and an orderly `dispose`. */
export interface RunningCore extends AsyncDisposable {
  readonly engine: Engine;
  readonly tunnel: TunnelClient;
  readonly pipeline: Pipeline;
  readonly memory: Memory;
  readonly queue: JobQueue<DeliverFrame>;
  /** Stops the core: every part, last started first. Idempotent. */
  dispose(): Promise<void>;
}

/** What a program starting the core in its own process may supply instead of what configuration picks. */
export interface StartCoreOptions {
  /**
   * Loads each variant's engine in place of HEARTH_ENGINE's (node-llama-cpp, or echo): an engine
   * of one's own, with the rest of the core (tunnel, queue, plugins, MCP, approvals) as configured.
   */
  loadEngine?: EngineLoader;
}

/** Builds the engine chosen by configuration; the model is loaded once, here. */
export async function createEngine(config: CoreConfig, log: Logger): Promise<Engine> {
  if (config.engine === 'echo') {
    log.warn('HEARTH_ENGINE=echo: diagnostic engine, replies repeat the message');
    return new EchoEngine(config.echoDelayMs, config.sequences ?? 4);
  }
  // node-llama-cpp (~40 MB resident once imported) only for a core that runs a model.
  const { LlamaEngine } = await import('./inference/llama-engine.js');
  return LlamaEngine.create(config, log);
}

/**
 * Starts the core: reads its key, opens its memory, loads the engine, then dials the edge. Fails
 * before dialling if the key, the model or Redis (when configured) is missing, so a
 * misconfigured core never takes deliveries.
 *
 * Deliveries become jobs (BullMQ on REDIS_URL, shared by every core on that Redis; else an
 * in-process queue), worked at the engine's concurrency. The window granted to the Relay follows
 * the real free capacity: what this core holds plus the sequences neither running nor spoken for
 * by queued jobs.
 *
 * @example
 * await using core = await startCore(loadCoreConfig(process.env), createLogger('info'));
 */
export async function startCore(config: CoreConfig, log: Logger, options: StartCoreOptions = {}): Promise<RunningCore> {
  const keySet = await readKeySet(config.keyFile);
  // Each part is registered as it starts: a failure part-way, like `dispose`, tears down what
  // started, last first (Redis down, the admin port taken, a bad embedding model).
  const parts = new Lifecycle(log);
  try {
    return await startParts(config, log, options, keySet, parts);
  } catch (error) {
    await parts.dispose();
    throw error;
  }
}

async function startParts(config: CoreConfig, log: Logger, options: StartCoreOptions, keySet: CoreKeySet, parts: Lifecycle): Promise<RunningCore> {
  // Variants (HEARTH_EXPERIMENTS; else one, the configured model) routed by user, and feedback:
  // the engines and the learning tables' connection.
  const learning = parts.use('learning', await startLearning(config, log, options.loadEngine));
  const engine = learning.engine;
  const memory = parts.use('memory', await openMemory(config.memory, log, { coreId: config.coreId }));
  const recall = config.recall.enabled ? parts.use('recall', await Recall.open({ dbPath: config.memory.databasePath, config: config.recall })) : undefined;
  // `/v1/embeddings` is answered with recall's embedder, or one of its own while recall is off.
  const embedder = recall?.embedder ?? parts.use('embedder', await createEmbedder(config.recall));
  // Facts about each sender, relevance by recall's embedder (the hashing one needs no model).
  const longTerm = config.memoryItems?.enabled
    ? parts.use(
        'long-term memory',
        (await import('./memory/long-term.js')).LongTermMemory.open({ config: config.memoryItems, dbPath: config.memory.databasePath, embedder, keywordWeight: config.recall.keywordWeight, log }),
      )
    : undefined;
  // Once started, jobs are given up on at once: `dispose` has drained them first (below).
  const queue = await createJobQueue<DeliverFrame>(config.jobs, log, { workerName: config.coreId });
  parts.defer('job queue', () => queue.dispose({ timeoutMs: 0 }));
  // Declared here, set once the tunnel exists: pushes before that wait in the outbox.
  let tunnel: TunnelClient | undefined;
  // Plugins (HEARTH_PLUGINS): each in a sandboxed child; pushes go out through the tunnel.
  // Each optional part's modules are imported only when it is configured (idle memory).
  const plugins = config.plugins?.enabled
    ? parts.use(
        'plugins',
        await (await import('./plugins/start.js')).startPlugins({ config: config.plugins, databasePath: config.memory.databasePath, log, env: process.env, send: (frame) => tunnel?.send(frame) ?? false }),
      )
    : undefined;
  // MCP servers (HEARTH_MCP_CONFIG): connected in the background, sandboxed unless trusted.
  const mcp = config.mcp ? parts.use('mcp', await (await import('./mcp/start.js')).startMcp({ config: config.mcp, log, env: process.env })) : undefined;
  const metrics = new CoreMetrics({
    queue: () => queue.counts(),
    tiers: () => memory.stats(),
    tunnelReady: () => tunnel?.state === 'ready',
    sequences: () => engine.sequences,
  });
  const pipeline = parts.use(
    'pipeline',
    new Pipeline({
      metrics,
      keySet,
      engine,
      log,
      memory,
      recall,
      longTerm,
      summaryTokens: config.memory.summaryTokens,
      redaction: config.redaction,
      generationTimeoutMs: config.generationTimeoutMs,
      send: (frame) => tunnel?.send(frame) ?? false,
      plugins: plugins?.registry,
      mcp,
      learning: learning.feedback,
      approvals:
        config.approval &&
        new ApprovalDesk({
          config: config.approval,
          send: (frame) => tunnel?.send(frame) ?? false,
          log,
          redaction: config.redaction,
          recordShown: (shown) => memory.apiHistory.show(shown),
        }),
    }),
  );

  // Deliveries received and not yet done here: they count against the window until acked.
  const held = new Set<string>();
  // One window computation at a time (with BullMQ each reads counts from Redis): events during
  // one ask for one more pass, and a stale count can never land after a fresher one.
  let updating = false;
  let stale = false;
  const refreshCredits = () => {
    stale = true;
    if (updating) return;
    updating = true;
    void (async () => {
      while (stale) {
        stale = false;
        tunnel?.setCredits(await queueCreditWindow(queue, { sequences: engine.sequences, held: held.size }));
      }
    })()
      .catch((error: unknown) => log.warn({ err: error instanceof Error ? error.message : String(error) }, 'credits not updated'))
      .finally(() => {
        updating = false;
      });
  };
  queue.on('completed', (job) => {
    held.delete(job.id);
    refreshCredits();
  });
  queue.on('failed', (job, error) => {
    // Given up here after the queue's retries; unacked, so the Relay redelivers it (or dead-letters it).
    held.delete(job.id);
    refreshCredits();
    log.error({ messageId: job.id, attempts: job.attempt, err: error.message }, 'delivery failed; left to the Relay');
  });
  await queue.process(({ data }) => pipeline.handle(data), { concurrency: engine.sequences });

  const dialler = parts.use(
    'tunnel',
    new TunnelClient({
      edgeUrl: config.edgeUrl,
      coreId: config.coreId,
      keySet,
      credits: engine.sequences,
      heartbeatMs: config.heartbeatMs,
      log,
      software: `hearth-core/${VERSION}`,
      model: { id: engine.modelId, description: engine.describe().slice(0, 512) },
      models: [{ kind: 'chat', id: engine.modelId, description: engine.describe().slice(0, 512) }, embeddingModelOf(embedder)],
      onDeliver: (frame) => {
        // A press answers a turn that is running: behind the job queue it would wait for that turn.
        if (frame.press) {
          pipeline.handle(frame).catch((error: unknown) => log.warn({ err: error instanceof Error ? error.message : String(error), messageId: frame.message_id }, 'press not handled; the Relay will redeliver it'));
          return;
        }
        held.add(frame.message_id);
        // A delivery already queued or running (a redelivery of it) is one job: its ack answers both.
        queue
          .add(frame.message_id, frame)
          .then(refreshCredits)
          .catch((error: unknown) => {
            held.delete(frame.message_id);
            log.error({ err: error instanceof Error ? error.message : String(error), messageId: frame.message_id }, 'delivery not queued; the Relay will redeliver it');
          });
      },
      onCancel: (frame) => pipeline.cancel(frame.message_id),
      onReplyStored: (frame) => plugins?.outbox.confirm(frame.key),
      // API clients' history, from this disk (with Redis, every core's disk holds the same turns).
      onHistory: (frame) => tunnel?.send(answerHistory(frame, memory.apiHistory, log)),
      onEmbed: (frame) => void answerEmbed(frame, embedder, log).then((result) => tunnel?.send(result)),
      onNoteSearch: (frame) => void answerNoteSearch(frame, recall, log).then((result) => tunnel?.send(result)),
      onOwnerTools: (frame) =>
        void answerOwnerTools(frame, { plugins: plugins?.registry, mcp, expose: config.mcp?.expose ?? new Set(), log }).then((result) => tunnel?.send(result)),
    }),
  );
  tunnel = dialler;

  // Devices on a local broker: answered by the same pipeline, outside the Relay (and its window).
  // Disposed before the tunnel: running MQTT replies finish and are published; unanswered
  // messages stay with the broker.
  const mqtt = config.mqtt
    ? parts.use(
        'mqtt',
        await (await import('./mqtt/bridge.js')).startMqttBridge({
          config: config.mqtt,
          log,
          replyTo: (message) => pipeline.replyTo(message),
          cancel: (messageId) => pipeline.cancel(messageId),
          concurrency: engine.sequences,
          shutdownTimeoutMs: config.jobs.shutdownTimeoutMs,
        }),
      )
    : undefined;
  // Progress frames keep long generations from passing the edge's ack deadline.
  dialler.on('ready', (session) => pipeline.setAckTimeout(session.ackTimeoutMs));
  // Pushes queued while the tunnel was down go out now (the Relay sends each key once).
  dialler.on('ready', () => plugins?.outbox.flush());
  const started = Date.now();
  if (config.admin.port !== 0) {
    parts.use(
      'admin port',
      await startAdminServer({
        ...config.admin,
        metrics,
        log,
        pages: { '/experiments': () => learning.page() },
        health: () => ({ ok: tunnel?.state === 'ready', tunnel: tunnel?.state, engine: engine.name }),
        status: async () => ({
          core_id: config.coreId,
          version: VERSION,
          started_at: started,
          tunnel: { state: tunnel?.state ?? 'idle', edge: config.edgeUrl, credits: tunnel?.currentCredits ?? 0 },
          engine: { name: engine.name, model: engine.describe(), sequences: engine.sequences },
          queue: { kind: queue.kind, ...(await queue.counts()), held: held.size },
          memory: { state_tier: memory.stateTier, ...memory.stats() },
          recall: recall ? recall.embedder.name : 'off',
          rss_bytes: process.memoryUsage().rss,
        }),
      }),
    );
  }
  dialler.start();
  log.info(
    {
      coreId: config.coreId,
      edge: config.edgeUrl,
      engine: engine.name,
      queue: queue.kind,
      memory: memory.stateTier,
      recall: recall?.embedder.name ?? 'off',
      mqtt: mqtt ? 'on' : 'off',
    },
    'core started',
  );

  // Disposed first: ask for nothing more, let running jobs finish and ack while the tunnel is
  // up (queued ones stay in Redis, or go back to the Relay when the tunnel closes); what is left
  // is abandoned (the Relay redelivers it). Then the rest, last started first, the model and
  // memory last.
  parts.defer('running jobs', async () => {
    dialler.setCredits(0);
    const { returned, abandoned } = await queue.dispose({ timeoutMs: config.jobs.shutdownTimeoutMs });
    if (returned.length + abandoned.length > 0) log.info({ returned: returned.length, abandoned: abandoned.length }, 'left for the Relay to redeliver');
  });
  let disposing: Promise<void> | undefined;
  const dispose = () => {
    disposing ??= parts.dispose().then(() => log.info('core stopped'));
    return disposing;
  };
  return { engine, tunnel: dialler, pipeline, memory, queue, dispose, [Symbol.asyncDispose]: dispose };
}
