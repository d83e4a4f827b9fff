import { wholeNumber } from '@hearth/shared';
import { z } from 'zod';
import { parseEnv } from '../env.js';
import { DEVICE_PLACEHOLDER, filterProblem, replyTopicFor, topicMatches } from './topics.js';

const MQTT_URL_ADVICE = 'MQTT_URL must be mqtt://host[:port] or mqtts://user:password@host[:port] (a local broker, e.g. mqtt://127.0.0.1:1883); unset it to turn MQTT off';

/** `mqtt://` or `mqtts://` with a host; anything else is refused with the fix. */
const MqttUrlSchema = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'mqtt:' || url.protocol === 'mqtts:') && url.hostname !== '';
  } catch {
    return false;
  }
}, MQTT_URL_ADVICE);

/** QoS of the subscription and the replies: 0 (at most once), 1 (at least once, the default) or 2. */
export type QoS = 0 | 1 | 2;

/** The MQTT bridge's environment variables, defaults included. */
export const MqttEnvSchema = z
  .object({
    MQTT_URL: MqttUrlSchema.optional().meta({ description: 'a local MQTT broker (`mqtt://` or `mqtts://`, credentials in the URL) whose devices the core answers', shownDefault: 'none (MQTT off)' }),
    HEARTH_MQTT_TOPIC: z
      .string()
      .superRefine((filter, ctx) => {
        const problem = filterProblem(filter);
        if (problem) ctx.addIssue(`HEARTH_MQTT_TOPIC ${problem}: it must be an MQTT topic filter whose last level is the device id, e.g. hearth/in/+`);
      })
      .default('hearth/in/+')
      .meta({ description: 'where devices publish: an MQTT topic filter whose last level is the device id' }),
    HEARTH_MQTT_REPLY_TOPIC: z
      .string()
      .refine(
        (template) => template !== '' && !['+', '#', '\u0000'].some((c) => template.includes(c)),
        `HEARTH_MQTT_REPLY_TOPIC must be a topic without wildcards, with ${DEVICE_PLACEHOLDER} where the device id goes, e.g. hearth/out/${DEVICE_PLACEHOLDER}`,
      )
      .default(`hearth/out/${DEVICE_PLACEHOLDER}`)
      .meta({ description: 'where each device gets its replies (`{device}` is replaced by its id); must not match `HEARTH_MQTT_TOPIC`' }),
    HEARTH_MQTT_QOS: z
      .enum(['0', '1', '2'], { error: 'HEARTH_MQTT_QOS must be 0, 1 (default) or 2; below 1, messages sent while the core is down are lost' })
      .default('1')
      .transform((qos) => Number(qos) as QoS)
      .meta({ description: 'QoS of the subscription and the replies (below 1, messages sent while the core is down are lost)' }),
    // A week, like the edge's HEARTH_QUEUE_TTL: how long the broker keeps what devices sent while the core was away.
    HEARTH_MQTT_SESSION_EXPIRY: wholeNumber('HEARTH_MQTT_SESSION_EXPIRY', 60, 4_294_967_295).default(7 * 86_400).meta({ description: "seconds the broker keeps the core's session (what devices sent while it was down)", shownDefault: '`604800` (7 days)' }),
  })
  .superRefine((e, ctx) => {
    // Replies the core itself would take for messages: two cores on one broker would answer each other forever.
    const sample = replyTopicFor(e.HEARTH_MQTT_REPLY_TOPIC, 'device');
    if (topicMatches(e.HEARTH_MQTT_TOPIC, sample)) {
      ctx.addIssue(`HEARTH_MQTT_REPLY_TOPIC (${e.HEARTH_MQTT_REPLY_TOPIC}) must not match HEARTH_MQTT_TOPIC (${e.HEARTH_MQTT_TOPIC}): replies would come back as messages`);
    }
  });


export interface MqttConfig {
  /** The broker, without credentials (safe to log). */
  url: string;
  username: string | undefined;
  password: string | undefined;
  /** The filter subscribed to; the last level of each topic is the device id. */
  topic: string;
  /** Where replies go, with `{device}` replaced by the device id. */
  replyTopic: string;
  qos: QoS;
  /** Stable across restarts, so the broker keeps this core's session (and what arrived meanwhile). */
  clientId: string;
  /** How long the broker keeps the session after the core disconnects. */
  sessionExpirySeconds: number;
}

/**
 * Validates the MQTT settings in `env` (empty strings count as unset). The client id is
 * `hearth-<coreId>`: give each core its own HEARTH_CORE_ID, since a broker lets one connection
 * per client id (a second one takes the session over).
 *
 * @param coreId the validated HEARTH_CORE_ID (`CoreConfig.coreId`)
 * @returns undefined when MQTT_URL is unset (MQTT off)
 * @throws ConfigError listing every bad variable
 * @example
 * const mqtt = loadMqttConfig(process.env, config.coreId);
 */
export function loadMqttConfig(env: NodeJS.ProcessEnv, coreId: string): MqttConfig | undefined {
  const e = parseEnv(MqttEnvSchema, env);
  if (e.MQTT_URL === undefined) return undefined;
  const url = new URL(e.MQTT_URL);
  return {
    // Credentials travel as CONNECT fields, never in the URL that is logged.
    url: `${url.protocol}//${url.host}`,
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    topic: e.HEARTH_MQTT_TOPIC,
    replyTopic: e.HEARTH_MQTT_REPLY_TOPIC,
    qos: e.HEARTH_MQTT_QOS,
    clientId: `hearth-${coreId}`,
    sessionExpirySeconds: e.HEARTH_MQTT_SESSION_EXPIRY,
  };
}
