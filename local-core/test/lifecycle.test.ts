import { describe, expect, it } from 'vitest';
import { Lifecycle, StoppedError } from '../src/lifecycle.js';
import { capturingLogger, silentLogger } from './support.js';

describe('Lifecycle', () => {
  it('disposes parts last started first, once however often it is disposed', async () => {
    const parts = new Lifecycle(silentLogger());
    const order: string[] = [];
    const part = (name: string) => ({ dispose: async () => void order.push(name) });
    const memory = part('memory');
    expect(parts.use('memory', memory)).toBe(memory);
    parts.use('queue', part('queue'));
    parts.defer('drain', () => order.push('drain'));
    await Promise.all([parts.dispose(), parts.dispose()]);
    await parts[Symbol.asyncDispose]();
    expect(order).toEqual(['drain', 'queue', 'memory']);
  });

  it('logs a part that fails to dispose, names it, and still disposes the rest', async () => {
    const { log, lines } = capturingLogger('error');
    const parts = new Lifecycle(log);
    const disposed: string[] = [];
    parts.defer('memory', () => disposed.push('memory'));
    parts.defer('admin port', async () => {
      throw new Error('already closed');
    });
    parts.defer('tunnel', () => disposed.push('tunnel'));
    await parts.dispose();
    expect(disposed).toEqual(['tunnel', 'memory']);
    const logged = lines.map((line) => JSON.parse(line) as { part?: string; err?: string });
    expect(logged).toEqual([expect.objectContaining({ part: 'admin port', err: 'already closed' })]);
  });

  it('disposes a part started while disposing at once, and stops the start there', async () => {
    const parts = new Lifecycle(silentLogger());
    const disposed: string[] = [];
    parts.defer('edge', () => disposed.push('edge'));
    const stopping = parts.dispose();
    expect(() => parts.defer('core', () => disposed.push('core'))).toThrow(StoppedError);
    await parts.dispose();
    await stopping;
    expect(disposed).toEqual(['edge', 'core']);
  });
});
