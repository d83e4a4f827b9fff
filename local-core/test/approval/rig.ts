import { generateCoreKeySet, publicKeySet, seal, type CoreFrameBody, type CoreKeySet, type Message, type ReplyFrame } from '@hearth/shared';
import { afterAll, beforeAll, expect, vi } from 'vitest';
import type { ApprovalConfig } from '../../src/approval/config.js';
import { ApprovalDesk } from '../../src/approval/desk.js';
import { EchoEngine, type ReplyOptions } from '../../src/inference/engine.js';
import { loadMemoryConfig } from '../../src/memory/config.js';
import type { Memory } from '../../src/memory/memory.js';
import { openMemory } from '../../src/memory/open-memory.js';
import { Pipeline } from '../../src/pipeline.js';
import { manifest, messageIn, openRegistry } from '../plugins/support.js';
import { capturingLogger, silentLogger } from '../support.js';

/**
 * The owner's approval at the engine boundary: a scripted engine calls the `wipe` tool of a real
 * plugin (its manifest says `"approval": true`) the way node-llama-cpp would, through the handler
 * the pipeline offers, and answers with what the call returned. The plugin counts its real runs.
 */
export class ScriptedEngine extends EchoEngine {
  offered: string[][] = [];
  override async reply(message: Message, options: ReplyOptions = {}): Promise<string> {
    this.offered.push((options.tools ?? []).map((tool) => tool.name));
    const wipe = options.tools?.find((tool) => tool.name === 'wipe');
    if (!message.content.text.startsWith('wipe') || !wipe) return super.reply(message, options);
    return JSON.stringify(await wipe.call({ path: 'notes.txt' }));
  }
}

const DANGER = `
export default {
  commands: { wipes: async (_args, ctx) => String((await ctx.data.get('wipes')) ?? 0) },
  tools: { wipe: async (args, ctx) => { await ctx.data.put('wipes', ((await ctx.data.get('wipes')) ?? 0) + 1); return { wiped: args.path }; } },
};
`;
const WIPE_TOOL = {
  name: 'wipe',
  description: 'deletes a file',
  parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'], additionalProperties: false },
  approval: true,
};

export interface RigOptions {
  owners?: string[];
  timeoutMs?: number;
  generationTimeoutMs?: number;
}

/**
 * A real plugin registry and in-memory history for the file's tests (opened before them, closed
 * after), and `setup()`: a pipeline with an approval desk for a fresh Telegram chat.
 */
export function useApprovalRig() {
  let keys: CoreKeySet;
  let memory: Memory;
  let system: Awaited<ReturnType<typeof openRegistry>>;
  beforeAll(async () => {
    keys = await generateCoreKeySet();
    memory = await openMemory({ ...loadMemoryConfig({}), databasePath: ':memory:' }, silentLogger());
    system = await openRegistry([
      { name: 'danger', manifest: manifest('danger', { commands: [{ name: 'wipes', description: 'how many wipes ran' }], tools: [WIPE_TOOL], permissions: { data: true } }), handler: DANGER },
    ]);
  }, 30_000);
  afterAll(async () => {
    await system?.close();
    await memory?.dispose();
  });

  let chat = 5_000;
  const wipes = async () => Number(await system.registry.runCommand('wipes', '', messageIn(1, '/wipes')));

  function setup({ owners, timeoutMs = 30_000, generationTimeoutMs }: RigOptions = {}) {
    chat += 1;
    const id = chat;
    const engine = new ScriptedEngine();
    const sent: CoreFrameBody[] = [];
    const send = (frame: CoreFrameBody) => sent.push(frame) > 0;
    const config: ApprovalConfig = { timeoutMs, owners: new Set(owners ?? [`telegram:${id}`]), always: new Set(), never: new Set() };
    const { log, lines } = capturingLogger('info');
    const approvals = new ApprovalDesk({ config, send, log, recordShown: (shown) => memory.apiHistory.show(shown) });
    const pipeline = new Pipeline({ keySet: keys, engine, memory, log, plugins: system.registry, approvals, send, ...(generationTimeoutMs ? { generationTimeoutMs } : {}) });
    const deliver = async (message: Message, extra: { press?: true } = {}) => {
      const sealed = await seal(JSON.stringify(message), publicKeySet(keys));
      await pipeline.handle({ v: 1, type: 'deliver', message_id: message.message_id, conversation_id: message.conversation.id, attempt: 1, sealed, ...extra });
    };
    const ackOf = (messageId: string) => sent.find((frame) => frame.type === 'ack' && frame.message_id === messageId);
    const replyTo = (messageId: string) => {
      const ack = ackOf(messageId);
      return ack?.type === 'ack' ? ack.reply?.text : undefined;
    };
    const questions = () => sent.filter((frame): frame is Omit<ReplyFrame, 'v'> => frame.type === 'reply');
    /** Sends the turn (a Telegram message saying `text`, or `turn`), and resolves with the question it asks once it is pushed. */
    const ask = async (turn: Message | string = 'wipe my notes') => {
      const message = typeof turn === 'string' ? messageIn(id, turn) : turn;
      const done = deliver(message);
      await vi.waitFor(() => expect(questions()).toHaveLength(1));
      const question = questions()[0] as Omit<ReplyFrame, 'v'>;
      const [run, skip] = (question.buttons?.[0] ?? []).map((button) => button.data);
      return { turn: message, done, question, run: run ?? '', skip: skip ?? '' };
    };
    return { id, engine, sent, lines, pipeline, deliver, ackOf, replyTo, questions, ask };
  }

  return {
    setup,
    wipes,
    get chat() {
      return chat;
    },
    get memory() {
      return memory;
    },
    get keys() {
      return keys;
    },
    get registry() {
      return system.registry;
    },
  };
}
