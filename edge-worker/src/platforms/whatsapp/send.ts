import type { ReplyButtons, WhatsAppConfig } from '@hearth/shared';
import { z } from 'zod';
import { describeError, log } from '../../log.js';
import type { OutboundPart, OutboundReply, SendOutcome } from '../outbound.js';
import { messageParts } from '../split-text.js';

/** The longest text body the Cloud API accepts in one message. */
const WHATSAPP_TEXT_MAX = 4096;

/** A Graph API error body: `{ error: { message, type, code, error_subcode, fbtrace_id } }`. */
const GraphErrorBody = z.object({
  error: z.object({
    message: z.string().optional(),
    code: z.number().int().optional(),
    error_subcode: z.number().int().optional(),
    error_data: z.object({ details: z.string().optional() }).optional(),
  }),
});

/**
 * Graph error codes worth another try whatever the HTTP status: rate limits (4 app, 80007
 * account, 130429 throughput, 131056 too many messages to one user) and temporary outages
 * (2 service, 131000 unknown, 131016 service unavailable, 133004 server unavailable).
 */
const RETRYABLE_CODES = new Set([4, 80007, 130429, 131056, 2, 131000, 131016, 133004]);

type GraphResult = { ok: true } | Extract<SendOutcome, { ok: false }>;

/** POSTs one body to the phone number's `/messages` endpoint and maps the answer. */
async function postMessages(config: WhatsAppConfig, body: Record<string, unknown>): Promise<GraphResult> {
  let response: Response;
  try {
    response = await fetch(`${config.apiBase}/${config.phoneNumberId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${config.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (error) {
    return { ok: false, retryable: true, status: 0, description: `network: ${describeError(error)}` };
  }
  const json: unknown = await response.json().catch(() => null);
  if (response.ok) return { ok: true };
  const parsed = GraphErrorBody.safeParse(json);
  const error = parsed.success ? parsed.data.error : undefined;
  const retryAfter = Number(response.headers.get('retry-after'));
  return {
    ok: false,
    retryable: response.status === 429 || response.status >= 500 || (error?.code !== undefined && RETRYABLE_CODES.has(error.code)),
    status: response.status,
    description: error
      ? `${error.message ?? 'Graph API error'}${error.code !== undefined ? ` (code ${error.code}${error.error_subcode ? `/${error.error_subcode}` : ''})` : ''}`
      : response.statusText || `HTTP ${response.status}`,
    ...(retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
  };
}

/**
 * Marks the message we answer as read (blue ticks) before the answer arrives. Best effort: a
 * failure is logged, never the reply's failure.
 */
async function markRead(config: WhatsAppConfig, wamid: string): Promise<void> {
  const result = await postMessages(config, { messaging_product: 'whatsapp', status: 'read', message_id: wamid });
  if (!result.ok) log('warn', 'whatsapp_mark_read_failed', { message_id: wamid, status: result.status, error: result.description });
}

/**
 * WhatsApp's typing indicator: a read receipt of the message being answered that also shows
 * "typing…" (until the reply arrives, or about 25 s).
 */
export async function sendWhatsAppTyping(config: WhatsAppConfig, messageId: string): Promise<void> {
  const wamid = messageId.startsWith('whatsapp:') ? messageId.slice('whatsapp:'.length) : messageId;
  const result = await postMessages(config, { messaging_product: 'whatsapp', status: 'read', message_id: wamid, typing_indicator: { type: 'text' } });
  if (!result.ok) throw new Error(`typing indicator: ${result.description}`);
}

/** Meta's ids inside ours (`whatsapp:<wa_id>` / `whatsapp:<wamid>`). */
function whatsappIds(reply: OutboundReply): { to: string; wamid: string | undefined } {
  const prefix = 'whatsapp:';
  const wamid = reply.inReplyTo?.startsWith(prefix) ? reply.inReplyTo.slice(prefix.length) : undefined;
  return { to: reply.conversationId.slice(prefix.length), wamid: wamid || undefined };
}

/** WhatsApp caps the text of an interactive message (the one carrying buttons) at 1,024 characters. */
const INTERACTIVE_BODY_MAX = 1024;
/** Reply buttons: at most 3, titles at most 20 characters; more go as a list of up to 10 rows of 24. */
const REPLY_BUTTONS_MAX = 3;
const BUTTON_TITLE_MAX = 20;
const LIST_ROW_TITLE_MAX = 24;
const LIST_ROWS_MAX = 10;

/**
 * Past 4,096 characters the text goes as several messages, cut on paragraph, line, sentence or
 * word boundaries; with buttons, the last part is cut again to the 1,024 an interactive
 * message may hold.
 */
export function whatsappParts(reply: OutboundReply): string[] {
  const parts = messageParts(reply.text, WHATSAPP_TEXT_MAX);
  const last = parts.at(-1) ?? '';
  if (!reply.buttons || last.length <= INTERACTIVE_BODY_MAX) return parts;
  return [...parts.slice(0, -1), ...messageParts(last, INTERACTIVE_BODY_MAX)];
}

/** Buttons as WhatsApp's interactive object: reply buttons when they fit, else a list. */
function interactive(text: string, buttons: ReplyButtons): Record<string, unknown> {
  const flat = buttons.flat();
  if (flat.length <= REPLY_BUTTONS_MAX && flat.every((b) => b.label.length <= BUTTON_TITLE_MAX)) {
    return {
      type: 'button',
      body: { text },
      action: { buttons: flat.map((b) => ({ type: 'reply', reply: { id: b.data, title: b.label } })) },
    };
  }
  return {
    type: 'list',
    body: { text },
    action: {
      button: 'Choose',
      sections: [{ rows: flat.slice(0, LIST_ROWS_MAX).map((b) => ({ id: b.data, title: b.label.slice(0, LIST_ROW_TITLE_MAX) })) }],
    },
  };
}

/**
 * Sends one part of a reply to the user's chat: before the first, a read receipt for the
 * message it answers; the first quotes that message; the last carries the reply's buttons as
 * an interactive message. Plain text (`preview_url: false`): model output does not unfurl
 * links by surprise.
 */
export async function sendWhatsAppPart(config: WhatsAppConfig, reply: OutboundReply, part: OutboundPart): Promise<SendOutcome> {
  const { to, wamid } = whatsappIds(reply);
  if (part.text.trim() === '') {
    return { ok: false, retryable: false, status: 0, description: 'empty reply: WhatsApp refuses a text message without text' };
  }
  if (part.index === 0 && wamid) await markRead(config, wamid);
  const last = part.index === part.count - 1;
  const content =
    last && reply.buttons
      ? { type: 'interactive', interactive: interactive(part.text, reply.buttons) }
      : { type: 'text', text: { body: part.text, preview_url: false } };
  const result = await postMessages(config, {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to,
    ...content,
    ...(part.index === 0 && wamid ? { context: { message_id: wamid } } : {}),
  });
  return result.ok || part.count === 1 ? result : { ...result, description: `part ${part.index + 1} of ${part.count}: ${result.description}` };
}
