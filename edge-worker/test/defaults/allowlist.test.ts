import { describe, expect, it } from 'vitest';
import { postWhatsApp, textWebhook, whatsappCalls } from '../whatsapp-helpers.js';
import { whereIs } from './access-helpers.js';

// WhatsApp is on HEARTH_ACCESS_POLICY_WHATSAPP=allowlist, with whatsapp:16505550100 listed.
describe('the allowlist policy (a per-platform override)', () => {
  it('queues a listed sender and silently drops anyone else: no code, no answer, nothing stored', async () => {
    const listed = `wamid.allowlisted-${crypto.randomUUID()}`;
    const stranger = `wamid.stranger-${crypto.randomUUID()}`;
    const response = await postWhatsApp(
      textWebhook([
        { from: '16505550100', id: listed, body: 'hi, it is me' },
        { from: '16505550199', id: stranger, body: 'hi, who is this?' },
      ]),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, stored: 1, duplicates: 0, withheld: 1, ignored: 0 });
    expect(await whereIs(`whatsapp:${listed}`)).toBe('queued');
    expect(await whereIs(`whatsapp:${stranger}`)).toBe('nowhere');
    expect((await whatsappCalls()).filter((c) => c.body.to === '16505550199')).toEqual([]);
  });
});
