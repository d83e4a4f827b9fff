import { EmailMessage } from 'cloudflare:email';
import type { EmailSetup } from '../../config.js';
import { describeError } from '../../log.js';
import type { OutboundPart, OutboundReply, SendOutcome } from '../outbound.js';
import { openReplyContext } from './context.js';
import { replyMime } from './reply.js';
import { hashHex } from './threading.js';

/**
 * What the binding says when the mail can never go as it is: an address Email Routing has not
 * verified or the binding does not allow, a message it will not take. Anything else (its own
 * outage, a limit) is worth another try.
 */
const PERMANENT = /not allowed|not verified|unverified|invalid|not permitted|forbidden|too large/i;

/**
 * Sends a reply through the `send_email` binding. Not `message.reply()`: that works only inside
 * the `email()` handler, and the reply comes later, from the core, through the outbox. Its
 * Message-ID is derived from the reply, so a retry after a send that did go out is the same mail.
 */
export async function sendEmailPart(email: EmailSetup, reply: OutboundReply, part: OutboundPart): Promise<SendOutcome> {
  const context = reply.context ? await openReplyContext(reply.context, email.contextKey, reply.conversationId) : undefined;
  if (!context) return { ok: false, retryable: false, status: 0, description: 'no reply context for this conversation (its mail is too old, or HEARTH_LOG_KEY changed)' };
  if (part.text.trim() === '') return { ok: false, retryable: false, status: 0, description: 'empty reply' };
  const domain = email.address.slice(email.address.indexOf('@') + 1);
  const messageId = `<hearth.${await hashHex(`${reply.conversationId}\n${reply.inReplyTo}\n${part.index}\n${part.text}`)}@${domain}>`;
  const raw = replyMime(context, { from: email.address, messageId, text: part.text });
  try {
    await email.binding.send(new EmailMessage(email.address, context.to, raw));
    return { ok: true };
  } catch (error) {
    // The binding names the address it refused: kept (last_error) and logged, so it goes.
    const description = `send_email: ${describeError(error)}`.replace(/[^\s<>"'(),;:]+@[^\s<>"'(),;:]+/g, '<address>');
    return { ok: false, retryable: !PERMANENT.test(description), status: 0, description };
  }
}
