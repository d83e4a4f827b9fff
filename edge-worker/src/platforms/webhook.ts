import { accessPolicyFor, isApprovalPress, isStopCommand, seal, senderKeyOf } from '@hearth/shared';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { admissionOf, pairingSourceOf } from '../access/admission.js';
import type { AppEnv } from '../app-env.js';
import { describeError, log } from '../log.js';
import { relayFor } from '../relay/stub.js';
import type { InboundBatch, PlatformAdapter } from './adapter.js';
import { enabledAdapter } from './registry.js';

function adapterOf(c: Context<AppEnv>): PlatformAdapter {
  const name = c.req.param('platform') ?? '';
  const adapter = enabledAdapter(name, c.get('config'));
  if (!adapter) throw new HTTPException(404, { message: `no webhook for platform "${name}" at this edge` });
  return adapter;
}

/**
 * The body as text, or 400: JSON is UTF-8 (RFC 8259), and platforms send nothing else. A lenient
 * decode would turn broken bytes into U+FFFD and queue a message nobody wrote.
 */
function utf8Of(raw: ArrayBuffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(raw);
  } catch (cause) {
    throw new HTTPException(400, { message: 'body is not valid UTF-8', cause });
  }
}

/** Verifies and parses a webhook POST with its platform's adapter (401 / 400 / 404). */
export async function readWebhook(c: Context<AppEnv>): Promise<{ adapter: PlatformAdapter; batch: InboundBatch }> {
  const adapter = adapterOf(c);
  const config = c.get('config');
  const raw = await c.req.arrayBuffer();
  await adapter.verify(c.req.raw, raw, config);
  const batch = await adapter.parse(utf8Of(raw), config);
  for (const reason of batch.ignored) log('info', 'webhook_ignored', { platform: adapter.platform, reason });
  for (const event of batch.events) log('info', 'platform_event', { platform: adapter.platform, ...event });
  return { adapter, batch };
}

/**
 * `POST /webhooks/:platform`. Answers 200 only once every message of the POST is committed in
 * the Relay: a 200 tells the platform to forget them, so anything earlier could lose one.
 * Messages of one POST are stored in order, each once (a platform retry finds them stored).
 * Senders the access policy does not let in are never queued: they are `withheld` (refused, or
 * offered a pairing code that holds their first message until the owner approves).
 */
export async function platformWebhook(c: Context<AppEnv>): Promise<Response> {
  const { adapter, batch } = await readWebhook(c);
  const relay = relayFor(c.env);
  const config = c.get('config');
  const counts = { stored: 0, duplicates: 0, withheld: 0 };
  for (const message of batch.messages) {
    const fields = { platform: adapter.platform, message_id: message.message_id, sender: senderKeyOf(message) };
    const admission = admissionOf(message, config.access);
    if (admission === 'denied') {
      log('info', 'sender_denied', { ...fields, policy: accessPolicyFor(config.access, message.platform) });
      counts.withheld++;
      continue;
    }
    const sealed = await seal(JSON.stringify(message), config.coreKeys);
    const envelope = { message_id: message.message_id, conversation_id: message.conversation.id, sealed };
    const gate =
      admission === 'pairing'
        ? { sender: senderKeyOf(message), source: pairingSourceOf(message), ...(message.sender.name ? { name: message.sender.name } : {}) }
        : undefined;
    const credential = batch.credentials?.[message.message_id];
    const options = { gate, stops: isStopCommand(message), press: isApprovalPress(message), ...(credential ? { credential } : {}) };
    const { outcome } = await relay.enqueue(envelope, options).catch((cause: unknown) => {
      // An overloaded, reset or unreachable Relay: nothing was committed for sure, so the platform
      // must keep the POST and retry it (a 500 would say the same, but not when).
      log('warn', 'relay_unavailable', { ...fields, error: describeError(cause) });
      throw new HTTPException(503, { message: 'the queue is unavailable, retry later', cause });
    });
    // Full: 503 + Retry-After, so the platform keeps the POST and retries it; what was stored
    // of it is then recognised as duplicate.
    if (outcome === 'full') throw new HTTPException(503, { message: 'queue is full, retry later' });
    if (outcome === 'stored' || outcome === 'duplicate') {
      counts[outcome === 'stored' ? 'stored' : 'duplicates']++;
      if (adapter.afterStored) {
        const acknowledged = adapter.afterStored(message, config).catch((error: unknown) =>
          log('warn', 'acknowledge_failed', { platform: adapter.platform, message_id: message.message_id, error: describeError(error) }),
        );
        c.executionCtx.waitUntil(acknowledged);
      }
      log('info', 'webhook_accepted', { ...fields, duplicate: outcome === 'duplicate' });
    } else {
      counts.withheld++;
      log('info', 'sender_not_paired', { ...fields, outcome });
    }
  }
  return c.json(batch.answer ?? { ok: true, ...counts, ignored: batch.ignored.length });
}

/** `GET /webhooks/:platform`: the platform's subscription handshake, where it has one. */
export function platformHandshake(c: Context<AppEnv>): Response {
  const adapter = adapterOf(c);
  if (!adapter.handshake) throw new HTTPException(405, { message: `${adapter.platform} webhooks take POST only` });
  return adapter.handshake(new URL(c.req.url).searchParams, c.get('config'));
}
