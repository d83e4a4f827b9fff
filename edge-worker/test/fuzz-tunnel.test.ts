import { encodeFrame, generateCoreKeySet, signTunnelToken, type EdgeFrame } from '@hearth/shared';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anyJson, applyMutation, checkProperty, edgeFetch, expectNoServerError, fuzzTimeout, messageCount, mutation, nastyString, postTelegram, watchUncaught } from './fuzz-helpers.js';
import { TestTunnel, coreKeys, textUpdate } from './helpers.js';

/**
 * The tunnel endpoint under garbage: GET /tunnel with random headers and tokens, and random
 * frames on a tunnel a core's key did open (a buggy or hostile core: the key holder may do
 * a lot, but must not break the Relay). After every frame the Relay still delivers a valid
 * message to the core, which acks it.
 */
let watch: ReturnType<typeof watchUncaught>;
beforeAll(() => {
  watch = watchUncaught();
});
// The tests wait for their tunnels' close: the Relay logs it in the turn that echoes the close.
afterAll(() => watch.restore());

const printable = (max: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: max });

describe('fuzz: GET /tunnel', { timeout: fuzzTimeout() }, () => {
  it('random Authorization and Upgrade headers: 401 or 426, never a tunnel, never a 5xx', async () => {
    const otherKeys = await generateCoreKeySet();
    const token = fc.oneof(
      printable(300),
      fc.tuple(fc.base64String(), fc.base64String(), fc.base64String()).map((parts) => parts.join('.').replaceAll('=', '')),
      // Real tokens of another key, or for another core id signed by another key.
      nastyString(40).map((id) => ({ other: id })),
    );
    await checkProperty(
      'tunnel.route_headers',
      fc.asyncProperty(token, fc.constantFrom('websocket', 'WebSocket', 'h2c', '', null), fc.constantFrom('Bearer ', 'bearer ', '', 'Basic '), async (t, upgrade, scheme) => {
        const value = typeof t === 'string' ? t : await signTunnelToken(otherKeys, t.other.replace(/[^\x21-\x7e]/g, 'x') || 'x').catch(() => 'x.y.z');
        const headers: Record<string, string> = { Authorization: `${scheme}${value}` };
        if (upgrade !== null) headers.Upgrade = upgrade;
        const response = await edgeFetch('/tunnel', { headers });
        expectNoServerError(response.status, 'GET /tunnel', [401, 426]);
        expect(response.webSocket).toBeNull();
        if (response.status === 401) expect(response.headers.get('WWW-Authenticate')).toMatch(/^Bearer realm="hearth-tunnel"/);
        await response.body?.cancel();
      }),
      200,
    );
  });
});

describe('fuzz: frames on an authenticated tunnel', { timeout: fuzzTimeout() }, () => {
  it('random and mutated frames: the Relay never breaks, and a valid message is delivered after each', async () => {
    const validFrames = [
      { type: 'hello', core_id: 'fuzz-core', credits: 4, software: 'x' },
      { type: 'credit', credits: 4 },
      { type: 'ack', message_id: 'telegram:1:1', reply: { key: 'k', text: 'hi' } },
      { type: 'progress', message_id: 'telegram:1:1' },
      { type: 'partial', message_id: 'telegram:1:1', seq: 0, text: 'x' },
      { type: 'reply', key: 'k2', conversation_id: 'telegram:9', in_reply_to: null, text: 'hi' },
      { type: 'history_result', request_id: 'r', ok: true, items: [] },
      { type: 'access', request_id: 'r', command: { action: 'approve', code: 'ABCD-EFGH' } },
      { type: 'access', request_id: 'r', command: { action: 'list' } },
      { type: 'ping' },
      { type: 'pong' },
    ].map((f) => ({ v: 1, ...f }));
    const frame = fc.oneof(
      anyJson.map((v) => JSON.stringify(v)),
      nastyString(300),
      fc.tuple(fc.constantFrom(...validFrames), mutation).map(([f, m]) => JSON.stringify(applyMutation(f, m))),
      // Valid frames of another protocol version.
      fc.tuple(fc.constantFrom(...validFrames), fc.oneof(fc.integer(), fc.constantFrom('1', null, 1.5))).map(([f, v]) => JSON.stringify({ ...f, v })),
      fc.uint8Array({ maxLength: 1_024 }),
    );
    let tunnel: TestTunnel | undefined;
    let reopened = 0;
    let chat = 9_100_000;
    const acked = new Set<string>();
    await checkProperty(
      'tunnel.frames',
      fc.asyncProperty(frame, async (data) => {
        if (!tunnel || tunnel.closed) {
          tunnel = await TestTunnel.viaRoute('fuzz-core', coreKeys());
          await tunnel.hello(4, 'fuzz-core');
          reopened++;
        }
        const t = tunnel;
        const ackAll = (frames: EdgeFrame[]) => {
          for (const f of frames) if (f.type === 'deliver') t.send({ type: 'ack', message_id: f.message_id });
        };
        t.ws.send(data);
        // A garbage frame may rightly end the tunnel (hello naming another core, another version).
        try {
          ackAll(await t.barrier());
          await t.credit(4);
        } catch {
          await t.waitClosed();
          return;
        }
        const before = await messageCount();
        const update = textUpdate(++chat, 'valid after a garbage frame');
        expect((await postTelegram(update)).status).toBe(200);
        expect(await messageCount()).toBe(before + 1);
        const wanted = `telegram:${chat}:${update.message.message_id}`;
        // Deliveries left from a tunnel the garbage closed may come first: ack everything.
        for (;;) {
          // The frames are not ordered here: a garbage frame that ends the tunnel may be handled only now.
          const delivery = await t.next('deliver').catch(async (error: unknown) => {
            if (t.closed || (await t.window()) === undefined) return undefined;
            throw error;
          });
          if (!delivery) return;
          t.send({ type: 'ack', message_id: delivery.message_id });
          acked.add(delivery.message_id);
          if (delivery.message_id === wanted) break;
        }
      }),
      150,
    );
    tunnel?.close();
    await tunnel?.waitClosed();
    expect(acked.size).toBeGreaterThan(0);
    console.info(`fuzz tunnel: reopened ${reopened} times, ${acked.size} valid deliveries acked`);
    expect(watch.lines()).toEqual([]);
  });

  it('a frame sent before hello ends the tunnel with a protocol error, and another opens fine', async () => {
    const tunnel = await TestTunnel.viaRoute('fuzz-core-2');
    tunnel.ws.send(encodeFrame({ type: 'credit', credits: 1 }));
    expect(await tunnel.next('error')).toMatchObject({ code: 'hello_first', fatal: true });
    await tunnel.waitClosed();
    const next = await TestTunnel.viaRoute('fuzz-core-2');
    await next.hello(1, 'fuzz-core-2');
    next.close();
    await next.waitClosed();
  });
});
