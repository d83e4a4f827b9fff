import { describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/memory/database.js';
import { MAX_ITEM_CHARS, MemoryItemStore } from '../../src/memory/memory-items.js';

const store = () => new MemoryItemStore(openDatabase(':memory:'));

describe('MemoryItemStore', () => {
  it('keeps a fact with its scope, source turn and time, once per scope (the first statement stays)', () => {
    const items = store();
    const first = items.add({ scope: 'telegram:42', text: '  I am\nvegetarian ', source: 'tool', messageId: 'telegram:42:7', createdAt: 1_000 });
    expect(first).toEqual({ added: true, item: { id: expect.any(Number), scope: 'telegram:42', text: 'I am vegetarian', source: 'tool', messageId: 'telegram:42:7', createdAt: 1_000 } });
    const again = items.add({ scope: 'telegram:42', text: 'I am vegetarian', source: 'command', messageId: 'telegram:42:9', createdAt: 2_000 });
    expect(again).toEqual({ added: false, item: first.item });
    // The same words about another sender are another item.
    expect(items.add({ scope: 'api:ada', text: 'I am vegetarian', source: 'cli' }).added).toBe(true);
    expect(items.list('telegram:42')).toEqual([first.item]);
    expect(items.list().map((item) => item.scope)).toEqual(['api:ada', 'telegram:42']);
  });

  it('refuses an empty fact and one longer than the limit', () => {
    const items = store();
    expect(() => items.add({ scope: 'telegram:42', text: ' \n ', source: 'tool' })).toThrow(RangeError);
    expect(() => items.add({ scope: 'telegram:42', text: 'x'.repeat(MAX_ITEM_CHARS + 1), source: 'tool' })).toThrow(/at most 500/);
    expect(items.list()).toEqual([]);
  });

  it("forgets by id, exact text or a unique part, only in the scope asked: never another sender's", () => {
    const items = store();
    const veg = items.add({ scope: 'telegram:42', text: 'I am vegetarian', source: 'tool' }).item;
    const sister = items.add({ scope: 'telegram:42', text: 'My sister is Ada', source: 'tool' }).item;
    const brother = items.add({ scope: 'telegram:42', text: 'My brother is Bo', source: 'tool' }).item;
    const friend = items.add({ scope: 'telegram:77', text: 'I am vegetarian', source: 'tool' }).item;
    expect(items.forget('telegram:77', `#${veg.id}`)).toEqual([]);
    expect(items.forget('telegram:42', `${veg.id}`)).toEqual([veg]);
    expect(items.forget('telegram:42', 'my SISTER is ada')).toEqual([sister]);
    // A part that several items have removes none; a part only one has removes that one.
    items.add({ scope: 'telegram:42', text: 'My cat is Tom', source: 'tool' });
    expect(items.forget('telegram:42', 'My')).toEqual([]);
    expect(items.forget('telegram:42', 'brother')).toEqual([brother]);
    expect(items.list('telegram:77')).toEqual([friend]);
  });

  it('says when it changed (for MEMORY.md), and only then', () => {
    const items = store();
    const changed = vi.fn();
    items.on('change', changed);
    items.add({ scope: 'telegram:42', text: 'a fact', source: 'tool' });
    items.add({ scope: 'telegram:42', text: 'a fact', source: 'tool' });
    items.forget('telegram:42', 'nothing like it');
    expect(changed).toHaveBeenCalledTimes(1);
    items.forget('telegram:42', 'a fact');
    expect(changed).toHaveBeenCalledTimes(2);
  });

  it('replaceAll makes the table what the file says: kept items keep their turn and time', () => {
    const items = store();
    const kept = items.add({ scope: 'telegram:42', text: 'I am vegetarian', source: 'tool', messageId: 'm1', createdAt: 5 }).item;
    items.add({ scope: 'telegram:42', text: 'I live in Oslo', source: 'tool' });
    const result = items.replaceAll(new Map([['telegram:42', ['I am vegetarian', 'I live in Bergen']], ['api:ada', ['Ada likes tea']]]));
    expect(result).toEqual({ added: 2, removed: 1 });
    expect(items.list('telegram:42')).toEqual([kept, expect.objectContaining({ text: 'I live in Bergen', source: 'file', messageId: null })]);
    expect(items.list('api:ada').map((item) => item.text)).toEqual(['Ada likes tea']);
  });

  it('migrates on its own component and keeps items across reopening', () => {
    const db = openDatabase(':memory:');
    new MemoryItemStore(db).add({ scope: 'telegram:42', text: 'kept', source: 'cli' });
    expect(new MemoryItemStore(db).list().map((item) => item.text)).toEqual(['kept']);
    expect(db.prepare("SELECT version FROM schema_versions WHERE component = 'memory_items'").get()).toEqual({ version: 2 });
  });
});
