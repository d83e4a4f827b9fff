import type { AccessCommand, AccessResultFrame } from '@hearth/shared';
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { relayFor } from '../../src/relay/stub.js';
import { TestTunnel, telegramCalls, waitFor } from '../helpers.js';

/** The pairing notices the fake Bot API received in a chat, with the code each carries. */
export async function pairingNotices(chatId: number): Promise<{ text: string; code: string }[]> {
  return (await telegramCalls())
    .filter((c) => c.method === 'sendMessage' && c.body.chat_id === String(chatId) && String(c.body.text).includes('hearth pair approve'))
    .map((c) => {
      const text = String(c.body.text);
      return { text, code: /hearth pair approve ([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(text)?.[1] ?? '' };
    });
}

export const waitForPairingNotice = (chatId: number) =>
  waitFor(async () => (await pairingNotices(chatId))[0], `a pairing notice in chat ${chatId}`);

let requests = 0;
/** Sends an owner's access command on a tunnel and returns the Relay's answer. */
export async function accessCommand(tunnel: TestTunnel, command: AccessCommand): Promise<AccessResultFrame> {
  const requestId = `req-${++requests}`;
  tunnel.send({ type: 'access', request_id: requestId, command });
  const result = await tunnel.next('access_result');
  if (result.request_id !== requestId) throw new Error(`answer to ${result.request_id}, expected ${requestId}`);
  return result;
}

/** A tunnel to the deployment's Relay (the one webhooks fill), ready, taking `credits` deliveries. */
export async function ownerTunnel(credits = 0): Promise<TestTunnel> {
  const tunnel = await TestTunnel.viaRoute('owner-core');
  await tunnel.hello(credits, 'owner-core');
  return tunnel;
}

/** Everything the deployment's Relay holds for a message id: queued, held for pairing, or nothing. */
export function whereIs(messageId: string): Promise<'queued' | 'held' | 'nowhere'> {
  return runInDurableObject(relayFor(env), (_relay, state) => {
    const sql = state.storage.sql;
    if (sql.exec('SELECT 1 FROM messages WHERE message_id = ?', messageId).toArray().length > 0) return 'queued';
    if (sql.exec('SELECT 1 FROM pairing_codes WHERE held_message_id = ?', messageId).toArray().length > 0) return 'held';
    return 'nowhere';
  });
}
