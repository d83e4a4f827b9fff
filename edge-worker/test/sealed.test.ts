import { sealingKeyOf } from '@hearth/shared';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openFor, sealFor } from '../src/platforms/sealed.js';

const Schema = z.object({ to: z.string() });
const key = sealingKeyOf('a worker secret', 'hearth test v1');

describe('what platforms keep at the Relay, sealed', () => {
  it('opens under its key and the id it was bound to, and under nothing else', async () => {
    const sealed = await sealFor(key, 'email:c1', { to: 'ada@example.com' });
    expect(sealed).not.toContain('ada');
    expect(await openFor(key, 'email:c1', sealed, Schema)).toEqual({ to: 'ada@example.com' });
    // Moved to another row, under another secret or purpose, altered, or not the schema's shape.
    expect(await openFor(key, 'email:c2', sealed, Schema)).toBeUndefined();
    expect(await openFor(sealingKeyOf('another secret', 'hearth test v1'), 'email:c1', sealed, Schema)).toBeUndefined();
    expect(await openFor(sealingKeyOf('a worker secret', 'hearth other v1'), 'email:c1', sealed, Schema)).toBeUndefined();
    const [iv, data = ''] = sealed.split('.');
    expect(await openFor(key, 'email:c1', `${iv}.${data.slice(0, -2)}${data.endsWith('A') ? 'B' : 'A'}${data.slice(-1)}`, Schema)).toBeUndefined();
    expect(await openFor(key, 'email:c1', await sealFor(key, 'email:c1', { to: 42 }), Schema)).toBeUndefined();
    expect(await openFor(key, 'email:c1', 'not sealed', Schema)).toBeUndefined();
  });

  it('seals the same value differently each time (a fresh IV)', async () => {
    expect(await sealFor(key, 'x', { to: 'a' })).not.toBe(await sealFor(key, 'x', { to: 'a' }));
  });
});
