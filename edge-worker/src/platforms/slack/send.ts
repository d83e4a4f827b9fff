import type { ReplyButtons, SlackConfig } from '@hearth/shared';
import { z } from 'zod';
import { describeError } from '../../log.js';
import type { OutboundPart, OutboundReply, Pacing, SendOutcome } from '../outbound.js';
import { messageParts } from '../split-text.js';
import { slackTargetOf } from './normalize.js';

/** Slack truncates past 40,000 characters and advises 4,000 a message. */
const SLACK_TEXT_MAX = 4_000;

/** Web API answers are HTTP 200 `{ ok, error }` for most failures; 429 (with Retry-After) for rate limits. */
const WebApiResponse = z.object({ ok: z.boolean(), error: z.string().optional() });

/** Errors worth another try: rate limits and Slack's own outages. Any other error will not go through by waiting. */
const RETRYABLE_ERRORS = new Set(['ratelimited', 'rate_limited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

/**
 * `&`, `<` and `>` are Slack's control characters: escaped, model output cannot ping
 * `<!channel>` or a user, nor forge a link.
 */
const escapeText = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A section block's text holds at most 3,000 characters: the part carrying buttons is cut to it. */
const SECTION_TEXT_MAX = 3_000;
/** A button's label holds at most 75 characters. */
const BUTTON_TEXT_MAX = 75;

export function slackParts(reply: OutboundReply): string[] {
  const parts = messageParts(reply.text, SLACK_TEXT_MAX);
  const last = parts.at(-1) ?? '';
  if (!reply.buttons || last.length <= SECTION_TEXT_MAX) return parts;
  return [...parts.slice(0, -1), ...messageParts(last, SECTION_TEXT_MAX)];
}

/**
 * The text and our buttons as Block Kit: a section, then an actions block whose buttons carry
 * their data as `value` (it comes back in the press, see interactivity.ts). Slack shows the
 * top-level `text` in notifications only.
 */
function blocks(text: string, buttons: ReplyButtons): unknown[] {
  return [
    { type: 'section', text: { type: 'mrkdwn', text } },
    {
      type: 'actions',
      elements: buttons.flat().map((button, i) => ({
        type: 'button',
        action_id: `hearth_${i}`,
        text: { type: 'plain_text', text: button.label.slice(0, BUTTON_TEXT_MAX), emoji: true },
        value: button.data,
      })),
    },
  ];
}

/**
 * Sends one part of a reply with `chat.postMessage`, into the conversation's thread when it is
 * one (see slackConversationId); the last part carries the reply's buttons as Block Kit.
 * Links and media do not unfurl by surprise.
 */
export async function sendSlackPart(config: SlackConfig, reply: OutboundReply, part: OutboundPart): Promise<SendOutcome> {
  const { channel, threadTs } = slackTargetOf(reply.conversationId);
  if (part.text.trim() === '') return { ok: false, retryable: false, status: 0, description: 'empty reply: Slack refuses a message without text' };
  const text = escapeText(part.text);
  const last = part.index === part.count - 1;
  const outcome = await callWebApi(config, 'chat.postMessage', {
    channel,
    text,
    ...(last && reply.buttons ? { blocks: blocks(text, reply.buttons) } : {}),
    ...(threadTs ? { thread_ts: threadTs } : {}),
    unfurl_links: false,
    unfurl_media: false,
  });
  return outcome.ok || part.count === 1 ? outcome : { ...outcome, description: `part ${part.index + 1} of ${part.count}: ${outcome.description}` };
}

async function callWebApi(config: SlackConfig, method: string, body: Record<string, unknown>): Promise<SendOutcome> {
  let response: Response;
  try {
    response = await fetch(`${config.apiBase}/${method}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${config.botToken}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(body),
    });
  } catch (error) {
    return { ok: false, retryable: true, status: 0, description: `network: ${describeError(error)}` };
  }
  const parsed = WebApiResponse.safeParse(await response.json().catch(() => null));
  if (response.ok && parsed.success && parsed.data.ok) return { ok: true };
  const error = parsed.success ? parsed.data.error : undefined;
  const retryAfter = Number(response.headers.get('retry-after'));
  return {
    ok: false,
    retryable: response.status === 429 || response.status >= 500 || (error !== undefined && RETRYABLE_ERRORS.has(error)),
    status: response.status,
    description: `${method}: ${error ?? (response.statusText || `HTTP ${response.status}`)}`,
    ...(retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
  };
}

/** chat.postMessage allows about one message a second per channel, with bursts; Slack's workspace cap is far above ours. */
export const slackPacing = (config: SlackConfig): Pacing => ({ intervalMs: config.channelIntervalMs, maxPerSecond: 20 });
