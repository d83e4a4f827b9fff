import type { CoreConfig } from './config.js';
import { EchoEngine, type Engine } from './inference/engine.js';
import { LlamaEngine } from './inference/llama-engine.js';
import { readKeySet } from './keys/key-store.js';
import type { Logger } from './logger.js';
import { Pipeline } from './pipeline.js';
import { TunnelClient } from './tunnel/client.js';
import { VERSION } from './version.js';

/** A running core: its parts, for status and tests, and an orderly `stop`. */
export interface RunningCore extends AsyncDisposable {
  readonly engine: Engine;
  readonly tunnel: TunnelClient;
  readonly pipeline: Pipeline;
  stop(): Promise<void>;
}

/** Builds the engine chosen by configuration; the model is loaded once, here. */
export async function createEngine(config: CoreConfig, log: Logger): Promise<Engine> {
  if (config.engine === 'echo') {
    log.warn('HEARTH_ENGINE=echo: diagnostic engine, replies repeat the message');
    return new EchoEngine(config.echoDelayMs, config.sequences ?? 4);
  }
  return LlamaEngine.create(config, log);
}

/**
 * Starts the core: reads its key, loads the engine, then dials the edge. Fails before dialling
 * if the key or the model is missing, so a misconfigured core never takes deliveries.
 *
 * @example
 * await using core = await startCore(loadCoreConfig(process.env), createLogger('info'));
 */
export async function startCore(config: CoreConfig, log: Logger): Promise<RunningCore> {
  const keySet = await readKeySet(config.keyFile);
  const engine = await createEngine(config, log);
  let tunnel: TunnelClient | undefined;
  const pipeline = new Pipeline({
    keySet,
    engine,
    log,
    generationTimeoutMs: config.generationTimeoutMs,
    send: (frame) => tunnel?.send(frame) ?? false,
  });
  tunnel = new TunnelClient({
    edgeUrl: config.edgeUrl,
    coreId: config.coreId,
    keySet,
    credits: engine.sequences,
    heartbeatMs: config.heartbeatMs,
    log,
    software: `hearth-core/${VERSION}`,
    onDeliver: (frame) => pipeline.handle(frame),
    onCancel: (frame) => pipeline.cancel(frame.message_id),
  });
  // Progress frames keep long generations from passing the edge's ack deadline.
  tunnel.on('ready', (session) => pipeline.setAckTimeout(session.ackTimeoutMs));
  tunnel.start();
  log.info({ coreId: config.coreId, edge: config.edgeUrl, engine: engine.name }, 'core started');

  // Shut down in order: stop taking work, abandon what is in progress (the Relay redelivers it),
  // then free the model.
  const stop = async () => {
    await tunnel.stop();
    await pipeline.stop();
    await engine.dispose();
    log.info('core stopped');
  };
  return { engine, tunnel, pipeline, stop, [Symbol.asyncDispose]: stop };
}
