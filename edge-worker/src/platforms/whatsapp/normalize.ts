import type { Attachment, Entity, Message, WhatsAppConfig } from '@hearth/shared';
import type { InboundBatch, PlatformEvent } from '../adapter.js';
import type { WhatsAppMessage, WhatsAppStatus, WhatsAppValue, WhatsAppWebhook, WhatsAppWebhookError } from './schema.js';

/** `whatsapp:<wamid>`: Meta's message id is global and stable, so a retried webhook maps to the same id. */
const whatsappMessageId = (wamid: string) => `whatsapp:${wamid}`;
/** `whatsapp:<wa_id>`: a conversation is the one-to-one chat with a WhatsApp user. */
const whatsappConversationId = (waId: string) => `whatsapp:${waId}`;

type Content = Message['content'];
type Normalized = { kind: 'message'; content: Content } | { kind: 'ignored'; reason: string };

const message = (text: string, attachments: Attachment[] = [], entities: Entity[] = []): Normalized => ({
  kind: 'message',
  content: { text, attachments, entities },
});
const ignored = (reason: string): Normalized => ({ kind: 'ignored', reason });
/** A fact about the message rather than a span of its text (see Entity in @hearth/shared). */
const fact = (type: string, value: string): Entity => ({ type, offset: 0, length: 0, value });

/**
 * Maps one webhook POST to messages, ignored items and receipts, in the order Meta sent them.
 * A POST may batch several messages (and entries); each becomes its own Message. What is
 * addressed to another business number than this edge's, and message types not handled, are
 * ignored by name (answered 200 all the same, so Meta does not retry them).
 */
export function normalizeWhatsAppWebhook(webhook: WhatsAppWebhook, config: WhatsAppConfig): InboundBatch {
  const batch: InboundBatch = { messages: [], ignored: [], events: [] };
  for (const entry of webhook.entry) {
    for (const change of entry.changes) {
      if (change.kind === 'other') batch.ignored.push(`entry ${entry.id}: field "${change.field}" not handled`);
      else normalizeValue(change.value, config, batch);
    }
  }
  return batch;
}

function normalizeValue(value: WhatsAppValue, config: WhatsAppConfig, batch: InboundBatch): void {
  const phoneNumberId = value.metadata.phone_number_id;
  if (phoneNumberId !== config.phoneNumberId) {
    // Another number of the same business account: not this assistant's to answer or track.
    const why = `addressed to phone_number_id ${phoneNumberId}, not this edge's`;
    for (const m of value.messages ?? []) batch.ignored.push(`message ${m.id}: ${why}`);
    for (const s of value.statuses ?? []) batch.ignored.push(`status of ${s.id}: ${why}`);
    return;
  }
  for (const m of value.messages ?? []) {
    const normalized = normalizeContent(m);
    if (normalized.kind === 'ignored') batch.ignored.push(`message ${m.id}: ${normalized.reason}`);
    else batch.messages.push(toMessage(m, normalized.content, senderName(value, m.from)));
  }
  for (const s of value.statuses ?? []) batch.events.push(statusEvent(s));
  for (const error of value.errors ?? []) {
    batch.events.push({ type: 'error', subject: `whatsapp:${phoneNumberId}`, detail: describeErrors([error]) });
  }
}

function toMessage(m: WhatsAppMessage, content: Content, name: string | undefined): Message {
  return {
    message_id: whatsappMessageId(m.id),
    platform: 'whatsapp',
    conversation: { id: whatsappConversationId(m.from), type: 'private' },
    sender: { id: whatsappConversationId(m.from), ...(name ? { name } : {}) },
    content,
    reply_to: m.context?.id ? whatsappMessageId(m.context.id) : null,
    timestamp: Number(m.timestamp),
  };
}

/** The sender's profile name from the `contacts` Meta sends alongside (by wa_id, else the only one). */
function senderName(value: WhatsAppValue, from: string): string | undefined {
  const contacts = value.contacts ?? [];
  const contact = contacts.find((c) => c.wa_id === from) ?? (contacts.length === 1 ? contacts[0] : undefined);
  return contact?.profile?.name?.slice(0, 256) || undefined;
}

/** The normalized content of one message, by type; a type's own object missing is ignored, not a 400. */
function normalizeContent(m: WhatsAppMessage): Normalized {
  const missing = ignored(`type "${m.type}" without its "${m.type}" object`);
  switch (m.type) {
    case 'text':
      return m.text ? message(m.text.body) : missing;
    case 'image':
      return m.image ? media('photo', m.image) : missing;
    case 'audio':
      return m.audio ? media(m.audio.voice ? 'voice' : 'audio', m.audio) : missing;
    case 'video':
      return m.video ? media('video', m.video) : missing;
    case 'document':
      return m.document ? media('document', m.document) : missing;
    case 'sticker':
      return m.sticker ? media('sticker', m.sticker) : missing;
    case 'location': {
      const place = m.location;
      if (!place) return missing;
      return message('', [
        {
          kind: 'location',
          location: { latitude: place.latitude, longitude: place.longitude },
          ...(place.name ? { name: place.name } : {}),
        },
      ]);
    }
    case 'contacts':
      return m.contacts?.length ? message('', m.contacts.map(contactCard)) : missing;
    case 'interactive': {
      const reply = m.interactive?.button_reply ?? m.interactive?.list_reply;
      if (!reply) return ignored(`interactive type "${m.interactive?.type ?? 'none'}" not handled`);
      return message(reply.title, [], [fact('button', reply.id)]);
    }
    case 'button':
      return m.button ? message(m.button.text, [], [fact('button', m.button.payload ?? m.button.text)]) : missing;
    case 'reaction':
      if (!m.reaction) return missing;
      if (!m.reaction.emoji) return ignored('reaction removed');
      // Meta's own id of the reacted-to message (usually one the business sent, so never queued here).
      return message(m.reaction.emoji, [], [fact('reaction', m.reaction.message_id)]);
    default:
      return ignored(`type "${m.type}" not handled${m.errors?.length ? ` (${describeErrors(m.errors)})` : ''}`);
  }
}

function media(kind: Attachment['kind'], file: NonNullable<WhatsAppMessage['image']>): Normalized {
  const attachment: Attachment = {
    kind,
    file_id: file.id,
    ...(file.mime_type ? { mime_type: file.mime_type } : {}),
    ...(kind === 'document' && file.filename ? { name: file.filename } : {}),
  };
  return message(file.caption ?? '', [attachment]);
}

function contactCard(card: NonNullable<WhatsAppMessage['contacts']>[number]): Attachment {
  const name = card.name?.formatted_name ?? card.name?.first_name;
  const phone = card.phones?.find((p) => p.phone)?.phone;
  return { kind: 'contact', contact: { ...(name ? { name } : {}), ...(phone ? { phone_number: phone } : {}) } };
}

function statusEvent(s: WhatsAppStatus): PlatformEvent {
  const failure = s.status === 'failed' && s.errors?.length ? `: ${describeErrors(s.errors)}` : '';
  return { type: 'status', subject: whatsappMessageId(s.id), detail: `${s.status}${failure}` };
}

/** Meta's error titles (codes in brackets): ids and reasons only, never content. */
function describeErrors(errors: WhatsAppWebhookError[]): string {
  return errors.map((e) => `${e.title ?? e.message ?? 'error'}${e.code !== undefined ? ` (${e.code})` : ''}`).join('; ');
}
