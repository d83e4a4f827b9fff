/**
 * WhatsApp webhooks as Meta posts them, for tests on both sides (edge tests in workerd, e2e in
 * Node): Web APIs only. Signed here with WebCrypto, never with the code under test.
 */

/** Serialises like Meta does: compact, with non-ASCII escaped as `\uXXXX`. */
export function metaJson(body: unknown): string {
  return JSON.stringify(body).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `sha256=<hex>` HMAC of the raw body with the app secret: the `X-Hub-Signature-256` header. */
export async function hubSignature(raw: string | Uint8Array, secret: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, typeof raw === 'string' ? new TextEncoder().encode(raw) : raw));
  return `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** A webhook carrying text messages to `phoneNumberId`, stamped `timestamp` (seconds, as a string). */
export function textWebhook(messages: { from: string; id: string; body: string }[], phoneNumberId: string, timestamp = '1764000100') {
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
              messages: messages.map((m) => ({ from: m.from, id: m.id, timestamp, type: 'text', text: { body: m.body } })),
            },
          },
        ],
      },
    ],
  };
}
