import { HTTPException } from 'hono/http-exception';
import type { PlatformAdapter } from '../adapter.js';
import { notSetUp } from '../outbound.js';
import { parseJsonBody } from '../json-body.js';
import { normalizeWhatsAppWebhook } from './normalize.js';
import { WhatsAppWebhookSchema } from './schema.js';
import { sendWhatsAppPart, sendWhatsAppTyping, whatsappParts } from './send.js';
import { isSignedByMeta, SIGNATURE_HEADER } from './signature.js';

/**
 * Constant-time string equality that can run synchronously, as `handshake` must: workerd's
 * `crypto.subtle.timingSafeEqual` (hono's `timingSafeEqual` is async). Unequal lengths return
 * false after comparing the input with itself, so the time depends on the input's length only.
 */
function constantTimeEqual(input: string, secret: string): boolean {
  const a = new TextEncoder().encode(input);
  const b = new TextEncoder().encode(secret);
  if (a.byteLength !== b.byteLength) {
    crypto.subtle.timingSafeEqual(a, a);
    return false;
  }
  return crypto.subtle.timingSafeEqual(a, b);
}

/**
 * WhatsApp Cloud API webhooks (Meta Graph): subscribed with a GET handshake that echoes
 * `hub.challenge` to whoever knows the verify token, then POSTs signed with the app secret
 * (`X-Hub-Signature-256`, an HMAC of the raw body). A POST may batch several messages and
 * delivery receipts, from several entries.
 */
export const whatsappAdapter: PlatformAdapter = {
  platform: 'whatsapp',

  enabled: (config) => config.whatsapp !== undefined,

  handshake(query, config) {
    const token = query.get('hub.verify_token') ?? '';
    const challenge = query.get('hub.challenge');
    const tokenOk = config.whatsapp !== undefined && constantTimeEqual(token, config.whatsapp.verifyToken);
    if (query.get('hub.mode') !== 'subscribe' || !tokenOk || !challenge) {
      throw new HTTPException(403, { message: 'wrong hub.mode, hub.verify_token or no hub.challenge' });
    }
    return new Response(challenge, { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  },

  async verify(request, rawBody, config) {
    const header = request.headers.get(SIGNATURE_HEADER);
    if (!config.whatsapp || !(await isSignedByMeta(header, rawBody, config.whatsapp.appSecret))) {
      throw new HTTPException(401, { message: `missing, malformed or wrong ${SIGNATURE_HEADER}` });
    }
  },

  parse(rawBody, config) {
    const json = parseJsonBody(rawBody);
    const webhook = WhatsAppWebhookSchema.safeParse(json);
    if (!webhook.success) {
      const issue = webhook.error.issues[0];
      const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
      throw new HTTPException(400, { message: `body is not a WhatsApp webhook: ${issue?.message}${where}` });
    }
    // verify() passed, so WhatsApp is set up; the guard only satisfies the types.
    if (!config.whatsapp) throw new HTTPException(404, { message: 'WhatsApp is not set up at this edge' });
    return normalizeWhatsAppWebhook(webhook.data, config.whatsapp);
  },

  async typing(_conversationId, messageId, config) {
    if (config.whatsapp) await sendWhatsAppTyping(config.whatsapp, messageId);
  },

  parts: whatsappParts,

  sendPart: (reply, part, config) => (config.whatsapp ? sendWhatsAppPart(config.whatsapp, reply, part) : notSetUp('WhatsApp')),

  // Throughput per phone number; Meta's per-user pair limit answers 131056, retried by the outbox.
  pacing: (_conversationId, config) => ({ intervalMs: 0, maxPerSecond: config.whatsapp?.maxPerSecond ?? 1 }),
};
