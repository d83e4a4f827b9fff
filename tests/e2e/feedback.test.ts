import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../support/client-api.js';
import { CoreProcess } from '../support/core-process.js';
import { startSystem, textUpdate, type System } from '../support/system.js';

/**
 * Feedback end to end: the real edge (workerd), a real core on a real GGUF and the fake Bot
 * API. A reply carries 👍/👎; pressing one (a callback_query posted to the webhook) is recorded
 * on the core with the reply it rates, the spinner is stopped, and the model is not asked.
 */
let system: System;
let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hearth-e2e-feedback-'));
  system = await startSystem({ coreEnv: { HEARTH_DATA_DIR: dataDir } });
});
afterAll(async () => {
  await system?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** `hearth <args> --json` against the core's data folder, as its owner runs it beside the core. */
async function hearthJson<T>(...args: string[]): Promise<T> {
  const cli = new CoreProcess({ ...system.coreCliEnv, HEARTH_DATA_DIR: dataDir }, [...args, '--json']);
  expect(await cli.exited).toBe(0);
  return JSON.parse(cli.stdout) as T;
}

const sendsTo = (chatId: number) => system.telegram.callsOf('sendMessage').filter((c) => c.body.chat_id === String(chatId));

describe('👍/👎 under replies, through Telegram', () => {
  it('records a press with the reply it rates, answers the callback query, and does not ask the model', async () => {
    const update = textUpdate(3001, 'Once upon a time');
    expect((await system.postUpdate(update)).status).toBe(200);
    await system.telegram.waitFor(() => sendsTo(3001).length > 0, 30_000);
    const [reply] = sendsTo(3001);
    const markup = reply?.body.reply_markup as { inline_keyboard: { text: string; callback_data: string }[][] } | undefined;
    const keyboard = markup?.inline_keyboard ?? [];
    expect(keyboard[0]?.map((b) => b.text)).toEqual(['👍', '👎']);
    const up = keyboard[0]?.[0]?.callback_data ?? '';
    expect(up).toMatch(/^fb:u:/);
    const generatedBefore = system.core.lines.filter((l) => l.msg === 'replied').length;

    const press = {
      update_id: 90_001,
      callback_query: {
        id: 'cbq-3001-1',
        from: { id: 3001, is_bot: false, first_name: 'Ada' },
        message: { message_id: 1000, date: Math.floor(Date.now() / 1000), chat: { id: 3001, type: 'private' } },
        data: up,
      },
    };
    expect((await system.postUpdate(press)).status).toBe(200);
    await system.telegram.waitFor(() => system.telegram.callsOf('answerCallbackQuery').some((c) => c.body.callback_query_id === 'cbq-3001-1'), 15_000);
    await system.core.waitForLog((l) => l.msg === 'feedback recorded', 15_000);

    const ratings = await hearthJson<{ reply: string; variant: string; user: string; rating: string }[]>('feedback', 'list');
    expect(ratings).toEqual([expect.objectContaining({ reply: `reply:telegram:3001:${update.message.message_id}`, variant: 'default', user: 'telegram:3001', rating: 'up' })]);
    const report = await hearthJson<{ variants: { variant: string; replies: number; ups: number; downs: number; rated: number }[] }>('experiments', 'report');
    expect(report.variants).toEqual([expect.objectContaining({ variant: 'default', replies: 1, rated: 1, ups: 1, downs: 0 })]);
    // The same report, plotted, on the core's admin port.
    const admin = await system.core.waitForLog((l) => l.msg === 'admin port open (/metrics, /healthz, /status)');
    const page = await fetch(`${String(admin.url)}/experiments`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<svg');

    // The rated reply is a training example: labelled, pseudonymized, no platform id.
    const exporter = new CoreProcess({ ...system.coreCliEnv, HEARTH_DATA_DIR: dataDir }, ['dataset', 'export', '--since', '1h', '--format', 'jsonl']);
    expect(await exporter.exited).toBe(0);
    const lines = exporter.stdout.trim().split('\n').map((line) => JSON.parse(line) as { messages: { role: string; content: string }[]; label: boolean; user: string });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ label: true, user: expect.stringMatching(/^u_[0-9a-f]{16}$/) });
    expect(lines[0]?.messages[0]).toEqual({ role: 'user', content: 'Once upon a time' });
    // The chat id standing alone (a timestamp or a pseudonym may hold the same digits inside it).
    expect(exporter.stdout).not.toMatch(/\b3001\b/);
    expect(exporter.stdout).not.toContain('telegram');

    // Later traffic has drained: the press got no reply and generated nothing.
    await system.postUpdate(textUpdate(3002, 'The end'));
    await system.telegram.waitFor(() => sendsTo(3002).length > 0, 30_000);
    expect(sendsTo(3001)).toHaveLength(1);
    expect(system.core.lines.filter((l) => l.msg === 'replied')).toHaveLength(generatedBefore + 1);
    expect(system.core.lines.some((l) => l.msg === 'replied' && String(l.messageId).includes(':cb:'))).toBe(false);
  });
});

describe('POST /v1/feedback, from an API client', () => {
  it('rates a reply in the user’s conversation: recorded on the core, never answered', async () => {
    const token = await issueToken(system, 'ada');
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${system.edge.url}${path}`, { ...init, headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    const sent = await api('/v1/messages', { method: 'POST', body: JSON.stringify({ conversation_id: 'fb-1', text: 'Once upon a time', client_id: 'm-1' }) });
    expect(sent.status).toBe(202);
    const replyId = 'reply:api:ada:fb-1:m-1';
    await system.core.waitForLog((l) => l.msg === 'replied' && l.messageId === 'api:ada:fb-1:m-1', 30_000);

    const rated = await api('/v1/feedback', { method: 'POST', body: JSON.stringify({ message_id: replyId, rating: 'down', client_id: 'r-1' }) });
    expect(rated.status).toBe(202);
    await system.core.waitForLog((l) => l.msg === 'feedback recorded' && l.replyKey === replyId, 15_000);
    const ratings = await hearthJson<{ reply: string; user: string; rating: string }[]>('feedback', 'list');
    expect(ratings).toContainEqual(expect.objectContaining({ reply: replyId, user: 'api:ada', rating: 'down' }));
    // Not a turn of the conversation: the history holds the question and its reply only.
    const history = (await (await api('/v1/conversations/fb-1/messages')).json()) as { data: { message_id: string }[] };
    expect(history.data.map((item) => item.message_id)).toEqual(['api:ada:fb-1:m-1', replyId]);
  });
});
