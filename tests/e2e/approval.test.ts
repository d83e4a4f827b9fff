import { once } from 'node:events';
import type { DeliverFrame, HistoryItem, Message } from '@hearth/shared';
import {
  ApprovalDesk,
  EchoEngine,
  EXPIRED_NOTE,
  Pipeline,
  TunnelClient,
  answerHistory,
  createLogger,
  loadApprovalConfig,
  loadMemoryConfig,
  openMemory,
  type ReplyOptions,
  type TurnTool,
} from '@hearth/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium, launchChromium } from '../support/chromium.js';
import { Device, issueToken } from '../support/client-api.js';
import { startSystem, textUpdate, type System } from '../support/system.js';

/**
 * The owner's approval end to end over Telegram: the real edge (workerd) and Relay, the fake Bot
 * API, and a core built in this process from the real pipeline, approval desk and tunnel client,
 * with a scripted engine (the tiny test models never call a function, and the core has no engine
 * that does) that calls the `wipe` tool marked for approval. The core works one delivery at a time,
 * as a core with one sequence does, and hands presses to the pipeline at once as `startCore` does:
 * the press can only arrive because the edge delivers it beside the turn that waits for it.
 * The owner is also an API user (`HEARTH_OWNER=telegram:4001,api:approver`): asked in API
 * conversations, seen by API clients and the web chat, pressed with POST /v1/press.
 */
class ScriptedEngine extends EchoEngine {
  override async reply(message: Message, options: ReplyOptions = {}): Promise<string> {
    const wipe = options.tools?.find((tool) => tool.name === 'wipe');
    if (!message.content.text.startsWith('wipe') || !wipe) return super.reply(message, options);
    return JSON.stringify(await wipe.call({ path: 'notes.txt' }));
  }
}

const OWNER = 4001;
const API_OWNER = 'approver';
let system: System;
let tunnel: TunnelClient;
let closeMemory: () => Promise<void>;
const runs: unknown[] = [];
/** Deliveries the core is done with, by message id. */
const handled: string[] = [];

beforeAll(async () => {
  system = await startSystem({ cores: 0 });
  const log = createLogger('silent');
  const memory = await openMemory({ ...loadMemoryConfig({}), databasePath: ':memory:' }, log);
  closeMemory = () => memory.dispose();
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
  const config = { ...loadApprovalConfig({ HEARTH_OWNER: `telegram:${OWNER},api:${API_OWNER}` }), timeoutMs: 60_000 };
  const approvals = new ApprovalDesk({ config, send, log, recordShown: (shown) => memory.apiHistory.show(shown) });
  const plugins = { hasCommand: () => false, runCommand: async () => '', toolsFor: () => [wipe], commandHelp: () => [] };
  const pipeline = new Pipeline({ keySet: system.keySet, engine: new ScriptedEngine(), memory, log, send, plugins, approvals });
  // One sequence: deliveries one after another; a press straight to the pipeline.
  let busy: Promise<void> = Promise.resolve();
  const handle = (frame: DeliverFrame) => pipeline.handle(frame).then(() => void handled.push(frame.message_id));
  const onDeliver = (frame: DeliverFrame) => {
    if (frame.press) return void handle(frame);
    busy = busy.then(() => handle(frame)).catch(() => undefined);
  };
  const onHistory = (frame: Parameters<typeof answerHistory>[0]) => tunnel.send(answerHistory(frame, memory.apiHistory, log));
  tunnel = new TunnelClient({ edgeUrl: system.edge.url, coreId: 'e2e-approval', keySet: system.keySet, credits: 1, heartbeatMs: 5_000, log, onDeliver, onHistory });
  tunnel.on('ready', (session) => pipeline.setAckTimeout(session.ackTimeoutMs));
  const ready = once(tunnel, 'ready');
  tunnel.start();
  await ready;
});
afterAll(async () => {
  await tunnel?.dispose();
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

const api = (token: string, method: string, path: string, body?: unknown) =>
  fetch(`${system.edge.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

describe('a tool marked for approval, from an API client', () => {
  it('shows the question with Run / Skip on the stream and in history; another user’s press runs nothing, the owner’s Run runs it', async () => {
    const [owner, mallory] = [await issueToken(system, API_OWNER), await issueToken(system, 'mallory')];
    const device = await Device.connect(system.edge.url, owner);
    const before = runs.length;
    const sent = await api(owner, 'POST', '/v1/messages', { conversation_id: 'tools', text: 'wipe my notes', client_id: 'wipe-1' });
    expect(sent.status).toBe(202);
    const turn = ((await sent.json()) as { id: string }).id;
    const { item: question } = await device.next('message', (e) => e.item.buttons !== undefined);
    expect(question).toMatchObject({ conversation_id: 'tools', role: 'assistant', text: 'Run the tool wipe?\n{"path":"notes.txt"}', in_reply_to: turn });
    expect(question.buttons?.map((b) => b.label)).toEqual(['Run', 'Skip']);
    const run = question.buttons?.[0]?.data ?? '';

    // A reload while it waits: the history has the message and the question, with its buttons.
    const page = (await (await api(owner, 'GET', '/v1/conversations/tools/messages')).json()) as { data: HistoryItem[] };
    expect(page.data.map((item) => [item.message_id, item.buttons?.map((b) => b.label)])).toEqual([
      [turn, undefined],
      [question.message_id, ['Run', 'Skip']],
    ]);

    // Another API user with the button's data: it lands in their own conversation, and counts for nothing.
    const forged = await api(mallory, 'POST', '/v1/press', { conversation_id: 'tools', data: run });
    expect(forged.status).toBe(202);
    const forgedId = ((await forged.json()) as { id: string }).id;
    await expect.poll(() => handled, { timeout: 30_000 }).toContain(forgedId);
    expect(runs).toHaveLength(before);
    expect(handled).not.toContain(turn);

    const pressed = await api(owner, 'POST', '/v1/press', { conversation_id: 'tools', data: run });
    expect(pressed.status).toBe(202);
    const { item: reply } = await device.next('message', (e) => e.item.message_id === `reply:${turn}`);
    expect(reply.text).toBe('{"wiped":"notes.txt"}');
    expect(runs).toHaveLength(before + 1);
    await device.close();
  });
});

const chromium = await findChromium();

describe.skipIf(!chromium.path)('a tool marked for approval, in the web chat', () => {
  it('shows Run / Skip under the question, runs the tool only after Run, and disables the buttons once pressed', async () => {
    const browser = await launchChromium(chromium.path!);
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(30_000);
      await page.goto(`${system.edge.url}/`);
      await page.getByLabel('Access token').fill(await issueToken(system, API_OWNER));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('#status[data-status="live"]').waitFor();
      await page.getByRole('button', { name: 'New conversation' }).click();
      const before = runs.length;
      await page.getByRole('textbox', { name: 'Message' }).fill('wipe my notes');
      await page.getByRole('button', { name: 'Send' }).click();

      const question = page.locator('.msg[data-role="assistant"]').filter({ hasText: 'Run the tool wipe?' });
      const choices = question.getByRole('group', { name: 'Answer' });
      await choices.getByRole('button', { name: 'Run' }).waitFor();
      expect(await choices.getByRole('button').allTextContents()).toEqual(['Run', 'Skip']);
      expect(runs).toHaveLength(before);

      await choices.getByRole('button', { name: 'Run' }).click();
      await page.locator('.msg[data-role="assistant"][data-state="done"]').filter({ hasText: '{"wiped":"notes.txt"}' }).waitFor();
      expect(runs).toHaveLength(before + 1);
      await expect.poll(() => choices.getByRole('button', { name: 'Run' }).getAttribute('aria-pressed')).toBe('true');
      for (const button of await choices.getByRole('button').all()) expect(await button.isDisabled()).toBe(true);
    } finally {
      await browser.close();
    }
  });
});
