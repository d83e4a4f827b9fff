import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { pairingSourceOf } from '../../src/access/admission.js';
import { normalizeTelegramUpdate } from '../../src/platforms/telegram/normalize.js';
import { TelegramUpdateSchema } from '../../src/platforms/telegram/schema.js';
import { relayFor } from '../../src/relay/stub.js';
import { postWebhook, textUpdate, waitFor } from '../helpers.js';
import { accessCommand, ownerTunnel, pairingNotices, waitForPairingNotice, whereIs } from './access-helpers.js';

let nextId = 0;
/** A message addressed to the bot (a command) in a group, from one of its members. */
const groupUpdate = (chat: number, member: number, text = '/ask hi') => ({
  update_id: 9_720_000 + ++nextId,
  message: {
    message_id: 9_720_000 + nextId,
    date: 1_764_000_000,
    chat: { id: chat, type: 'supergroup', title: 'Crowd' },
    from: { id: member, is_bot: false, first_name: `Member ${member}` },
    text,
    entities: [{ type: 'bot_command', offset: 0, length: 4 }],
  },
});

/** A post in a channel: no `from`, the channel itself speaks (one account can make many). */
const channelPost = (chat: number) => ({
  update_id: 9_720_000 + ++nextId,
  channel_post: {
    message_id: 9_720_000 + nextId,
    date: 1_764_000_000,
    chat: { id: chat, type: 'channel', title: `Channel ${chat}` },
    text: '/ask let me in',
    entities: [{ type: 'bot_command', offset: 0, length: 4 }],
  },
});

/** The owner's `hearth pair list`: codes waiting, and what was turned away per reason. */
async function listed() {
  const owner = await ownerTunnel();
  try {
    return await accessCommand(owner, { action: 'list' });
  } finally {
    owner.close();
  }
}
const refused = async (reason: string) => (await listed()).refusals?.find((r) => r.reason === reason)?.count ?? 0;

// HEARTH_PAIRING_MAX_PENDING is 3 (vitest.config.ts). Its own file: its own Relay storage, which
// the tests share, so each starts with no code waiting (the refusal counts only grow).
beforeEach(() =>
  runInDurableObject(relayFor(env), (_relay, state) => {
    state.storage.sql.exec('DELETE FROM pairing_codes');
  }),
);

describe('pending pairing codes', () => {
  it('are one per group: its other members get none, so one crowd cannot take the cap from a newcomer', async () => {
    const group = -1007201;
    const before = await refused('source_pending');
    await postWebhook(groupUpdate(group, 7211));
    await waitForPairingNotice(group);
    const others = [7212, 7213, 7214, 7215].map((member) => groupUpdate(group, member));
    for (const update of others) expect(await (await postWebhook(update)).json()).toMatchObject({ stored: 0, withheld: 1 });
    for (const update of others) expect(await whereIs(`telegram:${group}:${update.message.message_id}`)).toBe('nowhere');
    expect((await listed()).pending?.map((p) => p.sender)).toEqual(['telegram:7211']);

    // Two codes of the cap's three are still free: a stranger elsewhere gets one.
    await postWebhook(textUpdate(7216, 'hello'));
    await waitForPairingNotice(7216);
    expect(await pairingNotices(group)).toHaveLength(1);
    expect(await refused('source_pending')).toBe(before + others.length);
  });

  it("evict the oldest when the cap is full: an attacker's channels cannot shut a newcomer out", async () => {
    const before = await refused('evicted');
    const channels = [-1007221, -1007222, -1007223];
    for (const channel of channels) {
      await postWebhook(channelPost(channel));
      await waitForPairingNotice(channel);
    }
    const newcomer = textUpdate(7224, 'hi, may I?');
    expect(await (await postWebhook(newcomer)).json()).toMatchObject({ stored: 0, withheld: 1 });
    const { code } = await waitForPairingNotice(7224);
    expect(await whereIs(`telegram:7224:${newcomer.message.message_id}`)).toBe('held');

    // The first channel's code went, with the message it held; the others and the newcomer's wait.
    const after = await listed();
    expect(after.pending?.map((p) => p.sender)).toEqual([`telegram:${channels[1]}`, `telegram:${channels[2]}`, 'telegram:7224']);
    expect(after.refusals).toContainEqual({ reason: 'evicted', count: before + 1, since: expect.any(Number), last_at: expect.any(Number) });

    // Churning the cap is counted: each new source evicts one more, and the owner sees it.
    await postWebhook(channelPost(-1007225));
    await waitForPairingNotice(-1007225);
    await waitFor(async () => ((await refused('evicted')) === before + 2 ? true : undefined), 'a second eviction counted');

    const owner = await ownerTunnel();
    expect(await accessCommand(owner, { action: 'approve', code })).toMatchObject({ ok: true, approved: { sender: 'telegram:7224', released: true } });
    owner.close();
  });
});

describe('the source a pairing code is charged to', () => {
  const sourceOf = (update: unknown) => {
    const normalized = normalizeTelegramUpdate(TelegramUpdateSchema.parse(update));
    if (normalized.kind !== 'message') throw new Error(normalized.reason);
    return pairingSourceOf(normalized.message);
  };

  it('is the group or channel chat on Telegram, whoever asks in it, and the sender in a private chat', () => {
    expect(sourceOf(groupUpdate(-1007231, 7232))).toBe('telegram:-1007231');
    expect(sourceOf(groupUpdate(-1007231, 7233))).toBe('telegram:-1007231');
    expect(sourceOf(channelPost(-1007234))).toBe('telegram:-1007234');
    expect(sourceOf(textUpdate(7235, 'hi'))).toBe('telegram:7235');
  });

  it('is the sender on WhatsApp', () => {
    expect(pairingSourceOf({ conversation: { id: 'whatsapp:15551230000', type: 'private' }, sender: { id: 'whatsapp:15551230000' } })).toBe(
      'whatsapp:15551230000',
    );
  });
});
