import type { Attachment } from '@hearth/shared';
import type { TelegramMessage } from './schema.js';

/**
 * The media of a message as references (`file_id`, mime, size, name): the edge never fetches
 * them; a core that wants a file asks Telegram for it with the id.
 */
export function attachmentsOf(tg: TelegramMessage): Attachment[] {
  const out: Attachment[] = [];
  const file = (kind: Attachment['kind'], f: { file_id: string; file_size?: number | undefined; mime_type?: string | undefined; file_name?: string | undefined }) =>
    out.push({
      kind,
      file_id: f.file_id,
      ...(f.mime_type ? { mime_type: f.mime_type } : {}),
      ...(f.file_size !== undefined ? { size: f.file_size } : {}),
      ...(f.file_name ? { name: f.file_name } : {}),
    });
  // Telegram sends each photo in several sizes, smallest first: keep the largest.
  const photo = tg.photo?.at(-1);
  if (photo) file('photo', photo);
  if (tg.document) file('document', tg.document);
  if (tg.voice) file('voice', tg.voice);
  if (tg.audio) file('audio', { ...tg.audio, file_name: tg.audio.file_name ?? tg.audio.title });
  if (tg.video) file('video', tg.video);
  if (tg.sticker) file('sticker', { ...tg.sticker, file_name: tg.sticker.emoji });
  if (tg.location) out.push({ kind: 'location', location: { latitude: tg.location.latitude, longitude: tg.location.longitude } });
  if (tg.contact) {
    const name = [tg.contact.first_name, tg.contact.last_name].filter(Boolean).join(' ');
    out.push({ kind: 'contact', contact: { name, phone_number: tg.contact.phone_number } });
  }
  return out;
}
