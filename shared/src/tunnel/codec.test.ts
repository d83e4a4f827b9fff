import { describe, expect, it } from 'vitest';
import { PING, TUNNEL_PROTOCOL_VERSION } from './frames.js';
import { encodeFrame, MAX_FRAME_BYTES, parseCoreFrame, parseEdgeFrame, protocolMismatchAdvice } from './codec.js';

describe('tunnel codec', () => {
  it('stamps the protocol version and parses back to the same frame', () => {
    const raw = encodeFrame({ type: 'ack', message_id: 'telegram:1:2' });
    expect(JSON.parse(raw)).toEqual({ v: TUNNEL_PROTOCOL_VERSION, type: 'ack', message_id: 'telegram:1:2' });
    expect(parseCoreFrame(raw)).toEqual({ ok: true, value: JSON.parse(raw) });
  });

  it('reports the peer version of a frame from another protocol version', () => {
    const parsed = parseCoreFrame('{"v":7,"type":"hello"}');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatchObject({ code: 'protocol_mismatch', peerVersion: 7 });
  });

  it('tells each side which one to upgrade', () => {
    expect(protocolMismatchAdvice('edge', 2)).toBe('edge speaks tunnel protocol v1, core v2: upgrade the edge (wrangler deploy)');
    expect(protocolMismatchAdvice('core', 2)).toBe('core speaks tunnel protocol v1, edge v2: upgrade the core (hearth)');
    expect(protocolMismatchAdvice('core', 0)).toContain('upgrade the edge');
  });

  it('accepts the heartbeat constant as a frame on both sides', () => {
    expect(parseCoreFrame(PING).ok).toBe(true);
    expect(parseEdgeFrame(PING).ok).toBe(true);
  });

  it.each([
    ['not JSON', '{"v":1,', 'bad_frame'],
    ['an unknown type', '{"v":1,"type":"launch"}', 'bad_frame'],
    ['a frame of the other direction', encodeFrame({ type: 'welcome', session_id: 's', heartbeat_ms: 1, silence_ms: 2, ack_timeout_ms: 3 }), 'bad_frame'],
    ['credits out of range', '{"v":1,"type":"credit","credits":-1}', 'bad_frame'],
    ['too large', `"${'x'.repeat(MAX_FRAME_BYTES)}"`, 'frame_too_large'],
    ['of another protocol version', '{"v":2,"type":"hello","whatever":true}', 'protocol_mismatch'],
  ])('refuses %s with a typed error', (_name, raw, code) => {
    const parsed = parseCoreFrame(raw);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.code).toBe(code);
  });
});
