import { SELF } from 'cloudflare:test';
import { inject } from 'vitest';
import type { RecordedWhatsAppCall, WhatsAppFailure } from '../../tests/fakes/whatsapp-cloud-api.js';

const PHONE_NUMBER_ID = inject('whatsappPhoneNumberId');

/** Serialises like Meta does: compact, with non-ASCII escaped as `\uXXXX`. */
export function metaJson(body: unknown): string {
  return JSON.stringify(body).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `sha256=<hex>` HMAC of the raw body, as Meta signs it (computed here, not with the code under test). */
export async function sign(raw: string, secret = inject('whatsappAppSecret')): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(raw)));
  return `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

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
export function textWebhook(messages: { from: string; id: string; body: string }[], phoneNumberId = PHONE_NUMBER_ID) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
              contacts: messages.map((m) => ({ profile: { name: 'Tester' }, wa_id: m.from })),
              messages: messages.map((m) => ({ from: m.from, id: m.id, timestamp: '1764000100', type: 'text', text: { body: m.body } })),
            },
          },
        ],
      },
    ],
  };
}

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
