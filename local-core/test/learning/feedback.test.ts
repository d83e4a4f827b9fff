import { ReplyButtonsSchema, replyKeyFor } from '@hearth/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EchoEngine } from '../../src/inference/engine.js';
import { tempDir } from '../support.js';
import { chat, delivery, learningCore, press, type LearningCore } from './support.js';

let dir: { dir: string; cleanup: () => Promise<void> };
let core: LearningCore;
let echo: EchoEngine;
let generations: ReturnType<typeof vi.spyOn>;
beforeEach(async () => {
  dir = await tempDir();
  echo = new EchoEngine();
  generations = vi.spyOn(echo, 'reply');
  core = await learningCore(dir.dir, { load: async () => echo });
});
afterEach(async () => {
  await core.close();
  await dir.cleanup();
});

const buttonsOf = (c: LearningCore, messageId: string) => {
  const ack = c.ackOf(messageId);
  return ack?.reply?.buttons;
};

describe('feedback on model replies', () => {
  it('puts 👍/👎 under a model reply, records a press with the reply it rates, without the model, acked with no reply', async () => {
    const question = chat('telegram', 'telegram:9', 'telegram:9:1', 'tell me a story');
    await core.pipeline.handle(await delivery(question));
    const buttons = buttonsOf(core, question.message_id);
    expect(ReplyButtonsSchema.parse(buttons)).toHaveLength(1);
    expect(buttons?.[0]?.map((b) => b.label)).toEqual(['👍', '👎']);
    const down = buttons?.[0]?.[1]?.data ?? '';
    expect(down).toMatch(/^fb:d:[A-Za-z0-9_-]{16}$/);
    expect(generations).toHaveBeenCalledTimes(1);

    await core.pipeline.handle(await delivery(press(question, 'telegram:9:cb:555', down)));
    expect(core.ackOf('telegram:9:cb:555')).toEqual({ type: 'ack', message_id: 'telegram:9:cb:555' });
    expect(generations).toHaveBeenCalledTimes(1);
    const replyKey = replyKeyFor(question.message_id);
    expect(core.memory.feedbackFor(replyKey)).toMatchObject([{ userId: 'telegram:9', rating: 'down' }]);
    expect(core.store.reply(replyKey)).toMatchObject({ variant: 'default', conversationId: 'telegram:9', kind: 'chat' });

    // Changing one's mind replaces the rating; the press is no turn of the conversation.
    const up = buttons?.[0]?.[0]?.data ?? '';
    await core.pipeline.handle(await delivery(press(question, 'telegram:9:cb:556', up)));
    expect(core.memory.feedbackFor(replyKey)).toMatchObject([{ userId: 'telegram:9', rating: 'up' }]);
    const { turns } = await core.memory.recall('telegram:9');
    expect(turns.map((t) => t.text)).toEqual(['tell me a story', 'tell me a story']);
  });

  it('ignores a press naming a reply of another conversation, or one it does not know (still no model, no reply)', async () => {
    const mine = chat('telegram', 'telegram:9', 'telegram:9:1', 'hello');
    await core.pipeline.handle(await delivery(mine));
    const up = buttonsOf(core, mine.message_id)?.[0]?.[0]?.data ?? '';
    const stranger = chat('telegram', 'telegram:77', 'telegram:77:1', 'x');
    await core.pipeline.handle(await delivery(press(stranger, 'telegram:77:cb:1', up)));
    await core.pipeline.handle(await delivery(press(stranger, 'telegram:77:cb:2', 'fb:u:AAAAAAAAAAAAAAAA')));
    expect(core.ackOf('telegram:77:cb:1')?.reply).toBeUndefined();
    expect(core.ackOf('telegram:77:cb:2')?.reply).toBeUndefined();
    expect(core.memory.feedbackFor(replyKeyFor(mine.message_id))).toEqual([]);
    expect(generations).toHaveBeenCalledTimes(1);
  });

  it('keeps button data within 64 bytes for long WhatsApp ids, and gives no buttons to commands or API replies', async () => {
    const wamid = `whatsapp:wamid.${'HBgLMTU1NTEyMzQ1NjcVAgASGBQzQUVCNTU3OEI4QTdBMjE0RkUzMQA'.repeat(3)}=`;
    const whatsapp = chat('whatsapp', 'whatsapp:15551234567', wamid, 'hi');
    await core.pipeline.handle(await delivery(whatsapp));
    const buttons = ReplyButtonsSchema.parse(buttonsOf(core, wamid));
    for (const button of buttons.flat()) expect(new TextEncoder().encode(button.data).byteLength).toBeLessThanOrEqual(64);

    const help = chat('telegram', 'telegram:9', 'telegram:9:2', '/help');
    await core.pipeline.handle(await delivery(help));
    expect(core.ackOf(help.message_id)?.reply?.text).toBeTruthy();
    expect(buttonsOf(core, help.message_id)).toBeUndefined();

    const api = chat('api', 'api:ada:c-1', 'api:ada:c-1:m-1', 'hello', 'api:ada');
    await core.pipeline.handle(await delivery(api));
    expect(core.ackOf(api.message_id)?.reply?.text).toBe('hello');
    expect(buttonsOf(core, api.message_id)).toBeUndefined();
  });

  it('records an API client’s rating (POST /v1/feedback: the reply id itself) for a reply in its conversation', async () => {
    const api = chat('api', 'api:ada:c-1', 'api:ada:c-1:m-1', 'hello', 'api:ada');
    await core.pipeline.handle(await delivery(api));
    const replyKey = replyKeyFor(api.message_id);
    const rating = { ...press(api, 'api:ada:c-1:feedback.f-1', `fb:u:${replyKey}`), reply_to: replyKey };
    await core.pipeline.handle(await delivery(rating));
    expect(core.ackOf(rating.message_id)).toEqual({ type: 'ack', message_id: rating.message_id });
    expect(core.memory.feedbackFor(replyKey)).toMatchObject([{ userId: 'api:ada', rating: 'up' }]);
  });

  it('gives a redelivery after a restart the same buttons, answered from disk', async () => {
    const question = chat('telegram', 'telegram:9', 'telegram:9:1', 'again');
    await core.pipeline.handle(await delivery(question));
    const before = buttonsOf(core, question.message_id);
    const latency = core.store.reply(replyKeyFor(question.message_id))?.latencyMs;
    expect(latency).toBeGreaterThanOrEqual(0);
    await core.close();

    core = await learningCore(dir.dir, { load: async () => echo });
    await core.pipeline.handle(await delivery(question, 2));
    expect(buttonsOf(core, question.message_id)).toEqual(before);
    expect(generations).toHaveBeenCalledTimes(1);
    expect(core.store.reply(replyKeyFor(question.message_id))?.latencyMs).toBe(latency);
  });
});
