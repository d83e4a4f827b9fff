import { MessageSchema, unseal, type Message } from '@hearth/shared';
import { SELF } from 'cloudflare:test';
import { inject } from 'vitest';
import type { RecordedSlackCall, SlackFailure } from '../../tests/fakes/slack-web-api.js';
import { slackHeaders } from '../../tests/fakes/slack-payloads.js';
import { coreKeys, storedRows } from './helpers.js';

export { FORM, dmEvent, eventCallback, mentionEvent, pressBody } from '../../tests/fakes/slack-payloads.js';

export interface SlackPost {
  /** Overrides the signed headers: null drops one, a string replaces it. */
  signature?: string | null;
  timestamp?: string;
  headers?: Record<string, string>;
}

/** POSTs to the Slack webhook through the real app, signed now with the test signing secret unless told otherwise. */
export async function postSlack(body: unknown, options: SlackPost = {}): Promise<Response> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const signed = await slackHeaders(raw, inject('slackSigningSecret'), options.timestamp);
  const headers: Record<string, string> = { ...signed, ...options.headers };
  if (options.signature === null) delete headers['X-Slack-Signature'];
  else if (options.signature !== undefined) headers['X-Slack-Signature'] = options.signature;
  return SELF.fetch('https://edge.test/webhooks/slack', { method: 'POST', headers, body: raw });
}

/** The calls the fake Web API recorded (it runs in Node; we are in workerd). */
async function slackCalls(): Promise<RecordedSlackCall[]> {
  return (await fetch(`${inject('slackApiBase')}/__calls`)).json();
}

/** chat.postMessage calls into one channel, in arrival order. */
export async function slackPosts(channel: string): Promise<RecordedSlackCall[]> {
  return (await slackCalls()).filter((c) => c.method === 'chat.postMessage' && c.body.channel === channel);
}

/** Scripts the fake Web API: the next `count` matching calls fail like Slack does. */
export async function failSlack(failure: SlackFailure & { count?: number }): Promise<void> {
  const response = await fetch(`${inject('slackApiBase')}/__fail`, { method: 'POST', body: JSON.stringify(failure) });
  if (!response.ok) throw new Error(`fake Slack API refused the failure script: ${response.status}`);
}

/** The normalized message stored under this id, unsealed with the core's key. */
export async function storedSlackMessage(messageId: string): Promise<Message> {
  const [row] = await storedRows(messageId);
  if (!row) throw new Error(`nothing stored for ${messageId}`);
  return MessageSchema.parse(JSON.parse(await unseal(row.sealed, coreKeys())));
}

let nextTs = 0;
/** A fresh, unique Slack `ts` (seconds.micros). */
export const freshTs = () => `${1_764_000_000 + Math.floor(Math.random() * 1e6)}.${String(++nextTs).padStart(6, '0')}`;
