import type { Attachment, Message } from '@hearth/shared';
import type { Email, Header } from 'postal-mime';
import { authenticationOf } from './authentication.js';
import type { ReplyContext } from './context.js';
import { EMAIL_TEXT_MAX, textOfHtml, withoutQuotedReply } from './text.js';
import { emailConversationId, emailMessageId, messageIdsOf, threadRootOf } from './threading.js';

/**
 * What became of one mail: a message with what its reply needs, or `ignored` (accepted and
 * dropped: loops, bounces, auto-replies) or `refused` (rejected back to the sending server).
 */
export type NormalizedEmail =
  | { message: Message; context: ReplyContext }
  | { ignored: string }
  | { refused: string; sender?: string }
  | { deferred: string; sender: string };

/** An address we can key a sender by and write back to: no spaces, quotes or brackets (nor our separators). */
const ADDRESS = /^[^\s@"<>,;:\\]{1,64}@[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/;
/** References kept on a reply: the root and the newest (Cloudflare refuses a reply to a mail with 100 or more). */
const REFERENCES_KEPT = 20;

const header = (headers: readonly Header[], key: string) => headers.find((h) => h.key === key)?.value.trim();

/** Why a mail is one no person wrote to us and must not be answered (a loop, a bounce, an autoresponder), if it is one. */
function automatedReason(mail: Email, envelopeFrom: string, from: string, own: string): string | undefined {
  if (from === own) return 'from our own address';
  const env = envelopeFrom.trim().toLowerCase();
  if (env === '' || env === '<>') return 'a bounce (empty envelope sender)';
  if (/^(mailer-daemon|postmaster)@/.test(from)) return 'a bounce (from a mailer daemon)';
  if (/^multipart\/report\b/i.test(header(mail.headers, 'content-type') ?? '')) return 'a delivery or read report';
  const autoSubmitted = header(mail.headers, 'auto-submitted')?.toLowerCase();
  if (autoSubmitted && autoSubmitted !== 'no') return `Auto-Submitted: ${autoSubmitted.slice(0, 40)}`;
  const precedence = header(mail.headers, 'precedence')?.toLowerCase();
  if (precedence && /^(bulk|list|junk|auto_reply)$/.test(precedence)) return `Precedence: ${precedence}`;
  if (header(mail.headers, 'list-id') !== undefined) return 'mailing list mail (List-Id)';
  if (/\b(all|autoreply|oof)\b/i.test(header(mail.headers, 'x-auto-response-suppress') ?? '')) return 'its sender asked for no automatic replies';
  return undefined;
}

/** Attachments by reference, as other platforms give them: kind, type, size and name. The edge keeps no content. */
function attachmentsOf(mail: Email): Attachment[] {
  return mail.attachments
    .filter((a) => !a.related)
    .map((a) => {
      const type = a.mimeType.slice(0, 200);
      const kind: Attachment['kind'] = type.startsWith('image/') ? 'photo' : type.startsWith('audio/') ? 'audio' : type.startsWith('video/') ? 'video' : 'document';
      const size = typeof a.content === 'string' ? undefined : a.content.byteLength;
      return { kind, mime_type: type, ...(size !== undefined ? { size } : {}), ...(a.filename ? { name: a.filename.slice(0, 256) } : {}) };
    });
}

/**
 * One parsed mail to the assistant's address as a message from `email:<address>`: the text part
 * (an HTML-only mail's text taken from its HTML), the quote of earlier mails cut, a new thread's
 * subject on top; in the conversation of its thread (see threading.ts).
 */
export async function normalizeEmail(mail: Email, envelopeFrom: string, own: string, now: number): Promise<NormalizedEmail> {
  const fromMailbox = mail.from && !mail.from.group ? mail.from : undefined;
  const from = fromMailbox?.address?.trim().toLowerCase() ?? '';
  if (!ADDRESS.test(from)) return { ignored: 'no usable From address' };
  const automated = automatedReason(mail, envelopeFrom, from, own);
  if (automated) return { ignored: automated };
  const sender = `email:${from}`;
  const authentication = authenticationOf(mail.headers, from);
  if (!authentication.ok && authentication.temporary) return { deferred: `sender not authenticated yet: ${authentication.reason}`, sender };
  if (!authentication.ok) return { refused: `sender not authenticated: ${authentication.reason}`, sender };

  const messageId = messageIdsOf(mail.messageId)[0];
  if (!messageId) return { refused: 'no Message-ID', sender };
  const root = threadRootOf({ messageId, inReplyTo: mail.inReplyTo, references: mail.references });
  const subject = (mail.subject ?? '').replace(/[\r\n]+/g, ' ').trim().slice(0, 1_000);
  const body = withoutQuotedReply(mail.text ?? (mail.html ? textOfHtml(mail.html) : ''));
  const startsThread = root === messageId;
  const full = startsThread && subject ? (body ? `${subject}\n\n${body}` : subject) : body;
  const text = full.length > EMAIL_TEXT_MAX ? `${full.slice(0, EMAIL_TEXT_MAX)}\n[…]` : full;
  const attachments = attachmentsOf(mail);
  if (text === '' && attachments.length === 0) return { ignored: 'no content' };

  const references = messageIdsOf(mail.references);
  const kept = references.length > REFERENCES_KEPT ? [...references.slice(0, 1), ...references.slice(1 - REFERENCES_KEPT)] : references;
  const name = fromMailbox?.name?.replace(/[\r\n]+/g, ' ').trim().slice(0, 256);
  const message: Message = {
    message_id: await emailMessageId(sender, messageId),
    platform: 'email',
    conversation: { id: await emailConversationId(sender, root), type: 'private' },
    sender: { id: sender, ...(name ? { name } : {}) },
    content: { text, attachments, entities: [] },
    reply_to: null,
    // Arrival, not the Date header: the sender writes that one, and history is ordered by it.
    timestamp: Math.floor(now / 1000),
    timestamp_ms: now,
  };
  // To the authenticated From, never Reply-To: that one nobody vouched for, and a reply (a pairing
  // notice) to it would be mail to whoever the sender named.
  return { message, context: { to: from, subject, messageId, references: kept } };
}
