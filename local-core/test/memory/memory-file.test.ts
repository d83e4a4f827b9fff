import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/memory/database.js';
import { MemoryFileSync, parseMemoryFile, renderMemoryFile } from '../../src/memory/memory-file.js';
import { MemoryItemStore } from '../../src/memory/memory-items.js';
import { tempDir } from '../support.js';

let dir: string;
let cleanup: () => Promise<void>;
const syncs: MemoryFileSync[] = [];
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  for (const sync of syncs.splice(0)) sync.dispose();
  await cleanup();
});

const file = () => join(dir, 'MEMORY.md');
const open = (items = new MemoryItemStore(openDatabase(':memory:'))) => {
  const sync = MemoryFileSync.open(items, file(), undefined, 20);
  syncs.push(sync);
  return { items, sync };
};
const texts = (items: MemoryItemStore, scope: string) => items.list(scope).map((item) => item.text);

describe('MEMORY.md format', () => {
  it('reads "- " facts under sender headings, ignores prose, bad headings and repeats', () => {
    const parsed = parseMemoryFile(
      ['# Hearth memory', 'some prose', '- before any heading', '## telegram:42', '- I am vegetarian', '* My sister is Ada', '-not a fact', '- I am vegetarian', '## my friends', '- lost', '## api:ada', '-   likes tea  '].join('\n'),
    );
    expect([...parsed.scopes]).toEqual([
      ['telegram:42', ['I am vegetarian', 'My sister is Ada']],
      ['api:ada', ['likes tea']],
    ]);
    expect(parsed.badHeadings).toEqual([{ line: 9, heading: 'my friends' }]);
  });

  it('renders what it reads back', () => {
    const items = new MemoryItemStore(openDatabase(':memory:'));
    items.add({ scope: 'telegram:42', text: 'I am vegetarian', source: 'tool' });
    items.add({ scope: 'api:ada', text: 'likes tea', source: 'tool' });
    const text = renderMemoryFile(items.list());
    expect(text).toContain('## api:ada\n- likes tea\n\n## telegram:42\n- I am vegetarian\n');
    expect([...parseMemoryFile(text).scopes]).toEqual([
      ['api:ada', ['likes tea']],
      ['telegram:42', ['I am vegetarian']],
    ]);
  });
});

describe('MemoryFileSync', () => {
  it('writes a missing file from the table (owner-only), and rewrites it on every change made elsewhere', () => {
    const items = new MemoryItemStore(openDatabase(':memory:'));
    items.add({ scope: 'telegram:42', text: 'I am vegetarian', source: 'tool' });
    open(items);
    expect(readFileSync(file(), 'utf8')).toContain('## telegram:42\n- I am vegetarian\n');
    expect(statSync(file()).mode & 0o777).toBe(0o600);
    items.add({ scope: 'telegram:42', text: 'My sister is Ada', source: 'command' });
    expect(readFileSync(file(), 'utf8')).toContain('- I am vegetarian\n- My sister is Ada\n');
    items.forget('telegram:42', 'I am vegetarian');
    expect(readFileSync(file(), 'utf8')).not.toContain('vegetarian');
  });

  it('the file wins at open: edits made while the core was down are kept, lines removed forgotten', () => {
    const items = new MemoryItemStore(openDatabase(':memory:'));
    items.add({ scope: 'telegram:42', text: 'I live in Oslo', source: 'tool' });
    items.add({ scope: 'telegram:42', text: 'I am vegetarian', source: 'tool', messageId: 'telegram:42:3' });
    writeFileSync(file(), '## telegram:42\n- I am vegetarian\n- I live in Bergen\n');
    open(items);
    expect(texts(items, 'telegram:42')).toEqual(['I am vegetarian', 'I live in Bergen']);
    expect(items.list('telegram:42')[0]?.messageId).toBe('telegram:42:3');
    // The owner's file is not rewritten into canonical form behind their editor.
    expect(readFileSync(file(), 'utf8')).toBe('## telegram:42\n- I am vegetarian\n- I live in Bergen\n');
  });

  it('reads the owner edits back while running, also when the editor replaces the file', async () => {
    const { items, sync } = open();
    sync.watch();
    writeFileSync(file(), '## telegram:42\n- I am vegetarian\n');
    await expect.poll(() => texts(items, 'telegram:42')).toEqual(['I am vegetarian']);
    writeFileSync(join(dir, 'MEMORY.md.swp'), '## telegram:42\n- My sister is Ada\n');
    await rename(join(dir, 'MEMORY.md.swp'), file());
    await expect.poll(() => texts(items, 'telegram:42')).toEqual(['My sister is Ada']);
  });

  it('does not read its own writes back as edits', async () => {
    const { items, sync } = open();
    sync.watch();
    const edits = vi.spyOn(items, 'applyEdits');
    items.add({ scope: 'telegram:42', text: 'I am vegetarian', source: 'tool' });
    items.add({ scope: 'telegram:42', text: 'My sister is Ada', source: 'tool' });
    await expect.poll(() => readFileSync(file(), 'utf8')).toContain('My sister is Ada');
    // An edit after our writes is read: the watcher runs, and our writes before it were skipped.
    writeFileSync(file(), `${readFileSync(file(), 'utf8')}- I live in Oslo\n`);
    await expect.poll(() => texts(items, 'telegram:42')).toEqual(['I am vegetarian', 'My sister is Ada', 'I live in Oslo']);
    expect(edits).toHaveBeenCalledTimes(1);
  });

  it('an edit not read yet is read before the table is written over it', () => {
    const { items } = open();
    items.add({ scope: 'telegram:42', text: 'I am vegetarian', source: 'tool' });
    // The owner saves, and a remember lands before the watcher's debounce has read the file.
    writeFileSync(file(), `${readFileSync(file(), 'utf8')}- I live in Oslo\n`);
    items.add({ scope: 'telegram:42', text: 'My sister is Ada', source: 'tool' });
    expect(texts(items, 'telegram:42')).toEqual(['I am vegetarian', 'My sister is Ada', 'I live in Oslo']);
    expect(readFileSync(file(), 'utf8')).toContain('- I am vegetarian\n- My sister is Ada\n- I live in Oslo\n');
  });

  it('a deleted file is written again from the table, not taken as "forget everything"; an emptied one is', () => {
    const items = new MemoryItemStore(openDatabase(':memory:'));
    items.add({ scope: 'telegram:42', text: 'I am vegetarian', source: 'tool' });
    open(items).sync.dispose();
    rmSync(file());
    open(items).sync.dispose();
    expect(readFileSync(file(), 'utf8')).toContain('- I am vegetarian');
    writeFileSync(file(), '');
    open(items);
    expect(items.list()).toEqual([]);
  });
});
