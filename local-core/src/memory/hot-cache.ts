import { LRUCache } from 'lru-cache';

export interface HotCacheOptions<V> {
  /** The most bytes held (by `sizeOf`'s measure); least recently used entries go first. */
  maxBytes: number;
  /** An entry's size in bytes; defaults to its JSON in UTF-8. Must be at least 1. */
  sizeOf?: (value: V) => number;
}

export interface HotCacheStats {
  hits: number;
  misses: number;
  entries: number;
  bytes: number;
}

/** UTF-8 bytes of the JSON form: close to what the entry costs, and cheap for small values. */
export const jsonBytes = (value: unknown): number => Math.max(1, Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8'));

/**
 * L1: hot values in this process, bounded by bytes rather than by count, because one
 * conversation's context can be a hundred times another's. An entry larger than the whole
 * bound is not kept (lru-cache refuses it) rather than evicting everything else.
 *
 * @example
 * const hot = new HotCache<Context>({ maxBytes: 64 * 1024 * 1024 });
 * hot.set('telegram:42', context);
 * hot.get('telegram:42'); // counted as a hit
 */
export class HotCache<V extends object> {
  private readonly cache: LRUCache<string, V>;
  private hits = 0;
  private misses = 0;

  constructor(options: HotCacheOptions<V>) {
    const sizeOf = options.sizeOf ?? jsonBytes;
    this.cache = new LRUCache<string, V>({ maxSize: options.maxBytes, sizeCalculation: (value) => Math.max(1, Math.ceil(sizeOf(value))) });
  }

  /**
   * The value, made most recently used; counted as a hit or a miss. An entry `isFresh` rejects
   * is deleted and counted as a miss: the caller found out it is out of date.
   */
  get(key: string, isFresh?: (value: V) => boolean): V | undefined {
    const value = this.cache.get(key);
    if (value !== undefined && isFresh && !isFresh(value)) this.cache.delete(key);
    else if (value !== undefined) {
      this.hits++;
      return value;
    }
    this.misses++;
    return undefined;
  }

  /** The value without touching recency or the counters (for write-through updates). */
  peek(key: string): V | undefined {
    return this.cache.peek(key);
  }

  set(key: string, value: V): void {
    this.cache.set(key, value);
  }

  delete(key: string): void {
    this.cache.delete(key);
  }

  clear(): void {
    this.cache.clear();
  }

  stats(): HotCacheStats {
    return { hits: this.hits, misses: this.misses, entries: this.cache.size, bytes: this.cache.calculatedSize };
  }
}
