import { MessageSchema, encodeCursor, unseal, type HistoryItem } from '@hearth/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { apiFetch, clientToken, closeApiCores, connectApiCore, freshUser } from './api-helpers.js';
import { coreKeys } from './helpers.js';
import { mcpToken, rpc, type ToolResult } from './mcp-helpers.js';

afterEach(closeApiCores);

const connectCore = () => connectApiCore();

async function callTool(token: string, name: string, args: Record<string, unknown>): Promise<ToolResult> {
  const response = await rpc(token, 'tools/call', { name, arguments: args });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { result: ToolResult };
  return body.result;
}

describe('/mcp: Hearth as an MCP server', () => {
  it('refuses a request without a token (401 + WWW-Authenticate) and a token without the mcp scope (403), shaped as /v1 errors', async () => {
    const none = await rpc(null, 'tools/list');
    expect(none.status).toBe(401);
    expect(none.headers.get('WWW-Authenticate')).toMatch(/^Bearer realm="hearth"/);
    expect(await none.json()).toEqual({ ok: false, error: { code: 'missing_token', message: expect.any(String), type: 'authentication_error' } });

    const chat = (await clientToken(freshUser('chat'))).token;
    const wrong = await rpc(chat, 'tools/list');
    expect(wrong.status).toBe(403);
    expect(wrong.headers.get('WWW-Authenticate')).toContain('scope="mcp"');
    expect(await wrong.json()).toMatchObject({ ok: false, error: { code: 'insufficient_scope', type: 'permission_error' } });

    const forged = await rpc('not.a.jwt', 'tools/list');
    expect(forged.status).toBe(401);
    expect(forged.headers.get('WWW-Authenticate')).toContain('error="invalid_token"');
  });

  it('initializes and lists ask, recent_history and search_notes with their input schemas', async () => {
    const token = await mcpToken();
    const init = await rpc(token, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } });
    expect(init.status).toBe(200);
    expect(await init.json()).toMatchObject({ result: { serverInfo: { name: 'hearth' }, capabilities: { tools: {} } } });

    const list = (await (await rpc(token, 'tools/list')).json()) as { result: { tools: { name: string; inputSchema: { required?: string[] } }[] } };
    expect(list.result.tools.map((t) => t.name).sort()).toEqual(['ask', 'recent_history', 'search_notes']);
    expect(list.result.tools.find((t) => t.name === 'ask')?.inputSchema.required).toEqual(['conversation', 'text']);
    expect((await apiFetch('/mcp', token)).status).toBe(405);
  });

  it('ask: queues a message in the named API conversation and answers with the reply the core acks', async () => {
    const user = freshUser('ask');
    const token = await mcpToken(user);
    const tunnel = await connectCore();
    const pending = callTool(token, 'ask', { conversation: 'agent', text: 'Is the back door locked?' });
    const delivery = await tunnel.next('deliver');
    const message = MessageSchema.parse(JSON.parse(await unseal(delivery.sealed, coreKeys())));
    // A turn of the user's conversation (kept in history), not a one-shot completion.
    expect(message.conversation.id).toBe(`api:${user}:agent`);
    expect(message.completion).toBeUndefined();
    expect(message.sender).toEqual({ id: `api:${user}`, device: 'mcp' });
    expect(message.content.text).toBe('Is the back door locked?');
    tunnel.send({ type: 'partial', message_id: delivery.message_id, seq: 0, text: 'Yes' });
    tunnel.send({ type: 'ack', message_id: delivery.message_id, reply: { key: `reply:${delivery.message_id}`, text: 'Yes, since 22:10.' } });
    expect(await pending).toEqual({ content: [{ type: 'text', text: 'Yes, since 22:10.' }] });
  });

  it('ask refuses a completion-named conversation as invalid arguments', async () => {
    const result = await callTool(await mcpToken(), 'ask', { conversation: 'completion.x', text: 'hi' });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toContain('one-shot completion');
  });

  it('recent_history: reads the conversation over the tunnel to its end and returns the last turns', async () => {
    const user = freshUser('recent');
    const token = await mcpToken(user);
    const tunnel = await connectCore();
    const item = (n: number): HistoryItem => ({
      cursor: encodeCursor({ at: 1_000 + n, id: `m${n}` }),
      message_id: `m${n}`,
      conversation_id: 'agent',
      role: n % 2 ? 'assistant' : 'user',
      text: `turn ${n}`,
      created_at: 1_000 + n,
      in_reply_to: null,
    });
    const pending = callTool(token, 'recent_history', { conversation: 'agent', limit: 3 });
    const first = await tunnel.next('history');
    expect(first).toMatchObject({ user, query: { kind: 'messages', conversation_id: 'agent', after: null, limit: 200 } });
    tunnel.send({ type: 'history_result', request_id: first.request_id, ok: true, items: [item(1), item(2), item(3)], has_more: true });
    const second = await tunnel.next('history');
    expect(second.query).toMatchObject({ after: item(3).cursor });
    tunnel.send({ type: 'history_result', request_id: second.request_id, ok: true, items: [item(4), item(5)], has_more: false });
    const result = await pending;
    expect(result.isError).toBeUndefined();
    expect(JSON.parse(result.content[0]?.text ?? '')).toEqual({
      conversation: 'agent',
      turns: [3, 4, 5].map((n) => ({ role: item(n).role, text: `turn ${n}`, created_at: new Date(1_000 + n).toISOString() })),
    });
  });

  it('search_notes: asks the core for the user’s notes and returns its hits with their scores', async () => {
    const user = freshUser('notes');
    const token = await mcpToken(user);
    const tunnel = await connectCore();
    const pending = callTool(token, 'search_notes', { query: 'wifi password', limit: 2 });
    const request = await tunnel.next('note_search');
    expect(request).toMatchObject({ user, query: 'wifi password', limit: 2 });
    const hits = [{ ref: 'house.md#0', text: 'The wifi password is on the router.', score: 0.81 }];
    tunnel.send({ type: 'note_search_result', request_id: request.request_id, ok: true, hits });
    expect(JSON.parse((await pending).content[0]?.text ?? '')).toEqual({ hits });
  });

  it('with no core connected, every tool answers a tool error that says the core is offline (never a 5xx)', async () => {
    const token = await mcpToken();
    for (const [name, args] of [
      ['ask', { conversation: 'agent', text: 'hello?' }],
      ['recent_history', { conversation: 'agent' }],
      ['search_notes', { query: 'anything' }],
    ] as const) {
      const result = await callTool(token, name, args);
      expect(result.isError, name).toBe(true);
      expect(result.content[0]?.text, name).toMatch(/offline/);
    }
  });
});
