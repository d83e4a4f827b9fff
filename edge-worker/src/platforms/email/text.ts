/** Past this the rest of a mail's text is cut: a message is for reading, not a document store. */
export const EMAIL_TEXT_MAX = 16_000;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** The text of an HTML-only mail, simply: blocks become lines, tags and scripts go, entities are decoded. */
export function textOfHtml(html: string): string {
  return html
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|li|tr|h[1-6]|blockquote)\s*>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,8});/gi, (entity, name: string) => {
      if (name[0] !== '#') return ENTITIES[name.toLowerCase()] ?? entity;
      const code = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
    })
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** The line a mail client puts above its quote of the earlier mail ("On Mon, 1 Dec 2026, Ada <…> wrote:"). */
const ATTRIBUTION = /^On .{1,300} wrote:\s*$/;
/** Outlook's separator above the earlier mail. */
const SEPARATOR = /^(?:-{2,}\s*Original Message\s*-{2,}|_{20,})\s*$/i;

/**
 * The new part of a reply: the earlier mails it quotes below it are cut (the core has them in
 * its history), from the quote's attribution line (wrapped over two lines or not) or separator,
 * else the block of `>` lines at its end. A mail that is nothing but a quote keeps it.
 */
export function withoutQuotedReply(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let end = lines.length;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (SEPARATOR.test(line) || ATTRIBUTION.test(line) || (line.startsWith('On ') && ATTRIBUTION.test(`${line} ${lines[i + 1] ?? ''}`))) {
      end = i;
      break;
    }
  }
  while (end > 0 && (lines[end - 1]?.trim() === '' || lines[end - 1]?.startsWith('>'))) end--;
  return lines.slice(0, end).join('\n').trim() || text.trim();
}
