import type { DiscordConfig, ReplyButtons } from '@hearth/shared';
import { z } from 'zod';
import { describeError } from '../../log.js';
import type { OutboundPart, OutboundReply, Pacing, SendOutcome } from '../outbound.js';
import { messageParts } from '../split-text.js';
import { type InteractionAccess, interactionTimeOf, openInteraction } from './credential.js';
import { discordChannelOf } from './normalize.js';
import { bucketWait, noteBucket } from './rate-limits.js';

/** Discord's longest message content. */
const DISCORD_TEXT_MAX = 2_000;

export const discordParts = (reply: OutboundReply): string[] => messageParts(reply.text, DISCORD_TEXT_MAX);

/** Error bodies: a JSON error code and message; 429s add `retry_after` (seconds, fractional). */
const ErrorBody = z.object({ code: z.number().optional(), message: z.string().optional(), retry_after: z.number().optional() });

/** The interaction is gone for its webhook (expired token, unknown webhook or interaction): the channel still takes a message. */
const GONE_INTERACTION = new Set([10015, 10062, 50027]);

/**
 * Discord waits 3 s for our answer to an interaction; until it has it, there is no original
 * response to edit. A reply that fast (a pairing notice is sent while the webhook still answers)
 * waits and edits it then, rather than taking the interaction for gone.
 */
const ANSWER_WINDOW_MS = 5_000;
const EARLY_RETRY_MS = 1_000;

/** Buttons in an action row, and action rows in a message, at most. */
const ROW_MAX = 5;
const BUTTON_LABEL_MAX = 80;

/**
 * Our buttons as message components: action rows of secondary buttons whose `custom_id` is the
 * button's data (it comes back in the press, see normalize.ts). Rows Discord cannot hold (more
 * than 5, or of more than 5) are laid out again 5 by 5.
 */
function componentsOf(buttons: ReplyButtons): unknown[] {
  const fits = buttons.length <= ROW_MAX && buttons.every((row) => row.length <= ROW_MAX);
  const flat = buttons.flat();
  const rows = fits ? buttons : Array.from({ length: Math.ceil(flat.length / ROW_MAX) }, (_, i) => flat.slice(i * ROW_MAX, (i + 1) * ROW_MAX));
  return rows.map((row) => ({
    type: 1,
    components: row.map((button) => ({ type: 2, style: 2, label: button.label.slice(0, BUTTON_LABEL_MAX), custom_id: button.data })),
  }));
}

interface Route {
  /** Named in outcomes and logs instead of the path, which holds the interaction token. */
  label: string;
  method: 'PATCH' | 'POST';
  path: string;
  /** Sent with the bot token (channel routes); webhook routes are authorised by their token. */
  bot: boolean;
  /** Its rate-limit bucket (Discord's are per channel, and per interaction webhook), named without the token. */
  bucket: string;
}

/**
 * The route of one part. A command's deferred answer ("thinking…") is edited by the first part
 * of its first reply; later parts and replies are follow-ups on the interaction's webhook; once
 * the token's 15 minutes are gone (or without one), a message in the channel with the bot token.
 */
function routeOf(config: DiscordConfig, reply: OutboundReply, access: InteractionAccess | undefined): Route {
  const channel = discordChannelOf(reply.conversationId);
  if (!access) return { label: 'channel message', method: 'POST', path: `/channels/${channel}/messages`, bot: true, bucket: `channel:${channel}` };
  const webhook = `/webhooks/${config.applicationId}/${access.token}`;
  const bucket = `interaction:${reply.inReplyTo}`;
  if (access.original && !reply.credential?.used) return { label: 'edit of the original response', method: 'PATCH', path: `${webhook}/messages/@original`, bot: false, bucket };
  return { label: 'follow-up', method: 'POST', path: webhook, bot: false, bucket };
}

async function accessOf(config: DiscordConfig, reply: OutboundReply): Promise<InteractionAccess | undefined> {
  const credential = reply.credential;
  if (!credential || !reply.inReplyTo || credential.expiresAt <= Date.now()) return undefined;
  return openInteraction(config.botToken, reply.inReplyTo, credential.sealed);
}

/**
 * Sends one part of a reply (see routeOf); the last part carries the reply's buttons. Nobody is
 * pinged by what the model wrote (`allowed_mentions` parses none).
 */
export async function sendDiscordPart(config: DiscordConfig, reply: OutboundReply, part: OutboundPart): Promise<SendOutcome> {
  if (part.text.trim() === '') return { ok: false, retryable: false, status: 0, description: 'empty reply: Discord refuses a message without content' };
  const last = part.index === part.count - 1;
  const body = {
    content: part.text,
    allowed_mentions: { parse: [] },
    ...(last && reply.buttons ? { components: componentsOf(reply.buttons) } : {}),
  };
  const access = await accessOf(config, reply);
  const route = routeOf(config, reply, access);
  let outcome = await call(config, route, body);
  if (access && !outcome.ok && outcome.gone) {
    const early = route.method === 'PATCH' && reply.credential && Date.now() - interactionTimeOf(reply.credential) < ANSWER_WINDOW_MS;
    // Before our answer reached Discord the original response is not there yet, but in a moment;
    // later, it is gone before its time (Discord's clock, a deleted response): the channel still takes it.
    outcome = early ? { ...outcome, retryable: true, retryAfterMs: EARLY_RETRY_MS } : await call(config, routeOf(config, reply, undefined), body);
  }
  const { gone: _gone, ...result } = outcome;
  return result.ok || part.count === 1 ? result : { ...result, description: `part ${part.index + 1} of ${part.count}: ${result.description}` };
}

async function call(config: DiscordConfig, route: Route, body: unknown): Promise<SendOutcome & { gone?: boolean }> {
  const wait = bucketWait(route.bucket);
  if (wait > 0) return { ok: false, retryable: true, status: 429, description: `${route.label}: held until its rate limit resets`, retryAfterMs: wait };
  let response: Response;
  try {
    response = await fetch(`${config.apiBase}${route.path}`, {
      method: route.method,
      headers: { 'content-type': 'application/json', ...(route.bot ? { authorization: `Bot ${config.botToken}` } : {}) },
      body: JSON.stringify(body),
    });
  } catch (error) {
    return { ok: false, retryable: true, status: 0, description: `${route.label}: network: ${describeError(error)}` };
  }
  noteBucket(route.bucket, response.headers);
  if (response.ok) {
    await response.body?.cancel();
    return { ok: true };
  }
  const error = ErrorBody.safeParse(await response.json().catch(() => null));
  const { code, message, retry_after: retryAfterBody } = error.success ? error.data : {};
  const retryAfterMs = response.status === 429 ? retryAfterOf(response.headers, retryAfterBody) : 0;
  return {
    ok: false,
    // Rate limits and Discord's own outages pass; any other 4xx (unknown channel, missing access, a bad body) will not go through by waiting.
    retryable: response.status === 429 || response.status >= 500,
    status: response.status,
    // Code 0 is Discord's "no particular code" (a plain 401, 404).
    description: `${route.label}: ${code ? `${code} ` : ''}${message ?? (response.statusText || `HTTP ${response.status}`)}`.slice(0, 300),
    ...(retryAfterMs > 0 ? { retryAfterMs } : {}),
    ...(code !== undefined && GONE_INTERACTION.has(code) ? { gone: true } : {}),
  };
}

/** The longest wait a 429 asks for: its body's `retry_after`, `Retry-After`, `X-RateLimit-Reset-After` (seconds). */
function retryAfterOf(headers: Headers, bodySeconds: number | undefined): number {
  const seconds = [bodySeconds, Number(headers.get('retry-after')), Number(headers.get('x-ratelimit-reset-after'))].filter(
    (s): s is number => typeof s === 'number' && Number.isFinite(s) && s > 0,
  );
  return seconds.length > 0 ? Math.ceil(Math.max(...seconds) * 1000) : 0;
}

/** "… is typing" in the channel, with the bot token: best effort (a DM the bot cannot post in refuses it). */
export async function sendDiscordTyping(config: DiscordConfig, conversationId: string): Promise<void> {
  const response = await fetch(`${config.apiBase}/channels/${discordChannelOf(conversationId)}/typing`, {
    method: 'POST',
    headers: { authorization: `Bot ${config.botToken}` },
  });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`typing answered ${response.status}`);
}

/** Discord allows about 5 messages per 5 s into a channel and 50 requests a second per bot. */
export const discordPacing: Pacing = { intervalMs: 1_000, maxPerSecond: 50 };
