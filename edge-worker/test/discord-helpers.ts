import { MessageSchema, unseal, type Message } from '@hearth/shared';
import { SELF, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { inject } from 'vitest';
import type { DiscordFailure, RecordedDiscordCall } from '../../tests/fakes/discord-api.js';
import { APPLICATION_ID, discordHeaders } from '../../tests/fakes/discord-payloads.js';
import { relayFor } from '../src/relay/stub.js';
import { coreKeys, storedRows } from './helpers.js';

export { GUILD_ID, commandInteraction, interactionToken, pingInteraction, pressInteraction, snowflake } from '../../tests/fakes/discord-payloads.js';

export const privateKey = (): string => inject('discordPrivateKey');

export interface DiscordPost {
  /** Overrides the signed headers: null drops one, a string replaces it. */
  signature?: string | null;
  timestamp?: string;
  headers?: Record<string, string>;
}

/** POSTs to the Discord webhook through the real app, signed now with the test key unless told otherwise. */
export async function postDiscord(body: unknown, options: DiscordPost = {}): Promise<Response> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { ...(await discordHeaders(raw, privateKey(), options.timestamp)), ...options.headers };
  if (options.signature === null) delete headers['X-Signature-Ed25519'];
  else if (options.signature !== undefined) headers['X-Signature-Ed25519'] = options.signature;
  return SELF.fetch('https://edge.test/webhooks/discord', { method: 'POST', headers, body: raw });
}

/** The calls the fake Discord API recorded (it runs in Node; we are in workerd). */
export async function discordCalls(): Promise<RecordedDiscordCall[]> {
  return (await fetch(`${inject('discordApiBase')}/__calls`)).json();
}

export const editPath = (token: string) => `/webhooks/${APPLICATION_ID}/${token}/messages/@original`;
export const followUpPath = (token: string) => `/webhooks/${APPLICATION_ID}/${token}`;
export const channelPath = (channel: string) => `/channels/${channel}/messages`;

/** The calls to `path` (see editPath, followUpPath, channelPath), in arrival order. */
export async function callsTo(...paths: string[]): Promise<RecordedDiscordCall[]> {
  return (await discordCalls()).filter((c) => paths.includes(c.path));
}

/** Scripts the fake: the next `count` matching calls fail like Discord does. */
export async function failDiscord(failure: DiscordFailure & { count?: number }): Promise<void> {
  const response = await fetch(`${inject('discordApiBase')}/__fail`, { method: 'POST', body: JSON.stringify(failure) });
  if (!response.ok) throw new Error(`fake Discord API refused the failure script: ${response.status}`);
}

/** The normalized message stored under this id, unsealed with the core's key. */
export async function storedDiscordMessage(messageId: string): Promise<Message> {
  const [row] = await storedRows(messageId);
  if (!row) throw new Error(`nothing stored for ${messageId}`);
  return MessageSchema.parse(JSON.parse(await unseal(row.sealed, coreKeys())));
}

/** What the deployment's Relay keeps to answer `messageId` with, as stored. */
export function storedCredential(messageId: string): Promise<{ sealed: string; expires_at: number; used: number } | undefined> {
  return runInDurableObject(relayFor(env), (_relay, state) =>
    state.storage.sql
      .exec<{ sealed: string; expires_at: number; used: number }>('SELECT sealed, expires_at, used FROM reply_credentials WHERE message_id = ?', messageId)
      .toArray()[0],
  );
}

let channels = 0;
/** A channel id no other test of the file uses. */
export const freshChannel = () => String(1_500_000_000_000_000_000n + BigInt(Date.now() % 1_000_000) * 1000n + BigInt(++channels));
