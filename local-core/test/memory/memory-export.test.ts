import { describe, expect, it } from 'vitest';
import { exportItems, parseImport } from '../../src/memory/memory-export.js';
import type { MemoryItem } from '../../src/memory/memory-items.js';

const item: MemoryItem = { id: 3, scope: 'whatsapp:4915112345678', text: 'Card 4111 1111 1111 1111, mail ada@example.com', source: 'tool', messageId: 'whatsapp:4915112345678:9', createdAt: Date.UTC(2026, 0, 2) };

describe('memory export', () => {
  it('redacts texts, sender keys and source turns by the configured kinds (phones, cards, emails...)', () => {
    const json = exportItems([item], 'json', { kinds: ['phone', 'card', 'email'] });
    expect(json).not.toMatch(/4915112345678|4111|ada@example/);
    expect(JSON.parse(json)).toEqual({
      version: 1,
      items: [{ id: 3, scope: 'whatsapp:[REDACTED:phone]', text: 'Card [REDACTED:card], mail [REDACTED:email]', source: 'tool', message_id: 'whatsapp:[REDACTED:phone]:9', created_at: '2026-01-02T00:00:00.000Z' }],
    });
    expect(exportItems([item], 'md', { kinds: ['email'] })).toContain('## whatsapp:4915112345678\n- Card 4111 1111 1111 1111, mail [REDACTED:email]\n');
  });

  it('imports a JSON export (under --scope when its keys were redacted) and MEMORY.md-style files', () => {
    const json = exportItems([item], 'json', { kinds: ['phone'] });
    expect(() => parseImport(json, 'json')).toThrow(/items\.0\.scope: a redacted sender key/);
    expect(() => parseImport(exportItems([item], 'md', { kinds: ['phone'] }), 'md')).toThrow(/redacted sender keys/);
    expect(parseImport(json, 'json', 'whatsapp:4915112345678')).toEqual([{ scope: 'whatsapp:4915112345678', text: 'Card 4111 1111 1111 1111, mail ada@example.com' }]);
    expect(parseImport('## api:ada\n- likes tea\n## telegram:1\n- likes jazz', 'md')).toEqual([
      { scope: 'api:ada', text: 'likes tea' },
      { scope: 'telegram:1', text: 'likes jazz' },
    ]);
    expect(parseImport('## api:ada\n- likes tea\n## telegram:1\n- likes jazz', 'md', 'api:bo')).toEqual([
      { scope: 'api:bo', text: 'likes tea' },
      { scope: 'api:bo', text: 'likes jazz' },
    ]);
    expect(() => parseImport('not json', 'json')).toThrow(/not JSON/);
  });
});
