import { describe, expect, it } from 'vitest';
import { parseInbound } from '../../src/mqtt/inbound.js';
import { PlainTextIds } from '../../src/mqtt/plain-ids.js';
import { MAX_PAYLOAD_BYTES } from '../../src/mqtt/wire.js';

const at = Date.UTC(2025, 0, 1, 12, 0, 0);
const bytes = (text: string) => new TextEncoder().encode(text);
const json = (value: unknown) => bytes(JSON.stringify(value));

function parse(topic: string, payload: Uint8Array, { receivedAt = at, dup = false, plainIds = new PlainTextIds() } = {}) {
  return parseInbound(topic, payload, { receivedAt, dup, plainIds });
}

function reason(result: ReturnType<typeof parseInbound>): string {
  if (result.ok) throw new Error('expected a refusal');
  return result.error.message;
}

describe('parseInbound', () => {
  it('normalizes a JSON message: ids from the device and its id, stamped on arrival', () => {
    const result = parse('hearth/in/kitchen', json({ id: 'm-1', text: 'lights on' }));
    expect(result).toEqual({
      ok: true,
      value: {
        device: 'kitchen',
        message: {
          message_id: 'mqtt:kitchen:m-1',
          platform: 'mqtt',
          conversation: { id: 'mqtt:kitchen', type: 'private' },
          sender: { id: 'mqtt:kitchen' },
          content: { text: 'lights on', attachments: [], entities: [] },
          reply_to: null,
          timestamp: at / 1000,
        },
      },
    });
  });

  it('takes a numeric id, a sender (under the device), reply_to and the device timestamp', () => {
    const result = parse('hearth/in/hall', json({ id: 42, text: 'hi', sender: 'Ada', reply_to: 'reply:mqtt:hall:41', timestamp: 1_700_000_000, battery: 80 }));
    expect(result.ok && result.value.message).toMatchObject({
      message_id: 'mqtt:hall:42',
      sender: { id: 'mqtt:hall:Ada', name: 'Ada' },
      reply_to: 'reply:mqtt:hall:41',
      timestamp: 1_700_000_000,
    });
  });

  it('keeps commands as text, so the pipeline answers them', () => {
    const result = parse('hearth/in/hall', json({ id: '1', text: '/reset' }));
    expect(result.ok && result.value.message.content.text).toBe('/reset');
  });

  it('gives plain text an id from topic and payload, the same for a resend within the window', () => {
    const plainIds = new PlainTextIds(60_000);
    const first = parse('hearth/in/porch', bytes('is the door locked?'), { plainIds });
    const resent = parse('hearth/in/porch', bytes('is the door locked?'), { plainIds, receivedAt: at + 59_000 });
    expect(first.ok && first.value.message.message_id).toMatch(/^mqtt:porch:txt~[0-9a-f]{24}~\d+$/);
    expect(resent.ok && resent.value.message).toEqual(first.ok && first.value.message);
    // Another topic or other words: another hash.
    const hashOf = (result: ReturnType<typeof parse>) => (result.ok ? result.value.message.message_id.split('~')[1] : undefined);
    const elsewhere = parse('hearth/in/garage', bytes('is the door locked?'), { plainIds });
    const other = parse('hearth/in/porch', bytes('is the door open?'), { plainIds });
    expect(new Set([hashOf(first), hashOf(elsewhere), hashOf(other)]).size).toBe(3);
  });

  it('treats the same plain text after the window as a new message, unless the broker marks it a redelivery', () => {
    const plainIds = new PlainTextIds(60_000);
    const first = parse('hearth/in/porch', bytes('status?'), { plainIds });
    const later = parse('hearth/in/porch', bytes('status?'), { plainIds, receivedAt: at + 60_000 });
    const firstId = first.ok ? first.value.message.message_id : '';
    const laterId = later.ok ? later.value.message.message_id : '';
    expect(laterId).not.toBe(firstId);
    const redelivered = parse('hearth/in/porch', bytes('status?'), { plainIds, receivedAt: at + 3_600_000, dup: true });
    expect(redelivered.ok && redelivered.value.message.message_id).toBe(laterId);
  });

  it.each([
    ['a topic without a device id', 'hearth/in/bad device', json({ id: '1', text: 'x' }), /last level is not a device id/],
    ['too large', 'hearth/in/k', bytes('x'.repeat(MAX_PAYLOAD_BYTES + 1)), /65537 bytes is over the 65536-byte limit/],
    ['not UTF-8', 'hearth/in/k', new Uint8Array([0xff, 0xfe, 0x41]), /not UTF-8/],
    ['broken JSON', 'hearth/in/k', bytes('{"id": "1", "text": "my secret plan"'), /starts with \{ but is not valid JSON/],
    ['no id', 'hearth/in/k', json({ text: 'my secret plan' }), /^id: id must be/],
    ['a text that is not a string', 'hearth/in/k', json({ id: '1', text: 5 }), /^text: text must be a string/],
    ['an empty text', 'hearth/in/k', json({ id: '1', text: '  ' }), /text must not be empty/],
    ['an id with a ~', 'hearth/in/k', json({ id: 'txt~1', text: 'x' }), /^id: /],
    ['a timestamp in ms', 'hearth/in/k', json({ id: '1', text: 'x', timestamp: at }), /not milliseconds/],
    ['a sender with a colon', 'hearth/in/k', json({ id: '1', text: 'x', sender: 'telegram:42' }), /sender must be/],
    ['an empty plain text', 'hearth/in/k', bytes(' \n'), /empty/],
  ])('refuses %s, without quoting the payload', (_what, topic, payload, expected) => {
    const message = reason(parse(topic, payload));
    expect(message).toMatch(expected);
    expect(message).not.toContain('my secret plan');
  });

  it('takes exactly 64 KiB', () => {
    const text = `{"id":"big","text":"${'x'.repeat(MAX_PAYLOAD_BYTES - 22)}"}`;
    expect(bytes(text).byteLength).toBe(MAX_PAYLOAD_BYTES);
    expect(parse('hearth/in/k', bytes(text)).ok).toBe(true);
  });
});
