import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { EchoEngine, NOT_RUN, createLogger, loadCoreConfig, namespaceSupport, startCore, type ReplyOptions, type RunningCore } from '@hearth/core';
import type { Message } from '@hearth/shared';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NODE_MODULES, NOTES_SERVER, recordedCalls, startCalendarServer } from '../support/mcp-servers.js';
import { startSystem, textUpdate, type System } from '../support/system.js';

/**
 * MCP tools in a Telegram conversation, end to end: the real edge (workerd) and Relay, the fake
 * Bot API, and the real core (`startCore`, in this process) with the shipped weather plugin and
 * an mcp.json naming two servers written with the official SDK: `notes` over stdio, sandboxed
 * by bubblewrap as by default, and `calendar` over streamable HTTP on loopback (granted `lan`).
 * Only the engine is scripted (the tiny test models never call a function, and the core has no
 * engine that does): it calls the tool a message names, `call TOOL {args}`, as a model would.
 */
class ToolCallingEngine extends EchoEngine {
  /** The tool names offered to the model, by the message's text. */
  readonly offered = new Map<string, string[]>();
  override async reply(message: Message, options: ReplyOptions = {}): Promise<string> {
    const { text } = message.content;
    this.offered.set(text, (options.tools ?? []).map((tool) => tool.name));
    const named = /^call (\w+) (\{.*\})$/.exec(text);
    if (!named?.[1] || !named[2]) return super.reply(message, options);
    const tool = options.tools?.find((offered) => offered.name === named[1]);
    if (!tool) return `${named[1]} is not offered`;
    return `${named[1]} said: ${JSON.stringify(await tool.call(JSON.parse(named[2])))}`;
  }
}

const OWNER = 5101;
const OTHER_OWNER_CHAT = 5102;
const STRANGER = 5999;
const sandbox = namespaceSupport();
const why = sandbox.ok ? '' : ` (skipped: ${sandbox.reason}; the stdio server runs only sandboxed)`;

describe.skipIf(!sandbox.ok)(`MCP servers' tools in a Telegram conversation${why}`, () => {
  let system: System;
  let core: RunningCore;
  let dir: string;
  let callsFile: string;
  let calendar: Awaited<ReturnType<typeof startCalendarServer>>;
  const engine = new ToolCallingEngine();
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-e2e-mcp-'));
    callsFile = join(dir, 'calls', 'calls.jsonl');
    await mkdir(dirname(callsFile));
    calendar = await startCalendarServer();
    const mcpFile = join(dir, 'mcp.json');
    await writeFile(
      mcpFile,
      JSON.stringify({
        mcpServers: {
          notes: {
            command: process.execPath,
            args: [NOTES_SERVER],
            env: { CALLS_FILE: callsFile },
            folders: [dirname(NOTES_SERVER), NODE_MODULES, { path: dirname(callsFile), writable: true }],
          },
          calendar: { url: calendar.url, lan: true },
        },
      }),
    );
    const pluginsDir = join(dir, 'plugins');
    await cp(resolve(import.meta.dirname, '../../plugins/weather'), join(pluginsDir, 'weather'), { recursive: true });
    system = await startSystem({ cores: 0 });
    const config = loadCoreConfig({
      HEARTH_EDGE_URL: system.edge.url,
      HEARTH_KEY_FILE: system.keyFile,
      HEARTH_CORE_ID: 'e2e-mcp-core',
      HEARTH_DATA_DIR: join(dir, 'core'),
      HEARTH_ENGINE: 'echo',
      HEARTH_ADMIN_PORT: '0',
      HEARTH_RECALL: 'off',
      HEARTH_PLUGINS_DIR: pluginsDir,
      HEARTH_MCP_CONFIG: mcpFile,
      HEARTH_OWNER: `telegram:${OWNER},telegram:${OTHER_OWNER_CHAT}`,
    });
    const log = createLogger('info', 'e2e-mcp-core', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    core = await startCore(config, log, { loadEngine: async () => engine });
    const connected = () => lines.filter((line) => line.msg === 'MCP server connected').map((line) => line.server);
    await vi.waitFor(() => expect(connected().sort()).toEqual(['calendar', 'notes']), { timeout: 30_000, interval: 50 });
    await vi.waitFor(() => expect(lines.some((line) => line.msg === 'tunnel connected')).toBe(true), { timeout: 30_000, interval: 50 });
  });
  afterAll(async () => {
    await core?.dispose();
    await system?.stop();
    await calendar?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const sendsTo = (chatId: number) => system.telegram.callsOf('sendMessage').filter((c) => c.body.chat_id === String(chatId));
  const textsTo = (chatId: number) => sendsTo(chatId).map((call) => call.body.text);
  let pressId = 0;
  const press = (from: number, chatId: number, data: string) => ({
    update_id: 96_000 + ++pressId,
    callback_query: {
      id: `cbq-mcp-${pressId}`,
      from: { id: from, is_bot: false, first_name: 'Ada' },
      message: { message_id: 2000 + pressId, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: 'private' } },
      data,
    },
  });
  /** The question's buttons: labels, and the data of each. */
  const buttonsOf = (call: { body: Record<string, unknown> } | undefined) => {
    const markup = call?.body.reply_markup as { inline_keyboard: { text: string; callback_data: string }[][] } | undefined;
    return markup?.inline_keyboard[0] ?? [];
  };
  /** Asks the owner's question in `chatId` and returns its Run and Skip data. */
  const askDeletion = async (chatId: number, note: string) => {
    expect((await system.postUpdate(textUpdate(chatId, `call notes__delete_note {"name":"${note}"}`))).status).toBe(200);
    await system.telegram.waitFor(() => sendsTo(chatId).length > 0, 30_000);
    const [question] = sendsTo(chatId);
    expect(question?.body.text).toBe(`Run the tool notes__delete_note?\n{"name":"${note}"}`);
    const buttons = buttonsOf(question);
    expect(buttons.map((button) => button.text)).toEqual(['Run', 'Skip']);
    return { run: buttons[0]?.callback_data ?? '', skip: buttons[1]?.callback_data ?? '' };
  };

  it('calls the stdio server’s read-only tool with the model’s arguments, offered beside the plugin’s tool, and the result reaches the chat', async () => {
    const text = 'call notes__read_note {"name":"groceries"}';
    expect((await system.postUpdate(textUpdate(5001, text))).status).toBe(200);
    await system.telegram.waitFor(() => sendsTo(5001).length > 0, 30_000);
    expect(textsTo(5001)).toEqual(['notes__read_note said: "groceries: milk, eggs"']);
    expect(await recordedCalls(callsFile)).toEqual([{ tool: 'read_note', args: { name: 'groceries' } }]);
    // Not the owner: the destructive tool is not offered to this turn. The memory tools come first, then the plugin's, then the servers' by name.
    expect(engine.offered.get(text)).toEqual(['remember', 'forget', 'get_weather', 'calendar__next_event', 'notes__read_note']);
  });

  it('calls the HTTP server’s tool likewise', async () => {
    expect((await system.postUpdate(textUpdate(5002, 'call calendar__next_event {"day":"Friday"}'))).status).toBe(200);
    await system.telegram.waitFor(() => sendsTo(5002).length > 0, 30_000);
    expect(textsTo(5002)).toEqual(['calendar__next_event said: "dentist at 10:00 on Friday"']);
    expect(calendar.calls).toEqual([{ tool: 'next_event', args: { day: 'Friday' } }]);
  });

  it('never offers the destructive tool to someone who is not the owner', async () => {
    expect((await system.postUpdate(textUpdate(5003, 'call notes__delete_note {"name":"groceries"}'))).status).toBe(200);
    await system.telegram.waitFor(() => sendsTo(5003).length > 0, 30_000);
    expect(textsTo(5003)).toEqual(['notes__delete_note is not offered']);
    expect((await recordedCalls(callsFile)).filter((call) => call.tool === 'delete_note')).toEqual([]);
  });

  it('asks the owner before the destructive tool runs, ignores a stranger’s press, and runs it on Run', async () => {
    const owners = 'call notes__delete_note {"name":"groceries"}';
    const { run } = await askDeletion(OWNER, 'groceries');
    // The owner's turn offers every tool.
    expect(engine.offered.get(owners)).toEqual(['remember', 'forget', 'get_weather', 'calendar__next_event', 'notes__read_note', 'notes__delete_note']);
    expect((await recordedCalls(callsFile)).filter((call) => call.tool === 'delete_note')).toEqual([]);

    expect((await system.postUpdate(press(STRANGER, OWNER, run))).status).toBe(200);
    await system.telegram.waitFor(() => system.telegram.callsOf('answerCallbackQuery').some((c) => c.body.callback_query_id === `cbq-mcp-${pressId}`), 15_000);
    expect((await recordedCalls(callsFile)).filter((call) => call.tool === 'delete_note')).toEqual([]);
    expect(sendsTo(OWNER)).toHaveLength(1);

    expect((await system.postUpdate(press(OWNER, OWNER, run))).status).toBe(200);
    await system.telegram.waitFor(() => sendsTo(OWNER).length >= 2, 30_000);
    expect(textsTo(OWNER)[1]).toBe('notes__delete_note said: "deleted groceries"');
    expect((await recordedCalls(callsFile)).filter((call) => call.tool === 'delete_note')).toEqual([{ tool: 'delete_note', args: { name: 'groceries' } }]);
    // The decision is logged, with the tool's name and who; never the arguments.
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'tool approval', tool: 'notes__delete_note', decision: 'run', approver: `telegram:${OWNER}` }));
    expect(JSON.stringify(lines)).not.toContain('groceries');
  });

  it('does not run the destructive tool when the owner presses Skip', async () => {
    const { skip } = await askDeletion(OTHER_OWNER_CHAT, 'receipts');
    expect((await system.postUpdate(press(OTHER_OWNER_CHAT, OTHER_OWNER_CHAT, skip))).status).toBe(200);
    await system.telegram.waitFor(() => sendsTo(OTHER_OWNER_CHAT).length >= 2, 30_000);
    expect(textsTo(OTHER_OWNER_CHAT)[1]).toBe(`notes__delete_note said: ${JSON.stringify({ error: NOT_RUN.skip })}`);
    expect(await recordedCalls(callsFile)).not.toContainEqual({ tool: 'delete_note', args: { name: 'receipts' } });
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'tool approval', tool: 'notes__delete_note', decision: 'skip' }));
  });
});
