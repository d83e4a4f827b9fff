import { describe, expect, it } from 'vitest';
import { approvalButtonData, approvalOf, isApprovalPress, parseApprovalButton } from './approval.js';

const ID = 'Q7xk2mP9vR4tW1yZ3bN5cA';
const pressOf = (value: string) => ({ content: { text: value, attachments: [], entities: [{ type: 'button' as const, offset: 0, length: 0, value }] } });

describe('approval buttons', () => {
  it('round-trips Run and Skip within Telegram’s 64 bytes', () => {
    expect(approvalButtonData('run', ID)).toBe(`ap:r:${ID}`);
    expect(new TextEncoder().encode(approvalButtonData('skip', ID)).byteLength).toBeLessThanOrEqual(64);
    expect(parseApprovalButton(approvalButtonData('skip', ID))).toEqual({ decision: 'skip', id: ID });
  });

  it('reads only the exact shape: any other data is an ordinary button', () => {
    for (const data of ['ap:r:short', `ap:x:${ID}`, `ap:r:${ID}x`, `fb:u:${ID}`, ` ap:r:${ID}`]) expect(parseApprovalButton(data)).toBeUndefined();
  });

  it('finds a press in a message’s button entity, not in its text', () => {
    expect(approvalOf(pressOf(`ap:r:${ID}`))).toEqual({ decision: 'run', id: ID });
    expect(isApprovalPress({ content: { text: `ap:r:${ID}`, attachments: [], entities: [] } })).toBe(false);
  });
});
