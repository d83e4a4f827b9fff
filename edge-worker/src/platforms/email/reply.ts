import type { ReplyContext } from './context.js';

const CRLF = '\r\n';
const encoder = new TextEncoder();

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** A header value as RFC 2047 encoded-words when it is not plain ASCII, folded so no line passes 78 characters. */
function headerText(value: string): string {
  const clean = value.replace(/[\r\n]+/g, ' ');
  if (/^[\x20-\x7e]*$/.test(clean)) return clean;
  const words: string[] = [];
  let chunk = '';
  for (const char of clean) {
    // 45 bytes of UTF-8 make 60 of base64: a word stays under 75 characters (RFC 2047).
    if (encoder.encode(chunk + char).byteLength > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  if (chunk) words.push(chunk);
  return words.map((word) => `=?UTF-8?B?${base64(encoder.encode(word))}?=`).join(`${CRLF} `);
}

/** `Re: <subject>`, once: a reply to a reply keeps one `Re:`. */
const replySubject = (subject: string) => (/^re:/i.test(subject.trim()) ? subject.trim() : `Re: ${subject.trim() || '(no subject)'}`.trim());

/**
 * The reply as raw MIME (RFC 5322): from the assistant's address, in the thread of the mail it
 * answers (In-Reply-To its Message-ID, References its own plus it), marked `Auto-Submitted:
 * auto-replied` (RFC 3834) so that other autoresponders do not answer it, plain text in UTF-8.
 */
export function replyMime(
  context: ReplyContext,
  { from, messageId, text, date = new Date() }: { from: string; messageId: string; text: string; date?: Date },
): string {
  const body = base64(encoder.encode(text.replace(/\r?\n/g, CRLF))).replace(/.{76}(?=.)/g, `$&${CRLF}`);
  return [
    `From: ${from}`,
    `To: ${context.to}`,
    `Subject: ${headerText(replySubject(context.subject))}`,
    `Date: ${date.toUTCString()}`,
    `Message-ID: ${messageId}`,
    `In-Reply-To: ${context.messageId}`,
    `References: ${[...context.references, context.messageId].join(`${CRLF} `)}`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    body,
    '',
  ].join(CRLF);
}
