import { describe, expect, it } from 'vitest';
import { TestTunnel, freshRelay, replyStored, telegramCalls, waitFor } from '../helpers.js';

// Telegram's production limits (defaults): 1 s between sends to a chat, 3 s in a group, 30/s in all.
async function pushAll(replies: { chat: number; text: string }[]): Promise<void> {
  const { name, stub } = freshRelay('pacing');
  const tunnel = await TestTunnel.toRelay(name);
  await tunnel.hello(0);
  // One at a time, each once the Relay confirmed it: frames sent back to back can reach the
  // object out of order in the test pool (real sockets keep their order), and the order of a
  // chat's pushes is what the first test checks.
  for (const [i, r] of replies.entries()) {
    const key = `push:${r.chat}:${i}`;
    tunnel.send({ type: 'reply', key, conversation_id: `telegram:${r.chat}`, in_reply_to: null, text: r.text });
    expect(await tunnel.next('reply_stored')).toMatchObject({ key });
  }
  for (const [i, r] of replies.entries()) await replyStored(stub, `push:${r.chat}:${i}`);
  tunnel.close();
}

const arrivals = (chats: Set<string>, count: number) =>
  waitFor(
    async () => {
      const calls = (await telegramCalls()).filter((c) => c.method === 'sendMessage' && chats.has(String(c.body.chat_id)));
      return calls.length >= count ? calls : undefined;
    },
    `${count} sends`,
    15_000,
  );

/** Loopback latency between the Relay's clock and the fake's: the slack allowed on each spacing. */
const SLACK_MS = 100;

describe('send pacing (Telegram rate limits)', () => {
  it('spaces a burst into one chat about a second apart, in order, dropping nothing', async () => {
    await pushAll([1, 2, 3].map((n) => ({ chat: 8301, text: `burst ${n}` })));
    const calls = await arrivals(new Set(['8301']), 3);
    expect(calls.map((c) => c.body.text)).toEqual(['burst 1', 'burst 2', 'burst 3']);
    for (let i = 1; i < calls.length; i++) expect(calls[i]!.at - calls[i - 1]!.at).toBeGreaterThanOrEqual(1_000 - SLACK_MS);
  });

  it('spaces sends into a group three seconds apart', async () => {
    await pushAll([1, 2].map((n) => ({ chat: -1008302, text: `group ${n}` })));
    const calls = await arrivals(new Set(['-1008302']), 2);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(3_000 - SLACK_MS);
  });

  it('holds a burst across 45 chats to 30 a second, queuing the overflow', async () => {
    const chats = Array.from({ length: 45 }, (_, i) => 8400 + i);
    await pushAll(chats.map((chat) => ({ chat, text: `hello ${chat}` })));
    const calls = await arrivals(new Set(chats.map(String)), 45);
    expect(new Set(calls.map((c) => c.body.chat_id)).size).toBe(45);
    const at = calls.map((c) => c.at).sort((a, b) => a - b);
    const busiest = Math.max(...at.map((start) => at.filter((t) => t >= start && t < start + 1_000 - SLACK_MS).length));
    expect(busiest).toBeLessThanOrEqual(30);
    // The overflow waited rather than vanished: the 31st left a second after the first.
    expect(at[30]! - at[0]!).toBeGreaterThanOrEqual(1_000 - SLACK_MS);
  });
});
