import type { Message } from '@hearth/shared';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Relay } from '../src/relay/relay.js';
import { TestTunnel, chatMessage, enqueue, failTelegram, freshRelay, repliesSettled, replyStored as stored, telegramCalls, waitFor, type RelayStub } from './helpers.js';

// The limits this file runs under (vitest.config.ts).
const ACK_TIMEOUT_MS = 10_000;
const SILENCE_MS = 150_000;
const QUEUE_TTL_MS = 3_600_000;
const MAX_ATTEMPTS = 3;
const QUEUE_MAX = 40;
const PER_SENDER = 10;

/** A message of an API user in one of their conversations. */
function apiMessage(user: string, conversation: string): Message {
  return {
    message_id: `api:${user}:${conversation}:${crypto.randomUUID()}`,
    platform: 'api',
    conversation: { id: `api:${user}:${conversation}`, type: 'private' },
    sender: { id: `api:${user}` },
    content: { text: 'hi', attachments: [], entities: [] },
    reply_to: null,
    timestamp: 1_764_000_000,
  };
}


/** Runs the Relay's time-driven rules as if `laterMs` had passed. */
const sweepAfter = (stub: RelayStub, laterMs: number) => runInDurableObject(stub, (relay: Relay) => relay.sweep(Date.now() + laterMs));

const row = (stub: RelayStub, messageId: string) =>
  runInDurableObject(stub, (_relay, state) =>
    state.storage.sql
      .exec<{ attempts: number; session_id: string | null; deadline_at: number | null; acked_at: number | null; dead_reason: string | null; sealed: string }>(
        'SELECT attempts, session_id, deadline_at, acked_at, dead_reason, sealed FROM messages WHERE message_id = ?',
        messageId,
      )
      .one(),
  );

const deliveries = (frames: { type: string }[]) => frames.filter((f): f is { type: 'deliver'; message_id: string } => f.type === 'deliver').map((f) => f.message_id);

describe('ack deadlines', () => {
  it('gives a delivery nobody acked to another core once its deadline passes', async () => {
    const { name, stub } = freshRelay('delivery');
    await enqueue(stub, chatMessage(1, 1));
    const stuck = await TestTunnel.toRelay(name, 'core-a');
    await stuck.hello(1, 'core-a');
    await stuck.next('deliver');
    const other = await TestTunnel.toRelay(name, 'core-b');
    await other.hello(1, 'core-b');

    await sweepAfter(stub, ACK_TIMEOUT_MS - 1_000);
    expect(deliveries(await other.barrier())).toEqual([]);
    await sweepAfter(stub, ACK_TIMEOUT_MS + 1_000);
    const again = await other.next('deliver');
    expect(again).toMatchObject({ message_id: 'telegram:1:1', attempt: 2 });

    // The stuck core's late ack still answers the message (it carries the reply); the new
    // holder's ack after it is void, and its reply a duplicate by key.
    await stuck.ack('telegram:1:1', { key: 'reply:telegram:1:1', text: 'late but real' });
    const acked = await row(stub, 'telegram:1:1');
    expect(acked.acked_at).not.toBeNull();
    await other.ack('telegram:1:1', { key: 'reply:telegram:1:1', text: 'second answer' });
    expect((await stub.stats()).counters).toMatchObject({ acks: 1, acks_void: 1 });
    expect((await row(stub, 'telegram:1:1')).acked_at).toBe(acked.acked_at);
    const replies = await runInDurableObject(stub, (_relay, state) =>
      state.storage.sql.exec<{ text: string; sent_at: number | null }>("SELECT text, sent_at FROM outbox WHERE key = 'reply:telegram:1:1'").toArray(),
    );
    expect(replies).toHaveLength(1);
    expect(replies[0]?.sent_at === null ? replies[0]?.text : 'sent').not.toBe('second answer');
    stuck.close();
    other.close();
  });

  it('takes the ack and progress of another core of the deployment (cores sharing a job queue), freeing the holder\'s credit', async () => {
    const { name, stub } = freshRelay('delivery');
    await enqueue(stub, chatMessage(3, 1));
    await enqueue(stub, chatMessage(3, 2));
    const holder = await TestTunnel.toRelay(name, 'core-a');
    await holder.hello(1, 'core-a');
    expect((await holder.next('deliver')).message_id).toBe('telegram:3:1');
    const worker = await TestTunnel.toRelay(name, 'core-b');
    await worker.hello(0, 'core-b');

    await worker.progress('telegram:3:1');
    expect((await row(stub, 'telegram:3:1')).deadline_at).toBeGreaterThan(Date.now() + ACK_TIMEOUT_MS - 2_000);
    worker.send({ type: 'ack', message_id: 'telegram:3:1', reply: { key: 'reply:telegram:3:1', text: 'answered by core-b' } });
    // The holder's window is free again: the conversation's next message comes to it.
    expect((await holder.next('deliver')).message_id).toBe('telegram:3:2');
    holder.close();
    worker.close();
  });

  it('lets the core push its deadline out while it is still generating', async () => {
    const { name, stub } = freshRelay('delivery');
    await enqueue(stub, chatMessage(2, 1));
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    await tunnel.next('deliver');
    const before = (await row(stub, 'telegram:2:1')).deadline_at!;
    await tunnel.progress('telegram:2:1');
    expect((await row(stub, 'telegram:2:1')).deadline_at!).toBeGreaterThan(before);
    expect((await row(stub, 'telegram:2:1')).acked_at).toBeNull();
    tunnel.close();
  });

  it('forgets the sealed body of an answered message and keeps only its id', async () => {
    const { name, stub } = freshRelay('delivery');
    await enqueue(stub, chatMessage(3, 1));
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    await tunnel.next('deliver');
    await tunnel.ack('telegram:3:1');
    expect(await row(stub, 'telegram:3:1')).toMatchObject({ sealed: '', session_id: null });
    // Still known: the platform retrying it is a duplicate.
    expect(await enqueue(stub, chatMessage(3, 1))).toBe('duplicate');
    tunnel.close();
  });
});

describe('dead letters', () => {
  it(`dead-letters a message after ${MAX_ATTEMPTS} deliveries and moves on to the next of its conversation`, async () => {
    const { name, stub } = freshRelay('delivery');
    await enqueue(stub, chatMessage(4, 1));
    await enqueue(stub, chatMessage(4, 2));
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const tunnel = await TestTunnel.toRelay(name);
      await tunnel.hello(1);
      expect(await tunnel.next('deliver')).toMatchObject({ message_id: 'telegram:4:1', attempt });
      tunnel.close();
      await tunnel.waitClosed();
    }
    const last = await TestTunnel.toRelay(name);
    await last.hello(1);
    expect(await last.next('deliver')).toMatchObject({ message_id: 'telegram:4:2', attempt: 1 });
    const dead = await stub.deadLetters();
    expect(dead).toEqual([
      expect.objectContaining({ message_id: 'telegram:4:1', conversation_id: 'telegram:4', attempts: MAX_ATTEMPTS, reason: 'max_attempts' }),
    ]);
    // Inspectable, and still unreadable here.
    expect(dead[0]!.sealed.split('.')).toHaveLength(5);
    last.close();
  });
});

describe('queue bounds', () => {
  it(`refuses the message past ${QUEUE_MAX} pending, but still recognises a retry of a stored one`, async () => {
    const { stub } = freshRelay('delivery');
    // Eight senders, each within its share: the whole queue fills.
    for (let n = 1; n <= QUEUE_MAX; n++) expect(await enqueue(stub, chatMessage(500 + (n % 8), n))).toBe('stored');
    expect(await enqueue(stub, chatMessage(509, 1))).toBe('full');
    expect(await enqueue(stub, chatMessage(501, 1))).toBe('duplicate');
    expect((await stub.stats()).pending).toBe(QUEUE_MAX);
  });

  it(`gives each sender a share of the queue (${PER_SENDER}): one cannot starve the rest`, async () => {
    const { name, stub } = freshRelay('delivery');
    for (let n = 1; n <= PER_SENDER; n++) expect(await enqueue(stub, chatMessage(7, n))).toBe('stored');
    expect(await enqueue(stub, chatMessage(7, PER_SENDER + 1))).toBe('full');
    // Others are still accepted.
    expect(await enqueue(stub, chatMessage(8, 1))).toBe('stored');
    // An API user's conversations share one share: a new conversation id is no way around it.
    for (let n = 1; n <= PER_SENDER; n++) expect(await enqueue(stub, apiMessage('mallory', `c${n}`))).toBe('stored');
    expect(await enqueue(stub, apiMessage('mallory', 'c-more'))).toBe('full');
    expect(await enqueue(stub, apiMessage('ada', 'c1'))).toBe('stored');
    // An acked message frees its slot.
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    expect(await tunnel.next('deliver')).toMatchObject({ message_id: 'telegram:7:1' });
    tunnel.send({ type: 'ack', message_id: 'telegram:7:1' });
    await waitFor(async () => ((await enqueue(stub, chatMessage(7, PER_SENDER + 2))) === 'stored' ? true : undefined), 'the freed slot');
    tunnel.close();
  });

  it('expires messages older than the TTL, tells the sender, and keeps them as dead letters', async () => {
    const { stub } = freshRelay('delivery');
    await enqueue(stub, chatMessage(6, 1));
    await sweepAfter(stub, QUEUE_TTL_MS - 60_000);
    expect((await row(stub, 'telegram:6:1')).dead_reason).toBeNull();
    await sweepAfter(stub, QUEUE_TTL_MS + 60_000);
    expect((await row(stub, 'telegram:6:1')).dead_reason).toBe('expired');
    const notice = await waitFor(async () => (await telegramCalls()).find((c) => c.body.chat_id === '6'), 'expiry notice');
    expect(notice.body.text).toBe('Sorry, your message expired before I could answer.');
  });
});

describe('silent cores', () => {
  it('drops a core that sent nothing for the silence limit and redelivers what it held', async () => {
    const { name, stub } = freshRelay('delivery');
    await enqueue(stub, chatMessage(7, 1));
    const silent = await TestTunnel.toRelay(name, 'core-a');
    await silent.hello(1, 'core-a');
    await silent.next('deliver');
    await sweepAfter(stub, SILENCE_MS + 1_000);
    expect((await silent.waitClosed()).code).toBe(4003);
    expect((await row(stub, 'telegram:7:1')).session_id).toBeNull();

    const next = await TestTunnel.toRelay(name, 'core-b');
    await next.hello(1, 'core-b');
    expect(await next.next('deliver')).toMatchObject({ message_id: 'telegram:7:1', attempt: 2 });
    next.close();
  });
});

describe('several cores', () => {
  it('spreads conversations, keeps each with its core while it is up, and moves them when it goes', async () => {
    const { name, stub } = freshRelay('delivery');
    const a = await TestTunnel.toRelay(name, 'core-a');
    await a.hello(2, 'core-a');
    const b = await TestTunnel.toRelay(name, 'core-b');
    await b.hello(2, 'core-b');
    for (const chat of [81, 82, 83, 84]) await enqueue(stub, chatMessage(chat, 1));
    const onA = deliveries(await a.barrier());
    const onB = deliveries(await b.barrier());
    expect(onA).toHaveLength(2);
    expect(onB).toHaveLength(2);

    // The next message of a conversation on A goes to A, even with B idle.
    const [first] = onA;
    const chat = Number(first!.split(':')[1]);
    for (const id of onA) await a.ack(id);
    for (const id of onB) await b.ack(id);
    await enqueue(stub, chatMessage(chat, 2));
    expect(deliveries(await a.barrier())).toEqual([`telegram:${chat}:2`]);
    expect(deliveries(await b.barrier())).toEqual([]);

    // A goes away: what it held, and its conversations from now on, go to B.
    a.close();
    await a.waitClosed();
    expect(await b.next('deliver')).toMatchObject({ message_id: `telegram:${chat}:2`, attempt: 2 });
    b.send({ type: 'ack', message_id: `telegram:${chat}:2` });
    await enqueue(stub, chatMessage(chat, 3));
    expect(await b.next('deliver')).toMatchObject({ message_id: `telegram:${chat}:3` });
    b.close();
  });
});

describe('outbound sends', () => {
  it("retries a 429 after Telegram's retry_after, and keeps a conversation's replies in order", async () => {
    const { name, stub } = freshRelay('delivery');
    await failTelegram({ chatId: '91', status: 429, description: 'Too Many Requests: retry after 1', retryAfter: 1 });
    await enqueue(stub, chatMessage(91, 1));
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    await tunnel.next('deliver');
    tunnel.send({ type: 'ack', message_id: 'telegram:91:1', reply: { key: 'reply:telegram:91:1', text: 'one' } });
    await stored(stub, 'reply:telegram:91:1');
    tunnel.send({ type: 'reply', key: 'push:91:2', conversation_id: 'telegram:91', in_reply_to: null, text: 'two' });
    await stored(stub, 'push:91:2');

    const calls = await waitFor(async () => {
      const sent = (await telegramCalls()).filter((c) => c.body.chat_id === '91');
      return sent.length >= 3 ? sent : undefined;
    }, 'the retried reply and the one behind it', 15_000);
    // 429 on "one"; "two" waited behind it; then both, in order.
    expect(calls.map((c) => c.body.text)).toEqual(['one', 'one', 'two']);
    const at = calls.map((c) => c.at);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(1_000);
    tunnel.close();
  });

  it('tells the core once a push is stored, again for a repeat, and sends it once', async () => {
    const { name } = freshRelay('delivery');
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    const push = { type: 'reply', key: 'push:plugin:95-1', conversation_id: 'telegram:95', in_reply_to: null, text: 'reminder' } as const;
    tunnel.send(push);
    expect(await tunnel.next('reply_stored')).toMatchObject({ key: 'push:plugin:95-1' });
    // A core that lost the confirmation (its tunnel dropped) sends it again: confirmed, not resent.
    tunnel.send(push);
    expect(await tunnel.next('reply_stored')).toMatchObject({ key: 'push:plugin:95-1' });
    // Sent, and a resend would be pending until it reached the fake.
    await repliesSettled(tunnel.relay);
    expect((await telegramCalls()).filter((c) => c.body.chat_id === '95').map((c) => c.body.text)).toEqual(['reminder']);
    tunnel.close();
  });

  it('splits a reply over 4,096 characters into messages, in order, only the first threaded', async () => {
    const { name, stub } = freshRelay('delivery');
    await enqueue(stub, chatMessage(93, 1));
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    await tunnel.next('deliver');
    const paragraph = `${'All work and no play makes Jack a dull boy. '.repeat(34).trim()}\n\n`; // ~1,500 chars
    const long = paragraph.repeat(3).trim();
    expect(long.length).toBeGreaterThan(4096);
    tunnel.send({ type: 'ack', message_id: 'telegram:93:1', reply: { key: 'reply:telegram:93:1', text: long } });
    const calls = await waitFor(async () => {
      const sent = (await telegramCalls()).filter((c) => c.body.chat_id === '93');
      return sent.length >= 2 ? sent : undefined;
    }, 'the parts of the long reply');
    const texts = calls.map((c) => String(c.body.text));
    expect(texts.length).toBe(2);
    for (const text of texts) expect(text.length).toBeLessThanOrEqual(4096);
    // Cut between paragraphs, nothing lost.
    expect(texts[0]?.endsWith('boy.')).toBe(true);
    expect(texts.join('\n\n').replace(/\s+/g, ' ')).toBe(long.replace(/\s+/g, ' '));
    expect(calls[0]?.body.reply_parameters).toEqual({ message_id: 1, allow_sending_without_reply: true });
    expect(calls[1]?.body).not.toHaveProperty('reply_parameters');
    tunnel.close();
  });

  it('gives up on a reply Telegram refuses for good, without blocking the next one', async () => {
    const { name, stub } = freshRelay('delivery');
    await failTelegram({ chatId: '92', status: 400, description: 'Bad Request: message text is empty' });
    await enqueue(stub, chatMessage(92, 1));
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    await tunnel.next('deliver');
    tunnel.send({ type: 'reply', key: 'k92-1', conversation_id: 'telegram:92', in_reply_to: null, text: 'refused' });
    await stored(stub, 'k92-1');
    tunnel.send({ type: 'reply', key: 'k92-2', conversation_id: 'telegram:92', in_reply_to: null, text: 'fine' });
    const calls = await waitFor(async () => {
      const sent = (await telegramCalls()).filter((c) => c.body.chat_id === '92');
      return sent.length >= 2 ? sent : undefined;
    }, 'both replies tried');
    expect(calls.map((c) => c.body.text)).toEqual(['refused', 'fine']);
    const failed = await runInDurableObject(stub, (_r, state) =>
      state.storage.sql.exec<{ last_error: string }>("SELECT last_error FROM outbox WHERE key = 'k92-1' AND failed_at IS NOT NULL").toArray(),
    );
    expect(failed).toEqual([{ last_error: 'Bad Request: message text is empty' }]);
    tunnel.close();
  });
});
