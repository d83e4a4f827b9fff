/** `<a@b> <c@d>` → `['<a@b>', '<c@d>']`: the Message-IDs of a References or In-Reply-To header. */
export function messageIdsOf(header: string | undefined): string[] {
  return header?.match(/<[^<>\s]{1,998}>/g) ?? [];
}

/** The first 128 bits of SHA-256, in hex: ids that say nothing of what they were made from. */
export async function hashHex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * `email:<hash>` of the sender and the mail's Message-ID: the same mail delivered again (Email
 * Routing retries) is the same message, and the id says nothing of who wrote it.
 */
export const emailMessageId = async (sender: string, messageId: string) => `email:${await hashHex(`message\n${sender}\n${messageId}`)}`;

/**
 * A thread is a conversation: its root (the first of References, else In-Reply-To, else the
 * mail itself) and the sender, hashed. With the sender in it, someone else writing into a thread
 * of the owner's starts a conversation of their own and never sees the owner's.
 */
export const emailConversationId = async (sender: string, root: string) => `email:${await hashHex(`thread\n${sender}\n${root}`)}`;

/** The root of the thread a mail belongs to. */
export function threadRootOf(mail: { messageId: string; inReplyTo?: string | undefined; references?: string | undefined }): string {
  return messageIdsOf(mail.references)[0] ?? messageIdsOf(mail.inReplyTo)[0] ?? mail.messageId;
}
