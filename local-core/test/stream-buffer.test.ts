import type { CoreFrameBody } from '@hearth/shared';
import { describe, expect, it } from 'vitest';
import { StreamBuffer } from '../src/stream-buffer.js';

describe('StreamBuffer', () => {
  it('sends the first piece at once, batches the rest a few times a second, and flushes on close', async () => {
    const sent: CoreFrameBody[] = [];
    const buffer = new StreamBuffer('m1', (frame) => sent.push(frame) > 0);
    buffer.push('Once');
    expect(sent).toEqual([{ type: 'partial', message_id: 'm1', seq: 0, text: 'Once' }]);
    buffer.push(' upon');
    buffer.push(' a');
    expect(sent).toHaveLength(1);
    await expect.poll(() => sent.length, { timeout: 1_000 }).toBe(2);
    expect(sent[1]).toEqual({ type: 'partial', message_id: 'm1', seq: 1, text: ' upon a' });
    buffer.push(' time');
    buffer.close();
    expect(sent[2]).toEqual({ type: 'partial', message_id: 'm1', seq: 2, text: ' time' });
    buffer.close();
    expect(sent).toHaveLength(3);
  });

  it('sends at once past 2048 characters, whatever the clock says', () => {
    const sent: CoreFrameBody[] = [];
    const buffer = new StreamBuffer('m2', (frame) => sent.push(frame) > 0);
    buffer.push('a');
    buffer.push('b'.repeat(2_048));
    expect(sent.map((frame) => (frame.type === 'partial' ? frame.text.length : 0))).toEqual([1, 2_048]);
    buffer.close();
  });
});
