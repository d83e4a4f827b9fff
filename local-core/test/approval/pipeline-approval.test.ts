import { approvalOf, type Message } from '@hearth/shared';
import { describe, expect, it } from 'vitest';
import { ApprovalDesk, EXPIRED_NOTE, NOT_RUN } from '../../src/approval/desk.js';
import type { TurnTool } from '../../src/inference/engine.js';
import { Pipeline, TIMED_OUT_NOTE } from '../../src/pipeline.js';
import { messageIn } from '../plugins/support.js';
import { silentLogger } from '../support.js';
import { ScriptedEngine, useApprovalRig } from './rig.js';

const rig = useApprovalRig();
const { setup, wipes } = rig;

let presses = 0;
/** A press of a button in `chat`, by `sender` (the chat's own user unless said). */
function press(data: string, chatId: number, sender = `telegram:${chatId}`): Message {
  presses += 1;
  return {
    message_id: `telegram:${chatId}:cb:${presses}`,
    platform: 'telegram',
    conversation: { id: `telegram:${chatId}`, type: 'private' },
    sender: { id: sender },
    content: { text: data, attachments: [], entities: [{ type: 'button', offset: 0, length: 0, value: data }] },
    reply_to: null,
    timestamp: 1,
  };
}

describe('a tool that needs approval, asked of the owner', () => {
  it('pushes the question to the conversation with Run / Skip, and runs the call once after Run', async () => {
    const { id, ask, deliver, replyTo, ackOf, lines } = setup();
    const before = await wipes();
    const { turn, done, question, run, skip } = await ask();
    expect(question).toMatchObject({ conversation_id: `telegram:${id}`, in_reply_to: turn.message_id, text: 'Run the tool wipe?\n{"path":"notes.txt"}' });
    expect(question.buttons?.[0]?.map((button) => button.label)).toEqual(['Run', 'Skip']);
    // Random ids, one per question, the same in both buttons.
    expect(approvalOf(press(run, id))).toMatchObject({ decision: 'run' });
    expect(approvalOf(press(skip, id))?.id).toBe(approvalOf(press(run, id))?.id);
    expect(await wipes()).toBe(before);

    const pressed = press(run, id);
    await deliver(pressed, { press: true });
    await done;
    expect(replyTo(turn.message_id)).toBe('{"wiped":"notes.txt"}');
    expect(await wipes()).toBe(before + 1);
    // The press is consumed: acked with nothing to say, never answered by the model.
    expect(ackOf(pressed.message_id)).toEqual({ type: 'ack', message_id: pressed.message_id });
    const decision = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'tool approval');
    expect(decision).toMatchObject({ tool: 'wipe', decision: 'run', approver: `telegram:${id}` });
    expect(typeof decision?.ms).toBe('number');
    expect(lines.join('\n')).not.toContain('notes.txt');
  });

  it('does not run it on Skip: the model is told the owner declined', async () => {
    const { id, ask, deliver, replyTo } = setup();
    const before = await wipes();
    const { turn, done, skip } = await ask();
    await deliver(press(skip, id), { press: true });
    await done;
    expect(JSON.parse(replyTo(turn.message_id) ?? '')).toEqual({ error: NOT_RUN.skip });
    expect(await wipes()).toBe(before);
  });

  it('does not run it when the owner does not answer in time; a press after that is told it expired', async () => {
    const { id, ask, deliver, replyTo } = setup({ timeoutMs: 150 });
    const before = await wipes();
    const { turn, done, run } = await ask();
    await done;
    expect(JSON.parse(replyTo(turn.message_id) ?? '')).toEqual({ error: NOT_RUN.timeout });
    const late = press(run, id);
    await deliver(late, { press: true });
    expect(replyTo(late.message_id)).toBe(EXPIRED_NOTE);
    expect(await wipes()).toBe(before);
  });

  it('counts no press but the owner’s, in the conversation that asked', async () => {
    const { id, ask, deliver, replyTo, ackOf } = setup();
    const before = await wipes();
    const { turn, done, run } = await ask();
    const stranger = press(run, id, 'telegram:999');
    const elsewhere = press(run, id + 100_000, `telegram:${id}`);
    await deliver(stranger, { press: true });
    await deliver(elsewhere, { press: true });
    // Ignored, and not told anything about the question.
    expect(ackOf(stranger.message_id)).toEqual({ type: 'ack', message_id: stranger.message_id });
    expect(ackOf(elsewhere.message_id)).toEqual({ type: 'ack', message_id: elsewhere.message_id });
    expect(replyTo(turn.message_id)).toBeUndefined();
    expect(await wipes()).toBe(before);
    // The question is still open for the owner.
    await deliver(press(run, id), { press: true });
    await done;
    expect(replyTo(turn.message_id)).toBe('{"wiped":"notes.txt"}');
    expect(await wipes()).toBe(before + 1);
  });

  it('takes each question once: a replayed press and a second press run nothing more', async () => {
    const { id, ask, deliver, replyTo, sent } = setup();
    const before = await wipes();
    const { done, run } = await ask();
    const pressed = press(run, id);
    await deliver(pressed, { press: true });
    await done;
    // The Relay redelivers the same press (its ack was lost): answered as before.
    await deliver(pressed, { press: true });
    expect(sent.filter((frame) => frame.type === 'ack' && frame.message_id === pressed.message_id)).toEqual([
      { type: 'ack', message_id: pressed.message_id },
      { type: 'ack', message_id: pressed.message_id },
    ]);
    // Run pressed again later: the question is over.
    const again = press(run, id);
    await deliver(again, { press: true });
    expect(replyTo(again.message_id)).toBe(EXPIRED_NOTE);
    expect(await wipes()).toBe(before + 1);
  });

  it('holds the generation time limit while it waits: the decision is not lost to it', async () => {
    const { ask, replyTo } = setup({ timeoutMs: 400, generationTimeoutMs: 100 });
    const { turn, done } = await ask();
    await done;
    // Without the hold, the 100 ms limit would end the wait first ("stopped") and cut the reply.
    const reply = replyTo(turn.message_id) ?? '';
    expect(reply).not.toContain(TIMED_OUT_NOTE);
    expect(JSON.parse(reply)).toEqual({ error: NOT_RUN.timeout });
  });

  it('ends the wait on /stop without running the call', async () => {
    const { ask, pipeline, replyTo } = setup();
    const before = await wipes();
    const { turn, done } = await ask();
    pipeline.cancel(turn.message_id);
    await done;
    expect(replyTo(turn.message_id)).toContain(NOT_RUN.stopped);
    expect(await wipes()).toBe(before);
  });
});

describe('who is asked', () => {
  it('never offers the tool in a turn whose sender is not the owner, and asks nothing', async () => {
    const { engine, deliver, questions, replyTo } = setup({ owners: ['telegram:1'] });
    const turn = messageIn(rig.chat, 'wipe my notes');
    await deliver(turn);
    expect(engine.offered.at(-1)).toEqual([]);
    expect(questions()).toEqual([]);
    expect(replyTo(turn.message_id)).toBe('wipe my notes');
  });

  it('offers it nowhere without buttons (an MQTT device), even to the owner', async () => {
    const { id, engine, deliver, questions } = setup();
    const turn = { ...messageIn(id, 'wipe my notes'), platform: 'mqtt' as const };
    await deliver(turn);
    expect(engine.offered.at(-1)).toEqual([]);
    expect(questions()).toEqual([]);
  });

  it('offers no tool needing approval when the pipeline has no approvals at all', async () => {
    const engine = new ScriptedEngine();
    const pipeline = new Pipeline({ keySet: rig.keys, engine, memory: rig.memory, log: silentLogger(), plugins: rig.registry, send: () => true });
    await pipeline.replyTo(messageIn(rig.chat, 'wipe my notes'));
    expect(engine.offered.at(-1)).toEqual([]);
  });
});

describe('the owner’s settings', () => {
  const tool = (name: string, needsApproval?: boolean): TurnTool => ({ name, description: name, parameters: { type: 'object' }, ...(needsApproval ? { needsApproval } : {}), call: async () => 'ran' });
  const desk = (always: string[], never: string[]) =>
    new ApprovalDesk({ config: { timeoutMs: 1_000, owners: new Set(), always: new Set(always), never: new Set(never) }, send: () => true, log: silentLogger() });

  it('HEARTH_APPROVE_TOOLS makes a tool ask, HEARTH_APPROVE_NEVER makes one run unasked (here: left out or kept for a non-owner)', () => {
    const offered = desk(['read_mail'], ['wipe']).guard([tool('read_mail'), tool('wipe', true), tool('clock')], messageIn(7, 'hi'), () => undefined);
    expect(offered.map((t) => t.name)).toEqual(['wipe', 'clock']);
  });
});
