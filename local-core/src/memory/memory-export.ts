import { HearthError, SenderKeySchema, redact, replacementFor, type RedactionConfig } from '@hearth/shared';
import { z } from 'zod';
import { parseMemoryFile, renderMemoryFile } from './memory-file.js';
import type { MemoryItem } from './memory-items.js';

export type ExportFormat = 'md' | 'json';

const WHATSAPP_ID = /\bwhatsapp:\+?\d{6,}/g;
// Every sender an export redacted would otherwise become one and the same scope.
const isRedacted = (key: string) => key.includes('[REDACTED:');

/** The JSON export's items: also what `hearth memory import` reads (fields beyond scope and text are ignored). */
const ImportSchema = z.object({
  items: z.array(z.object({ scope: SenderKeySchema.refine((key) => !isRedacted(key), 'a redacted sender key: import it with --scope'), text: z.string().min(1) })),
});

/**
 * The items as they may leave the machine: every text field redacted by the core's rules
 * (HEARTH_REDACT_KINDS), scopes and source turns included (a WhatsApp sender key is a phone
 * number, so it is redacted with the phones).
 */
export function exportItems(items: readonly MemoryItem[], format: ExportFormat, redaction: Pick<RedactionConfig, 'kinds'>): string {
  // A WhatsApp id is the number without "+", which the phone detector alone would not take for one.
  const phones = redaction.kinds.includes('phone');
  const clean = (text: string) => redact(phones ? text.replace(WHATSAPP_ID, `whatsapp:${replacementFor('phone')}`) : text, { kinds: redaction.kinds }).text;
  const redacted = items.map((item) => ({ ...item, scope: clean(item.scope), text: clean(item.text), messageId: item.messageId === null ? null : clean(item.messageId) }));
  if (format === 'md') return renderMemoryFile(redacted);
  const rows = redacted.map((item) => ({
    id: item.id,
    scope: item.scope,
    text: item.text,
    source: item.source,
    message_id: item.messageId,
    created_at: new Date(item.createdAt).toISOString(),
  }));
  return `${JSON.stringify({ version: 1, items: rows }, null, 2)}\n`;
}

/**
 * Facts to import from a JSON export or a MEMORY.md-style file. With `scope`, every fact goes
 * there (a file without headings, or one exported with redacted sender keys).
 *
 * @throws HearthError (bad_import) saying what is wrong with the file
 */
export function parseImport(text: string, format: ExportFormat, scope?: string): { scope: string; text: string }[] {
  if (format === 'json') {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new HearthError('bad_import', 'the file is not JSON (use --format md for a Markdown file)');
    }
    const parsed = ImportSchema.safeParse(scope === undefined ? data : withScope(data, scope));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new HearthError('bad_import', `not a memory export: ${issue?.path.join('.') || 'the file'}: ${issue?.message ?? 'invalid'}`);
    }
    return parsed.data.items.map((item) => ({ scope: item.scope, text: item.text }));
  }
  const source = scope === undefined ? text : `## ${scope}\n${text.replace(/^##\s.*$/gm, '')}`;
  const facts = [...parseMemoryFile(source).scopes].flatMap(([owner, texts]) => texts.map((fact) => ({ scope: owner, text: fact })));
  if (facts.some((fact) => isRedacted(fact.scope))) throw new HearthError('bad_import', 'the file has redacted sender keys: import it with --scope');
  if (facts.length === 0) throw new HearthError('bad_import', 'no facts found: "- " lines under a "## platform:id" heading (or give --scope)');
  return facts;
}

/** The export's items, each moved to `scope`: imported again after a redacted export. */
function withScope(data: unknown, scope: string): unknown {
  if (typeof data !== 'object' || data === null || !('items' in data) || !Array.isArray(data.items)) return data;
  return { items: data.items.map((item: unknown) => (typeof item === 'object' && item !== null ? { ...item, scope } : item)) };
}
