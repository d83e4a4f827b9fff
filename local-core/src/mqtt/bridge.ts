import { setTimeout as sleep } from 'node:timers/promises';
import { isStopCommand, replyKeyFor, type Message } from '@hearth/shared';
import { connect, type DoneCallback, type MqttClient } from 'mqtt';
import type { Logger } from '../logger.js';
import { throttledErrorLog } from '../memory/redis.js';
import type { MqttConfig } from './config.js';
import { MqttError } from './errors.js';
import { parseInbound, type Inbound } from './inbound.js';
import { KeyedQueue } from './keyed-queue.js';
import { PlainTextIds } from './plain-ids.js';
import { isSharedFilter, replyTopicFor } from './topics.js';
import type { MqttReply } from './wire.js';

export interface MqttBridgeOptions {
  config: MqttConfig;
  /**
   * The reply to a message: `pipeline.replyTo`, with its commands, memory, recall, model and
   * dedupe by message id (a message seen before gets the reply it got then). Rejects when
   * generation failed.
   */
  replyTo: (message: Message) => Promise<string>;
  /** Stops the generation of a message (`pipeline.cancel`), so `/stop` from a device works as elsewhere. */
  cancel?: (messageId: string) => void;
  log: Logger;
  /** Replies generated at once across devices (one device's are always one at a time). Default 4. */
  concurrency?: number;
  /** Messages held unanswered before the bridge stops acknowledging more (the broker keeps them meanwhile). Default 1,000. */
  maxBacklog?: number;
  /** How long `startMqttBridge` waits for the broker. Default 30 s. */
  connectTimeoutMs?: number;
  /** How long `dispose` lets received messages be answered. Default 30 s. */
  shutdownTimeoutMs?: number;
}

/** A running bridge between the broker and the pipeline. */
export interface MqttBridge extends AsyncDisposable {
  /** Whether the broker connection is up now. */
  readonly connected: boolean;
  /** Messages received and not yet answered. */
  readonly backlog: number;
  /** Answers what was received (within the shutdown timeout), then disconnects; the broker keeps the session. Idempotent. */
  dispose(): Promise<void>;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Connects to the broker in MQTT_URL and answers devices: each message on the subscribed topic
 * is validated, normalized to a `Message` (platform `mqtt`), answered through `replyTo` and the
 * reply published as JSON `{ id, in_reply_to, text }` on the device's reply topic.
 *
 * - One device's messages are answered one at a time, in arrival order; devices in parallel, at
 *   most `concurrency` at once.
 * - The session is persistent (stable client id, clean start off, a session expiry), so what
 *   devices publish at QoS ≥ 1 while the core is down waits at the broker and is answered on
 *   the next start. The client reconnects by itself when the broker goes away.
 * - A message received again (a broker redelivery, a device resending the same id) gets the same
 *   reply with the same `id`, generated once: devices keep the first reply of each id.
 * - Anything invalid (not UTF-8, over 64 KiB, bad JSON, a topic without a device id) is logged
 *   and dropped; nothing a device sends stops the bridge.
 *
 * @throws MqttError when no broker answers within `connectTimeoutMs`, or it refuses the connection or the subscription
 * @example
 * const mqtt = loadMqttConfig(process.env, config.coreId);
 * const bridge = mqtt && (await startMqttBridge({ config: mqtt, replyTo: (m) => pipeline.replyTo(m), cancel: (id) => pipeline.cancel(id), log }));
 * await bridge?.dispose();
 */
export async function startMqttBridge(options: MqttBridgeOptions): Promise<MqttBridge> {
  const { config } = options;
  const log = options.log.child({ broker: config.url });
  const maxBacklog = options.maxBacklog ?? 1_000;
  const plainIds = new PlainTextIds();
  /** Running, then draining (still answering what arrives), then closing (taking nothing more). */
  let state: 'running' | 'draining' | 'closing' = 'running';
  /** Per device, the message whose reply is being generated (for `/stop`). */
  const answering = new Map<string, string>();
  /** Replies handed to the client and not yet acknowledged by the broker. */
  const publishes = new Set<Promise<void>>();
  /** The acknowledgement of the last message received, held while the backlog is full. */
  let held: DoneCallback | undefined;

  const queue = new KeyedQueue(
    options.concurrency ?? 4,
    (error, device) => log.error({ device, err: messageOf(error) }, 'mqtt message not answered'),
    () => {
      if (held && queue.size <= maxBacklog && state !== 'closing') {
        const acknowledge = held;
        held = undefined;
        acknowledge();
      }
    },
  );

  const client: MqttClient = connect(config.url, {
    protocolVersion: 5,
    clientId: config.clientId,
    // A persistent session: subscriptions and QoS ≥ 1 messages survive the core being away.
    clean: false,
    properties: { sessionExpiryInterval: config.sessionExpirySeconds },
    ...(config.username === undefined ? {} : { username: config.username }),
    ...(config.password === undefined ? {} : { password: config.password }),
    // Subscribed on every connect below, with options mqtt.js's own resubscribe would not keep.
    resubscribe: false,
    reconnectPeriod: 1_000,
    // A broker that refuses us after a restart (busy, ACL reloaded) may accept us later: keep trying.
    reconnectOnConnackError: true,
  });

  // mqtt.js acknowledges a PUBLISH when this calls back, and handles the connection's next
  // packet only after that. While the backlog is full the acknowledgement waits, and with it
  // everything behind it: the broker keeps the rest. While closing it never comes: the broker
  // sends the message again next session.
  client.handleMessage = (_packet, callback) => {
    if (state === 'closing') return;
    if (queue.size > maxBacklog) {
      held = callback;
      return;
    }
    callback();
  };

  client.on('message', (topic, payload, packet) => {
    if (state === 'closing') return;
    try {
      // Retained messages are a topic's last state, not a request (the subscription asks for none).
      if (packet.retain) {
        log.warn({ topic }, 'mqtt message dropped: retained');
        return;
      }
      const parsed = parseInbound(topic, payload, { receivedAt: Date.now(), dup: packet.dup, plainIds });
      if (!parsed.ok) {
        log.warn({ topic, bytes: payload.byteLength, reason: parsed.error.message }, 'mqtt message dropped');
        return;
      }
      const { device, message } = parsed.value;
      log.debug({ device, messageId: message.message_id, dup: packet.dup, backlog: queue.size }, 'mqtt message received');
      // A `/stop` stops the reply being written now, rather than waiting behind it.
      const running = answering.get(device);
      if (running && options.cancel && isStopCommand(message)) options.cancel(running);
      queue.push(device, () => answer(parsed.value));
    } catch (error) {
      log.error({ topic, err: messageOf(error) }, 'mqtt message dropped: could not be handled');
    }
  });

  async function answer({ device, message }: Inbound): Promise<void> {
    const started = performance.now();
    const ids = { device, messageId: message.message_id };
    answering.set(device, message.message_id);
    let text: string;
    try {
      text = await options.replyTo(message);
    } catch (error) {
      // Nothing is remembered of a failed generation: the device's resend is tried afresh.
      log.error({ ...ids, err: messageOf(error) }, 'mqtt message not answered: generation failed');
      return;
    } finally {
      answering.delete(device);
    }
    const reply: MqttReply = { id: replyKeyFor(message.message_id), in_reply_to: message.message_id, text };
    // Handed to the client, not awaited here: the broker's acknowledgement arrives behind any
    // held one, and mqtt.js keeps the reply and sends it again after a reconnect.
    const publishing: Promise<void> = client
      .publishAsync(replyTopicFor(config.replyTopic, device), JSON.stringify(reply), {
        qos: config.qos,
        retain: false,
        properties: { contentType: 'application/json', payloadFormatIndicator: true },
      })
      .then(
        () => log.info({ ...ids, chars: text.length, ms: Math.round(performance.now() - started) }, 'mqtt replied'),
        (error: unknown) => log.error({ ...ids, err: messageOf(error) }, 'mqtt reply not published (the device may send its message again)'),
      )
      .finally(() => publishes.delete(publishing));
    publishes.add(publishing);
  }

  async function subscribe(): Promise<void> {
    let granted: number | undefined;
    try {
      // nl: never our own replies (not allowed on a shared subscription); rh 2: no retained messages.
      granted = (await client.subscribeAsync(config.topic, { qos: config.qos, nl: !isSharedFilter(config.topic), rh: 2 }))[0]?.qos;
    } catch (error) {
      throw new MqttError(
        'mqtt_subscribe_refused',
        `the broker at ${config.url} (MQTT_URL) refused the subscription to ${config.topic} (HEARTH_MQTT_TOPIC): ${messageOf(error)}; check its ACL for client ${config.clientId}`,
        { cause: error },
      );
    }
    if (granted !== undefined && granted < config.qos) {
      log.warn({ topic: config.topic, requested: config.qos, granted }, 'mqtt broker granted a lower QoS than HEARTH_MQTT_QOS');
    }
  }

  let resubscribeTimer: NodeJS.Timeout | undefined;
  /** After a reconnect: a refusal now (an ACL changed meanwhile) is retried while the connection lasts. */
  function resubscribe(): void {
    clearTimeout(resubscribeTimer);
    subscribe().catch((error: unknown) => {
      log.error({ err: messageOf(error) }, 'mqtt subscription failed; trying again in 5 s');
      resubscribeTimer = setTimeout(() => client.connected && state !== 'closing' && resubscribe(), 5_000);
    });
  }

  const errors = throttledErrorLog(log, `MQTT broker ${config.url} (MQTT_URL)`);
  client.on('error', (error) => errors.report(error));
  client.on('offline', () => log.warn('mqtt broker unreachable; reconnecting'));
  client.on('disconnect', (packet) => log.warn({ reasonCode: packet.reasonCode }, 'mqtt broker closed the connection'));
  client.on('close', () => {
    // That connection's packet stream is gone; the broker sends what it held again on the next one.
    held = undefined;
  });

  const firstSubscription = new Promise<void>((resolve, reject) => {
    let first = true;
    client.on('connect', (connack) => {
      errors.recovered();
      log.info({ clientId: config.clientId, sessionPresent: connack.sessionPresent, topic: config.topic }, first ? 'mqtt connected' : 'mqtt reconnected');
      if (first) subscribe().then(resolve, reject);
      else resubscribe();
      first = false;
    });
  });
  const connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  let onStartError: ((error: Error) => void) | undefined;
  const startFailed = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new MqttError('mqtt_unreachable', `no MQTT broker answered at ${config.url} (MQTT_URL) within ${Math.round(connectTimeoutMs / 1000)} s: start it (Debian: apt install mosquitto) or fix MQTT_URL`)),
      connectTimeoutMs,
    );
    onStartError = (error) => {
      // A CONNACK refusal carries an MQTT reason code; a socket error a string code (ECONNREFUSED).
      const refused = 'code' in error && typeof error.code === 'number';
      const why = refused ? `refused the connection: ${error.message} (check the credentials in MQTT_URL and that HEARTH_CORE_ID is unique)` : `cannot be reached: ${error.message}`;
      reject(new MqttError(refused ? 'mqtt_refused' : 'mqtt_unreachable', `MQTT broker at ${config.url} (MQTT_URL) ${why}`, { cause: error }));
    };
    client.once('error', onStartError);
  });
  try {
    await Promise.race([firstSubscription, startFailed]);
  } catch (error) {
    await client.endAsync(true);
    throw error;
  } finally {
    clearTimeout(timer);
    if (onStartError) client.off('error', onStartError);
  }

  /** Until nothing received is unanswered and every reply is acknowledged (messages may still arrive meanwhile). */
  async function drain(): Promise<void> {
    while (queue.size > 0 || publishes.size > 0) {
      await queue.whenIdle();
      await Promise.allSettled([...publishes]);
    }
  }

  let stopping: Promise<void> | undefined;
  const dispose = () => {
    stopping ??= (async () => {
      state = 'draining';
      const timeoutMs = options.shutdownTimeoutMs ?? 30_000;
      const cancelTimeout = new AbortController();
      const drained = await Promise.race([drain().then(() => true), sleep(timeoutMs, false, { signal: cancelTimeout.signal })]);
      cancelTimeout.abort();
      state = 'closing';
      clearTimeout(resubscribeTimer);
      if (!drained) log.warn({ backlog: queue.size, publishing: publishes.size }, 'mqtt stopping with messages unanswered (devices may send them again)');
      // Forced when replies are still unacknowledged: waiting for them could take forever with the broker gone.
      await client.endAsync(!drained);
      log.info('mqtt bridge stopped');
    })();
    return stopping;
  };

  return {
    get connected() {
      return client.connected;
    },
    get backlog() {
      return queue.size;
    },
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}
