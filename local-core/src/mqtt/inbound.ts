import { HearthError, MessageSchema, type Message, type Parsed } from '@hearth/shared';
import { DevicePayloadSchema, MAX_PAYLOAD_BYTES } from './wire.js';
import type { PlainTextIds } from './plain-ids.js';
import { DEVICE_ID, deviceOf } from './topics.js';

/** A device's message, normalized, and the device it came from. */
export interface Inbound {
  device: string;
  message: Message;
}

export interface InboundContext {
  /** When the bridge received it (ms since the epoch). */
  receivedAt: number;
  /** The broker's DUP flag: this PUBLISH may have been delivered before. */
  dup: boolean;
  plainIds: PlainTextIds;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const refuse = (reason: string): Parsed<Inbound> => ({ ok: false, error: new HearthError('bad_mqtt_message', reason) });

/**
 * Normalizes what a device published on `topic` into the shared {@link Message}: platform
 * `mqtt`, `message_id` `mqtt:<device>:<id>`, conversation `mqtt:<device>`, sender
 * `mqtt:<device>` (or `mqtt:<device>:<sender>` when the payload names one).
 *
 * A payload starting with `{` is JSON and must match {@link DevicePayloadSchema}; anything else
 * is plain UTF-8 text, with an id from {@link PlainTextIds}. Reasons for refusing never quote
 * the payload (it may hold personal data).
 */
export function parseInbound(topic: string, payload: Uint8Array, context: InboundContext): Parsed<Inbound> {
  const device = deviceOf(topic);
  if (!device) return refuse(`the topic's last level is not a device id (${DEVICE_ID.source})`);
  if (payload.byteLength > MAX_PAYLOAD_BYTES) return refuse(`payload of ${payload.byteLength} bytes is over the ${MAX_PAYLOAD_BYTES}-byte limit`);
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return refuse('payload is not UTF-8 text');
  }

  let id: string;
  let body: string;
  let timestamp: number;
  let sender: string | undefined;
  let replyTo: string | null = null;
  if (text.trimStart().startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return refuse('payload starts with { but is not valid JSON');
    }
    const parsed = DevicePayloadSchema.safeParse(json);
    if (!parsed.success) return refuse(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'payload'}: ${issue.message}`).join('; '));
    ({ id, text: body, sender } = parsed.data);
    timestamp = parsed.data.timestamp ?? Math.floor(context.receivedAt / 1000);
    replyTo = parsed.data.reply_to ?? null;
  } else {
    if (text.trim() === '') return refuse('payload is empty');
    const plain = context.plainIds.idFor(topic, payload, context);
    id = plain.id;
    body = text;
    timestamp = Math.floor(plain.firstSeen / 1000);
  }

  const message = MessageSchema.safeParse({
    message_id: `mqtt:${device}:${id}`,
    platform: 'mqtt',
    conversation: { id: `mqtt:${device}`, type: 'private' },
    sender: sender === undefined ? { id: `mqtt:${device}` } : { id: `mqtt:${device}:${sender}`, name: sender },
    content: { text: body, attachments: [], entities: [] },
    reply_to: replyTo,
    timestamp,
  });
  if (!message.success) return refuse(`not a valid message: ${message.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  return { ok: true, value: { device, message: message.data } };
}
