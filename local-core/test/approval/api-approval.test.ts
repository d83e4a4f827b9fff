import { apiConversationId, apiSenderId, type Message } from '@hearth/shared';
import { describe, expect, it } from 'vitest';
import { loadApprovalConfig } from '../../src/approval/config.js';
import { useApprovalRig } from './rig.js';

/**
 * Approval in API conversations: the owner named as an API user (`HEARTH_OWNER=api:ada`) is asked
 * with the same Run / Skip push (clients see it in their history and streams, and press with
 * POST /v1/press, which the edge queues as a message with a `button` entity).
 */
const rig = useApprovalRig();

let sent = 0;
/** A message of API user `user` in their conversation `conversation`: text, or a press of `button`. */
function apiMessage(user: string, conversation: string, text: string, button?: string): Message {
  sent += 1;
  const conversationId = apiConversationId(user, conversation);
  return {
    message_id: `${conversationId}:${button ? 'press' : 'm'}.${sent}`,
    platform: 'api',
    conversation: { id: conversationId, type: 'private' },
    sender: { id: apiSenderId(user) },
    content: { text, attachments: [], entities: button ? [{ type: 'button', offset: 0, length: 0, value: button }] : [] },
    reply_to: null,
    timestamp: Math.floor(Date.now() / 1000),
    timestamp_ms: Date.now(),
  };
}

const apiOwners = () => [...loadApprovalConfig({ HEARTH_OWNER: 'api:ada' }).owners];

describe('the owner as an API user', () => {
  it('is asked in the conversation, sees the question with its buttons in history, and the tool runs only after Run', async () => {
    const conversation = `phone${rig.chat}`;
    const { ask, deliver, replyTo } = rig.setup({ owners: apiOwners() });
    const before = await rig.wipes();
    const { turn, done, question, run } = await ask(apiMessage('ada', conversation, 'wipe my notes'));
    expect(question).toMatchObject({ conversation_id: apiConversationId('ada', conversation), in_reply_to: turn.message_id });
    expect(typeof question.created_at).toBe('number');
    // In history while the turn waits (a client reloading then still finds the buttons).
    const waiting = rig.memory.apiHistory.messages('ada', conversation, null, 50).items;
    expect(waiting).toEqual([
      expect.objectContaining({
        message_id: question.key,
        role: 'assistant',
        text: question.text,
        in_reply_to: turn.message_id,
        created_at: question.created_at,
        buttons: question.buttons?.flat(),
      }),
    ]);
    expect(await rig.wipes()).toBe(before);

    await deliver(apiMessage('ada', conversation, run, run), { press: true });
    await done;
    expect(replyTo(turn.message_id)).toBe('{"wiped":"notes.txt"}');
    expect(await rig.wipes()).toBe(before + 1);
    // The turn, the question, the reply, in cursor order; catch-up across conversations has it too.
    const items = rig.memory.apiHistory.messages('ada', conversation, null, 50).items;
    expect(items.map((item) => [item.role, item.buttons ? 'buttons' : 'plain'])).toEqual([
      ['user', 'plain'],
      ['assistant', 'buttons'],
      ['assistant', 'plain'],
    ]);
    expect(rig.memory.apiHistory.since('ada', null, 200).items.map((item) => item.message_id)).toContain(question.key);
    // Paging stays exact with the two tables merged: one item per page, the same three.
    const paged: string[] = [];
    for (let after: string | null = null, more = true; more; ) {
      const page = rig.memory.apiHistory.messages('ada', conversation, after, 1);
      paged.push(...page.items.map((item) => item.message_id));
      after = page.items.at(-1)?.cursor ?? null;
      more = page.has_more;
    }
    expect(paged).toEqual(items.map((item) => item.message_id));
    // The model never reads the question back as one of its turns.
    const context = await rig.memory.recall(apiConversationId('ada', conversation), 20);
    expect(context.turns.map((t) => t.messageId)).not.toContain(question.key);
    // A reset takes the question with the turns.
    await rig.memory.reset(apiConversationId('ada', conversation));
    expect(rig.memory.apiHistory.messages('ada', conversation, null, 50).items).toEqual([]);
    expect(rig.memory.apiHistory.since('ada', null, 200).items.map((item) => item.message_id)).not.toContain(question.key);
  });

  it('counts no press of another API user, even in a conversation of the same name', async () => {
    const conversation = `phone${rig.chat}`;
    const { ask, deliver, replyTo, ackOf } = rig.setup({ owners: apiOwners() });
    const before = await rig.wipes();
    const { turn, done, run } = await ask(apiMessage('ada', conversation, 'wipe my notes'));
    const bob = apiMessage('bob', conversation, run, run);
    // Forged: bob's sender in ada's conversation (the edge never composes it, the core still refuses it).
    const forged = { ...apiMessage('ada', conversation, run, run), sender: { id: apiSenderId('bob') } };
    await deliver(bob, { press: true });
    await deliver(forged, { press: true });
    expect(ackOf(bob.message_id)).toEqual({ type: 'ack', message_id: bob.message_id });
    expect(ackOf(forged.message_id)).toEqual({ type: 'ack', message_id: forged.message_id });
    expect(replyTo(turn.message_id)).toBeUndefined();
    expect(await rig.wipes()).toBe(before);
    await deliver(apiMessage('ada', conversation, run, run), { press: true });
    await done;
    expect(await rig.wipes()).toBe(before + 1);
  });

  it('is not asked in a completion (its caller reads only the answer): the tool is not offered', async () => {
    const { engine, deliver, questions } = rig.setup({ owners: apiOwners() });
    await deliver(apiMessage('ada', `completion.${rig.chat}`, 'wipe my notes'));
    expect(engine.offered.at(-1)).toEqual([]);
    expect(questions()).toEqual([]);
  });
});
