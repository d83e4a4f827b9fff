import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCoreConfig } from '../../src/config.js';
import { loadMemoryItemsConfig } from '../../src/memory/memory-items-config.js';

describe('memory items config', () => {
  it('defaults: on, MEMORY.md in the data folder, 200 tokens a turn', () => {
    expect(loadMemoryItemsConfig({})).toEqual({ enabled: true, filePath: join('.hearth', 'MEMORY.md'), budgetTokens: 200 });
    expect(loadMemoryItemsConfig({ HEARTH_DATA_DIR: '/srv/hearth', HEARTH_MEMORY_ITEMS: 'off', HEARTH_MEMORY_TOKENS: '0' })).toEqual({ enabled: false, filePath: '/srv/hearth/MEMORY.md', budgetTokens: 0 });
  });

  it('names each bad variable, also among the core settings', () => {
    expect(() => loadMemoryItemsConfig({ HEARTH_MEMORY_ITEMS: 'maybe' })).toThrow(/HEARTH_MEMORY_ITEMS must be on \(default\) or off/);
    expect(() => loadCoreConfig({ HEARTH_MEMORY_TOKENS: '-1' })).toThrow(/HEARTH_MEMORY_TOKENS/);
    expect(loadCoreConfig({}).memoryItems).toEqual(loadMemoryItemsConfig({}));
  });
});
