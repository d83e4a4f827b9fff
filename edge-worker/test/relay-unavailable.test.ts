import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import { app } from '../src/app.js';
import { clientToken, freshUser } from './api-helpers.js';
import { textUpdate } from './helpers.js';
import { metaJson, sign, textWebhook } from './whatsapp-helpers.js';

/**
 * A Relay call that fails: in production a Durable Object stub throws when the object is
 * overloaded ("Durable Object is overloaded", `overloaded: true`), being reset, or unreachable.
 * Nothing was committed for sure, so the sender must retry: 503 with Retry-After, never a 500
 * (which platforms also retry, but with no hint of when, and which reads as our bug).
 */
function overloadedEnv(): Env {
  const overloaded = () => {
    throw Object.assign(new Error('Durable Object is overloaded. Requests queued for too long.'), { overloaded: true, retryable: true });
  };
  const stub = { enqueue: async () => overloaded(), admitClient: async () => ({ ok: true }) };
  const namespace = { idFromName: () => ({}), get: () => stub };
  return { ...env, RELAY: namespace } as unknown as Env;
}

async function fetchWith(e: Env, path: string, init: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`https://edge.test${path}`, init), e, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

describe('an overloaded Relay', () => {
  it('a Telegram webhook is answered 503 with Retry-After, so Telegram retries it', async () => {
    const response = await fetchWith(overloadedEnv(), '/webhooks/telegram', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': inject('webhookSecret') },
      body: JSON.stringify(textUpdate(5151, 'hello')),
    });
    expect(response.status).toBe(503);
    expect(response.headers.get('Retry-After')).toMatch(/^\d+$/);
    expect(await response.json()).toMatchObject({ ok: false, error: { code: 'unavailable' } });
  });

  it('a WhatsApp webhook too', async () => {
    const raw = metaJson(textWebhook([{ from: '15550005151', id: 'wamid.overloaded', body: 'hello' }]));
    const response = await fetchWith(overloadedEnv(), '/webhooks/whatsapp', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Hub-Signature-256': await sign(raw) },
      body: raw,
    });
    expect(response.status).toBe(503);
    expect(response.headers.get('Retry-After')).toMatch(/^\d+$/);
  });

  it('POST /v1/messages answers 503 queue_unavailable with Retry-After', async () => {
    const { token } = await clientToken(freshUser('overloaded'));
    const response = await fetchWith(overloadedEnv(), '/v1/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ conversation_id: 'c-1', text: 'hello' }),
    });
    expect(response.status).toBe(503);
    expect(response.headers.get('Retry-After')).toMatch(/^\d+$/);
    expect(await response.json()).toMatchObject({ ok: false, error: { code: 'queue_unavailable', type: 'server_error' } });
  });
});
