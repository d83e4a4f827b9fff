import { once } from 'node:events';
import type { DeliverFrame, Message } from '@hearth/shared';
import {
  ApprovalDesk,
  EchoEngine,
  EXPIRED_NOTE,
  Pipeline,
  TunnelClient,
  createLogger,
  loadMemoryConfig,
  openMemory,
  type ReplyOptions,
  type TurnTool,
} from '@hearth/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, textUpdate, type System } from '../support/system.js';

/**
 * The owner's approval end to end over Telegram: the real edge (workerd) and Relay, the fake Bot
 * API, and a core built in this process from the real pipeline, approval desk and tunnel client,
 * with a scripted engine (the tiny test models never call a function, and the core has no engine
 * that does) that calls the `wipe` tool marked for approval. The core works one delivery at a time,
 * as a core with one sequence does, and hands presses to the pipeline at once as `startCore` does:
 * the press can only arrive because the edge delivers it beside the turn that waits for it.
 */
class ScriptedEngine extends EchoEngine {
  override async reply(message: Message, options: ReplyOptions = {}): Promise<string> {
    const wipe = options.tools?.find((tool) => tool.name === 'wipe');
    if (!message.content.text.startsWith('wipe') || !wipe) return super.reply(message, options);
    return JSON.stringify(await wipe.call({ path: 'notes.txt' }));
  }
}

const OWNER = 4001;
let system: System;
let tunnel: TunnelClient;
let closeMemory: () => Promise<void>;
const runs: unknown[] = [];

beforeAll(async () => {
  system = await startSystem({ cores: 0 });
  const log = createLogger('silent');
  const memory = await openMemory({ ...loadMemoryConfig({}), databasePath: ':memory:' }, log);
  closeMemory = () => memory.close();
  const wipe: TurnTool = {
    name: 'wipe',
    description: 'deletes a file',
    parameters: { type: 'object', properties: { path: { type: 'string' } } },
    needsApproval: true,
    call: async (args) => {
      runs.push(args);
      return { wiped: (args as { path: string }).path };
    },
  };
  const send = (frame: Parameters<TunnelClient['send']>[0]) => tunnel.send(frame);
  const approvals = new ApprovalDesk({ config: { timeoutMs: 60_000, owners: new Set([`telegram:${OWNER}`]), always: new Set(), never: new Set() }, send, log });
  const plugins = { hasCommand: () => false, runCommand: async () => '', toolsFor: () => [wipe], commandHelp: () => [] };
  const pipeline = new Pipeline({ keySet: system.keySet, engine: new ScriptedEngine(), memory, log, send, plugins, approvals });
  // One sequence: deliveries one after another; a press straight to the pipeline.
  let busy: Promise<void> = Promise.resolve();
  const onDeliver = (frame: DeliverFrame) => {
    if (frame.press) return void pipeline.handle(frame);
    busy = busy.then(() => pipeline.handle(frame)).catch(() => undefined);
  };
  tunnel = new TunnelClient({ edgeUrl: system.edge.url, coreId: 'e2e-approval', keySet: system.keySet, credits: 1, heartbeatMs: 5_000, log, onDeliver });
  tunnel.on('ready', (session) => pipeline.setAckTimeout(session.ackTimeoutMs));
  const ready = once(tunnel, 'ready');
  tunnel.start();
  await ready;
});
afterAll(async () => {
  await tunnel?.stop();
  await closeMemory?.();
  await system?.stop();
});

const sendsTo = (chatId: number) => system.telegram.callsOf('sendMessage').filter((c) => c.body.chat_id === String(chatId));
let pressId = 0;
const press = (from: number, data: string) => ({
  update_id: 95_000 + ++pressId,
  callback_query: {
    id: `cbq-approval-${pressId}`,
    from: { id: from, is_bot: false, first_name: 'Ada' },
    message: { message_id: 1000, date: Math.floor(Date.now() / 1000), chat: { id: OWNER, type: 'private' } },
    data,
  },
});

describe('a tool marked for approval, over Telegram', () => {
  it('asks the owner with Run / Skip, runs only after Run, and keeps the chat’s messages in order', async () => {
    expect((await system.postUpdate(textUpdate(OWNER, 'wipe my notes'))).status).toBe(200);
    await system.telegram.waitFor(() => sendsTo(OWNER).length > 0, 30_000);
    const [question] = sendsTo(OWNER);
    expect(question?.body.text).toBe('Run the tool wipe?\n{"path":"notes.txt"}');
    const markup = question?.body.reply_markup as { inline_keyboard: { text: string; callback_data: string }[][] } | undefined;
    const keyboard = markup?.inline_keyboard ?? [];
    expect(keyboard[0]?.map((button) => button.text)).toEqual(['Run', 'Skip']);
    const run = keyboard[0]?.[0]?.callback_data ?? '';
    expect(runs).toEqual([]);

    // The chat goes on meanwhile: this waits behind the turn, and is answered after it.
    expect((await system.postUpdate(textUpdate(OWNER, 'and then?'))).status).toBe(200);
    // Someone else's press of the owner's button counts for nothing.
    expect((await system.postUpdate(press(4999, run))).status).toBe(200);
    await system.telegram.waitFor(() => system.telegram.callsOf('answerCallbackQuery').some((c) => c.body.callback_query_id === `cbq-approval-${pressId}`), 15_000);
    expect(runs).toEqual([]);

    expect((await system.postUpdate(press(OWNER, run))).status).toBe(200);
    await system.telegram.waitFor(() => sendsTo(OWNER).length >= 3, 30_000);
    expect(sendsTo(OWNER).map((call) => call.body.text)).toEqual(['Run the tool wipe?\n{"path":"notes.txt"}', '{"wiped":"notes.txt"}', 'and then?']);
    expect(runs).toEqual([{ path: 'notes.txt' }]);

    // Pressed again: the question is over.
    expect((await system.postUpdate(press(OWNER, run))).status).toBe(200);
    await system.telegram.waitFor(() => sendsTo(OWNER).length >= 4, 30_000);
    expect(sendsTo(OWNER).at(-1)?.body.text).toBe(EXPIRED_NOTE);
    expect(runs).toHaveLength(1);
  });
});
