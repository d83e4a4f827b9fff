import { SELF } from 'cloudflare:test';
import { inject } from 'vitest';
import type { RecordedWhatsAppCall, WhatsAppFailure } from '../../tests/fakes/whatsapp-cloud-api.js';
import { hubSignature, metaJson, textWebhook as webhookOf } from '../../tests/fakes/whatsapp-payloads.js';

const PHONE_NUMBER_ID = inject('whatsappPhoneNumberId');

export { metaJson };

/** `sha256=<hex>` HMAC of the raw body, as Meta signs it (computed here, not with the code under test). */
export const sign = (raw: string | Uint8Array, secret = inject('whatsappAppSecret')): Promise<string> => hubSignature(raw, secret);

/** POSTs to the WhatsApp webhook through the real app, signed unless `signature` says otherwise (null: no header). */
export async function postWhatsApp(body: unknown, signature?: string | null): Promise<Response> {
  const raw = typeof body === 'string' ? body : metaJson(body);
  const header = signature === undefined ? await sign(raw) : signature;
  return SELF.fetch('https://edge.test/webhooks/whatsapp', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(header === null ? {} : { 'X-Hub-Signature-256': header }) },
    body: raw,
  });
}

/** A webhook with text messages, shaped like Meta's. */
export const textWebhook = (messages: { from: string; id: string; body: string }[], phoneNumberId = PHONE_NUMBER_ID) => webhookOf(messages, phoneNumberId);

/** The calls the fake Graph API recorded (it runs in Node; we are in workerd). */
export async function whatsappCalls(): Promise<RecordedWhatsAppCall[]> {
  return (await fetch(`${inject('whatsappApiBase')}/__calls`)).json();
}

/** Scripts the fake Graph API: the next `count` matching calls fail like Graph does. */
/** Scripts the fake Graph API to fail matching calls like Meta does. */
export async function failWhatsApp(failure: WhatsAppFailure & { count?: number }): Promise<void> {
  const response = await fetch(`${inject('whatsappApiBase')}/__fail`, { method: 'POST', body: JSON.stringify(failure) });
  if (!response.ok) throw new Error(`fake WhatsApp API refused the failure script: ${response.status}`);
}
