import { describe, expect, it } from 'vitest';
import { HotCache, jsonBytes } from '../../src/memory/hot-cache.js';

interface Blob {
  bytes: number;
}

describe('HotCache (L1)', () => {
  it('evicts the least recently used entries once the byte bound is passed', () => {
    const hot = new HotCache<Blob>({ maxBytes: 1_000, sizeOf: (blob) => blob.bytes });
    hot.set('a', { bytes: 400 });
    hot.set('b', { bytes: 400 });
    expect(hot.get('a')).toEqual({ bytes: 400 }); // a is now more recent than b
    hot.set('c', { bytes: 400 });

    expect(hot.peek('b')).toBeUndefined();
    expect(hot.peek('a')).toBeDefined();
    expect(hot.peek('c')).toBeDefined();
    expect(hot.stats()).toMatchObject({ entries: 2, bytes: 800 });
  });

  it('measures entries by their JSON in UTF-8 by default, so multi-byte text counts in full', () => {
    const text = 'é'.repeat(40); // 80 bytes in UTF-8, 40 characters
    expect(jsonBytes({ text })).toBe(Buffer.byteLength(JSON.stringify({ text })));
    const hot = new HotCache<{ text: string }>({ maxBytes: 150 });
    hot.set('one', { text });
    hot.set('two', { text });
    expect(hot.stats().entries).toBe(1);
    expect(hot.peek('two')).toEqual({ text });
  });

  it('does not keep an entry larger than the whole bound, nor the older value under its key', () => {
    const hot = new HotCache<Blob>({ maxBytes: 100, sizeOf: (blob) => blob.bytes });
    hot.set('k', { bytes: 10 });
    hot.set('other', { bytes: 10 });
    hot.set('k', { bytes: 500 });
    expect(hot.peek('k')).toBeUndefined();
    expect(hot.peek('other')).toEqual({ bytes: 10 });
  });

  it('counts hits and misses, and treats an entry the caller finds stale as a miss', () => {
    const hot = new HotCache<{ generation: number }>({ maxBytes: 1_000 });
    expect(hot.get('x')).toBeUndefined();
    hot.set('x', { generation: 1 });
    expect(hot.get('x')).toEqual({ generation: 1 });
    expect(hot.get('x', (value) => value.generation === 2)).toBeUndefined();
    expect(hot.peek('x')).toBeUndefined();
    expect(hot.stats()).toEqual({ hits: 1, misses: 2, entries: 0, bytes: 0 });
  });
});
