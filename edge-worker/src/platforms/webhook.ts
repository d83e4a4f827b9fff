import { accessPolicyFor, isApprovalPress, isStopCommand, seal, senderKeyOf, type Message } from '@hearth/shared';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { admissionOf, pairingSourceOf } from '../access/admission.js';
import type { AppEnv } from '../app-env.js';
import type { EdgeConfig } from '../config.js';
import { describeError, log } from '../log.js';
import { relayFor } from '../relay/stub.js';
import type { InboundBatch, PlatformAdapter } from './adapter.js';
import type { ReplyCredential } from './outbound.js';
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

/** What became of one inbound message: counted by `POST /webhooks/:platform`, told apart by the e-mail handler. */
export type InboundOutcome = 'stored' | 'duplicate' | 'withheld';

/**
 * Stores one message sealed in the Relay, once, unless its sender may not talk (`withheld`:
 * refused, or offered a pairing code that holds it until the owner approves). Resolves once it
 * is committed. `context`: what its platform needs to answer it, sealed by the edge (e-mail's
 * reply addresses), kept beside it; `credential`: the short-lived right its replies are sent
 * with (Discord's interaction token), sealed by its adapter.
 * @throws HTTPException 503 when the Relay is full or unreachable: nothing was stored for sure.
 */
export async function storeInbound(
  env: Env,
  config: EdgeConfig,
  message: Message,
  { context, credential, onStored }: { context?: string; credential?: ReplyCredential; onStored?: (message: Message) => void } = {},
): Promise<InboundOutcome> {
  const fields = { platform: message.platform, message_id: message.message_id, sender: senderKeyOf(message) };
  const admission = admissionOf(message, config.access);
  if (admission === 'denied') {
    log('info', 'sender_denied', { ...fields, policy: accessPolicyFor(config.access, message.platform) });
    return 'withheld';
  }
  const sealed = await seal(JSON.stringify(message), config.coreKeys);
  const envelope = { message_id: message.message_id, conversation_id: message.conversation.id, sealed };
  const gate =
    admission === 'pairing'
      ? { sender: senderKeyOf(message), source: pairingSourceOf(message), ...(message.sender.name ? { name: message.sender.name } : {}) }
      : undefined;
  const { outcome } = await relayFor(env)
    .enqueue(envelope, { gate, stops: isStopCommand(message), press: isApprovalPress(message), context, ...(credential ? { credential } : {}) })
    .catch((cause: unknown) => {
      // An overloaded, reset or unreachable Relay: nothing was committed for sure, so the platform
      // must keep the message and retry it (a 500 would say the same, but not when).
      log('warn', 'relay_unavailable', { ...fields, error: describeError(cause) });
      throw new HTTPException(503, { message: 'the queue is unavailable, retry later', cause });
    });
  // Full: 503 + Retry-After, so the platform keeps the message and retries it; what was stored
  // of it is then recognised as duplicate.
  if (outcome === 'full') throw new HTTPException(503, { message: 'queue is full, retry later' });
  if (outcome === 'stored' || outcome === 'duplicate') {
    onStored?.(message);
    log('info', 'webhook_accepted', { ...fields, duplicate: outcome === 'duplicate' });
    return outcome;
  }
  log('info', 'sender_not_paired', { ...fields, outcome });
  return 'withheld';
}

/**
 * `POST /webhooks/:platform`. Answers 200 only once every message of the POST is committed in
 * the Relay: a 200 tells the platform to forget them, so anything earlier could lose one.
 * Messages of one POST are stored in order, each once (a platform retry finds them stored).
 */
export async function platformWebhook(c: Context<AppEnv>): Promise<Response> {
  const { adapter, batch } = await readWebhook(c);
  const config = c.get('config');
  const counts = { stored: 0, duplicates: 0, withheld: 0 };
  const afterStored = adapter.afterStored?.bind(adapter);
  const onStored = afterStored
    ? (message: Message) =>
        c.executionCtx.waitUntil(
          afterStored(message, config).catch((error: unknown) =>
            log('warn', 'acknowledge_failed', { platform: adapter.platform, message_id: message.message_id, error: describeError(error) }),
          ),
        )
    : undefined;
  for (const message of batch.messages) {
    const credential = batch.credentials?.[message.message_id];
    const outcome = await storeInbound(c.env, config, message, { ...(onStored ? { onStored } : {}), ...(credential ? { credential } : {}) });
    counts[outcome === 'duplicate' ? 'duplicates' : outcome]++;
  }
  return c.json(batch.answer ?? { ok: true, ...counts, ignored: batch.ignored.length });
}

/** `GET /webhooks/:platform`: the platform's subscription handshake, where it has one. */
export function platformHandshake(c: Context<AppEnv>): Response {
  const adapter = adapterOf(c);
  if (!adapter.handshake) throw new HTTPException(405, { message: `${adapter.platform} webhooks take POST only` });
  return adapter.handshake(new URL(c.req.url).searchParams, c.get('config'));
}
