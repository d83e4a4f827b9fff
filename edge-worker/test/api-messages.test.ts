import { MessageSchema, encodeCursor, unseal, type HistoryItem } from '@hearth/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientSocket, apiFetch, clientToken, freshUser, sseStream } from './api-helpers.js';
import { TestTunnel, coreKeys } from './helpers.js';

/** A core on the deployment's Relay that serves history, as real cores say in their hello. */
async function historyCore(coreId = `core-${crypto.randomUUID().slice(0, 8)}`) {
  const tunnel = await TestTunnel.viaRoute(coreId);
  tunnel.send({ type: 'hello', core_id: coreId, credits: 4, serves_history: true, model: { id: 'stories260K', description: 'llama on cpu' } });
  await tunnel.next('welcome');
  return tunnel;
}

const post = (token: string, body: unknown, headers: Record<string, string> = {}) =>
  apiFetch('/v1/messages', token, { method: 'POST', body: JSON.stringify(body), headers });

let open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open) o.close();
  open = [];
});
const track = <T extends { close(): void }>(thing: T): T => {
  open.push(thing);
  return thing;
};

describe('POST /v1/messages and the live stream of the user\'s devices', () => {
  it('queues the message sealed, shows it on every device, streams the reply and its end to all of them', async () => {
    const user = freshUser('ada');
    const { token } = await clientToken(user);
    const core = track(await historyCore());
    const phone = track(await ClientSocket.open(token, { headers: { 'X-Hearth-Device': 'phone' } }));
    const laptop = track(await ClientSocket.open(token));
    await phone.next('synced');
    await laptop.next('synced');

    const response = await post(token, { conversation_id: 'c-1', text: 'hello from the phone', client_id: 'm1' }, { 'X-Hearth-Device': 'phone' });
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as { id: string; conversation_id: string; cursor: string };
    expect(accepted).toMatchObject({ id: `api:${user}:c-1:m1`, conversation_id: 'c-1', duplicate: false });

    const delivery = await core.next('deliver');
    expect(delivery).toMatchObject({ message_id: accepted.id, conversation_id: `api:${user}:c-1` });
    const message = MessageSchema.parse(JSON.parse(await unseal(delivery.sealed, coreKeys())));
    expect(message).toMatchObject({ platform: 'api', sender: { id: `api:${user}` }, content: { text: 'hello from the phone' } });
    expect(message.timestamp_ms).toBeGreaterThan(0);

    for (const device of [phone, laptop]) {
      const shown = await device.next('message', (e) => e.item.message_id === accepted.id);
      expect(shown.item).toMatchObject({ role: 'user', text: 'hello from the phone', conversation_id: 'c-1', cursor: accepted.cursor, device: 'phone' });
    }

    // One partial at a time: frames sent back to back can reach the object out of order in the
    // test pool (real sockets keep their order; clients can also order deltas by seq).
    core.send({ type: 'partial', message_id: accepted.id, seq: 0, text: 'Once' });
    for (const device of [phone, laptop]) await device.next('delta', (e) => e.seq === 0);
    core.send({ type: 'partial', message_id: accepted.id, seq: 1, text: ' upon' });
    for (const device of [phone, laptop]) await device.next('delta', (e) => e.seq === 1);
    expect(laptop.events.filter((e) => e.type === 'delta').map((e) => (e as { text: string }).text)).toEqual(['Once', ' upon']);

    const createdAt = Date.now();
    core.send({ type: 'ack', message_id: accepted.id, reply: { key: `reply:${accepted.id}`, text: 'Once upon a time', created_at: createdAt } });
    for (const device of [phone, laptop]) {
      const reply = await device.next('message', (e) => e.item.role === 'assistant');
      expect(reply.item).toEqual({
        cursor: encodeCursor({ at: createdAt, id: `reply:${accepted.id}` }),
        message_id: `reply:${accepted.id}`,
        conversation_id: 'c-1',
        role: 'assistant',
        text: 'Once upon a time',
        created_at: createdAt,
        in_reply_to: accepted.id,
      });
    }
  });

  it('stores a retried POST (same client_id or Idempotency-Key) once, and announces it once', async () => {
    const user = freshUser('retry');
    const { token } = await clientToken(user);
    const core = track(await historyCore());
    const device = track(await ClientSocket.open(token));
    await device.next('synced');
    const first = await post(token, { conversation_id: 'c-2', text: 'once' }, { 'Idempotency-Key': 'k-1' });
    const again = await post(token, { conversation_id: 'c-2', text: 'once' }, { 'Idempotency-Key': 'k-1' });
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(await again.json()).toMatchObject({ id: `api:${user}:c-2:k-1`, duplicate: true });
    const delivery = await core.next('deliver');
    core.send({ type: 'ack', message_id: delivery.message_id, reply: { key: `reply:${delivery.message_id}`, text: 'ok' } });
    await device.next('message', (e) => e.item.role === 'assistant');
    expect((await core.barrier()).filter((f) => f.type === 'deliver')).toEqual([]);
    expect(device.events.filter((e) => e.type === 'message' && e.item.role === 'user')).toHaveLength(1);
  });

  it('takes messages over the socket with chat:write, and refuses them without it', async () => {
    const user = freshUser('ws');
    const writer = track(await ClientSocket.open((await clientToken(user)).token));
    const reader = track(await ClientSocket.open((await clientToken(user, ['sync'])).token));
    const core = track(await historyCore());
    await writer.next('synced');
    await reader.next('synced');

    writer.ws.send(JSON.stringify({ type: 'send', conversation_id: 'c-3', text: 'typed on the laptop', client_id: 'w1' }));
    expect(await writer.next('accepted')).toMatchObject({ id: `api:${user}:c-3:w1` });
    expect((await reader.next('message')).item).toMatchObject({ text: 'typed on the laptop', role: 'user' });
    const delivery = await core.next('deliver');
    expect(delivery.message_id).toBe(`api:${user}:c-3:w1`);
    core.send({ type: 'ack', message_id: delivery.message_id, reply: { key: `reply:${delivery.message_id}`, text: 'noted' } });

    reader.ws.send(JSON.stringify({ type: 'send', conversation_id: 'c-3', text: 'me too' }));
    expect(await reader.next('error')).toMatchObject({ code: 'insufficient_scope' });
    writer.ws.send('{"type":"send"');
    expect(await writer.next('error')).toMatchObject({ code: 'bad_request' });
    writer.ws.send(JSON.stringify({ type: 'send', conversation_id: 'no:colons', text: 'x' }));
    expect(await writer.next('error', (e) => e.message.includes('conversation id'))).toBeTruthy();
  });

  it('refuses bad bodies with 400 and a stable code, and queues nothing', async () => {
    const { token } = await clientToken(freshUser('bad'));
    const cases: [BodyInit, string][] = [
      ['{"conversation_id":', 'bad_request'],
      [JSON.stringify({ conversation_id: 'c-4' }), 'invalid_request'],
      [JSON.stringify({ conversation_id: 'api:other:c', text: 'x' }), 'invalid_request'],
      [JSON.stringify({ conversation_id: 'c-4', text: '' }), 'invalid_request'],
      [JSON.stringify({ conversation_id: 'c-4', text: 'x', client_id: 'has space' }), 'invalid_request'],
    ];
    for (const [body, code] of cases) {
      const response = await apiFetch('/v1/messages', token, { method: 'POST', body });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ ok: false, error: { code } });
    }
    const huge = await apiFetch('/v1/messages', token, { method: 'POST', body: JSON.stringify({ conversation_id: 'c', text: 'x'.repeat(1_100_000) }) });
    expect(huge.status).toBe(413);
    const core = track(await historyCore());
    expect((await core.barrier()).filter((f) => f.type === 'deliver')).toEqual([]);
  });
});

describe('history, read from a core over the tunnel', () => {
  const item = (user: string, n: number, role: 'user' | 'assistant' = 'user'): HistoryItem => {
    const id = role === 'user' ? `api:${user}:c-h:${n}` : `reply:api:${user}:c-h:${n}`;
    return { cursor: encodeCursor({ at: 1_000 + n, id }), message_id: id, conversation_id: 'c-h', role, text: `turn ${n}`, created_at: 1_000 + n, in_reply_to: null };
  };

  it('answers 503 core_offline while no core serves history', async () => {
    const response = await apiFetch('/v1/conversations', (await clientToken(freshUser())).token);
    expect(response.status).toBe(503);
    expect(response.headers.get('Retry-After')).toBe('30');
    expect(await response.json()).toMatchObject({ error: { code: 'core_offline' } });
  });

  it('passes the query to a core and its answer back', async () => {
    const user = freshUser('hist');
    const { token } = await clientToken(user);
    const core = track(await historyCore());
    const after = item(user, 1).cursor;
    const pending = apiFetch(`/v1/conversations/c-h/messages?after=${after}&limit=2`, token);
    const request = await core.next('history');
    expect(request).toMatchObject({ user, query: { kind: 'messages', conversation_id: 'c-h', after, limit: 2 } });
    core.send({ type: 'history_result', request_id: request.request_id, ok: true, items: [item(user, 2), item(user, 2, 'assistant')], has_more: true });
    const response = await pending;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: [item(user, 2), item(user, 2, 'assistant')], has_more: true });

    const list = apiFetch('/v1/conversations', token);
    const listRequest = await core.next('history');
    expect(listRequest.query).toEqual({ kind: 'conversations', limit: 50 });
    const summary = { conversation_id: 'c-h', title: 'turn 1', preview: 'turn 2', turns: 3, updated_at: 1_003 };
    core.send({ type: 'history_result', request_id: listRequest.request_id, ok: true, conversations: [summary] });
    expect(await (await list).json()).toEqual({ data: [summary] });
  });

  it('answers 504 when the core does not answer in time, 502 when it says it cannot, 400 for a bad cursor', async () => {
    const { token } = await clientToken(freshUser('slow'));
    const core = track(await historyCore());
    const slow = await apiFetch('/v1/conversations', token);
    expect(slow.status).toBe(504);
    expect(await slow.json()).toMatchObject({ error: { code: 'core_timeout' } });
    await core.next('history');

    const failing = apiFetch('/v1/conversations', token);
    const request = await core.next('history');
    core.send({ type: 'history_result', request_id: request.request_id, ok: false, error: 'database is locked' });
    expect((await failing).status).toBe(502);

    const bad = await apiFetch('/v1/conversations/c-h/messages?after=not-a-cursor!', token);
    expect(bad.status).toBe(400);
  });

  it('catches a reconnecting device up from its cursor before anything live, without repeats', async () => {
    const user = freshUser('catchup');
    const { token } = await clientToken(user);
    const core = track(await historyCore());
    const after = item(user, 1).cursor;
    const device = track(await ClientSocket.open(token, { after }));
    const request = await core.next('history');
    expect(request.query).toEqual({ kind: 'since', after, limit: 200 });

    // A message sent meanwhile from another device waits until the device caught up: the
    // core's answer lacks it (unanswered yet), so it ends the catch-up, once.
    const live = await post(token, { conversation_id: 'c-h', text: 'sent while catching up', client_id: '9' });
    const { id: liveId, cursor: liveCursor } = (await live.json()) as { id: string; cursor: string };
    core.send({ type: 'history_result', request_id: request.request_id, ok: true, items: [item(user, 2), item(user, 3)], has_more: false });
    await device.next('synced');
    // Its reply, written after the catch-up, is live.
    const delivery = await core.next('deliver');
    core.send({ type: 'ack', message_id: delivery.message_id, reply: { key: `reply:${liveId}`, text: 'live', created_at: Date.now() } });
    await device.next('message', (e) => e.item.role === 'assistant');
    expect(device.events.map((e) => (e.type === 'message' ? e.item.message_id : e.type))).toEqual([
      item(user, 2).message_id,
      item(user, 3).message_id,
      liveId,
      'synced',
      `reply:${liveId}`,
    ]);
    expect(device.events[3]).toEqual({ type: 'synced', cursor: liveCursor });
  });
  it("adds the user's messages no core has answered yet to catch-up and history pages (a core stores them with their reply)", async () => {
    const user = freshUser('unanswered');
    const { token } = await clientToken(user);
    const core = track(await historyCore());
    const before = item(user, 1).cursor;
    const sent = await post(token, { conversation_id: 'c-h', text: 'still being answered', client_id: 'u1' }, { 'X-Hearth-Device': 'tablet' });
    const { id, cursor } = (await sent.json()) as { id: string; cursor: string };
    expect((await core.next('deliver')).message_id).toBe(id);

    // A device reconnecting while the core generates: the core's history lacks the message.
    const device = track(await ClientSocket.open(token, { after: before }));
    const request = await core.next('history');
    core.send({ type: 'history_result', request_id: request.request_id, ok: true, items: [], has_more: false });
    expect(await device.next('synced')).toEqual({ type: 'synced', cursor });
    expect(device.messagesOf()).toEqual([expect.objectContaining({ message_id: id, text: 'still being answered', device: 'tablet' })]);

    const page = async (items: HistoryItem[]) => {
      const response = apiFetch(`/v1/conversations/c-h/messages?after=${before}`, token);
      const asked = await core.next('history');
      expect(asked.query).toMatchObject({ kind: 'messages', conversation_id: 'c-h', after: before });
      core.send({ type: 'history_result', request_id: asked.request_id, ok: true, items, has_more: false });
      const { data } = (await (await response).json()) as { data: HistoryItem[] };
      return data.map((i) => i.message_id);
    };
    expect(await page([item(user, 2)])).toEqual([item(user, 2).message_id, id]);

    // Answered: the core holds it from now on, and the edge adds nothing.
    core.send({ type: 'ack', message_id: id, reply: { key: `reply:${id}`, text: 'answered', created_at: Date.now() } });
    await device.next('message', (e) => e.item.role === 'assistant');
    expect(await page([])).toEqual([]);
  });
});

describe('catch-up while no core is connected (a device back before the core, after an edge restart)', () => {
  const item = (user: string, n: number): HistoryItem => {
    const id = `api:${user}:c-w:${n}`;
    return { cursor: encodeCursor({ at: 5_000 + n, id }), message_id: id, conversation_id: 'c-w', role: 'user', text: `turn ${n}`, created_at: 5_000 + n, in_reply_to: null };
  };

  it('waits for a core to connect, then catches up', async () => {
    const user = freshUser('early');
    const after = item(user, 1).cursor;
    // Open: the Relay already waits for a core (the catch-up starts with the upgrade).
    const device = track(await ClientSocket.open((await clientToken(user)).token, { after }));
    const core = track(await historyCore());
    const request = await core.next('history');
    expect(request.query).toEqual({ kind: 'since', after, limit: 200 });
    core.send({ type: 'history_result', request_id: request.request_id, ok: true, items: [item(user, 2)], has_more: false });
    await device.next('synced');
    expect(device.events.map((e) => e.type)).toEqual(['message', 'synced']);
  });

  it('says the core is offline when none comes in time, and catches up once one connects', async () => {
    const user = freshUser('late');
    const after = item(user, 1).cursor;
    const device = track(await ClientSocket.open((await clientToken(user)).token, { after }));
    // HEARTH_HISTORY_TIMEOUT_MS is 2 s in this project.
    expect(await device.next('error')).toMatchObject({ code: 'core_offline' });
    expect(await device.next('synced')).toEqual({ type: 'synced', cursor: after });
    const core = track(await historyCore());
    const request = await core.next('history');
    expect(request.query).toEqual({ kind: 'since', after, limit: 200 });
    core.send({ type: 'history_result', request_id: request.request_id, ok: true, items: [item(user, 2), item(user, 3)], has_more: false });
    await device.next('synced', (e) => e.cursor === item(user, 3).cursor);
    expect(device.messagesOf().map((m) => m.message_id)).toEqual([item(user, 2).message_id, item(user, 3).message_id]);
    // Caught up: the next core to connect does not replay it again.
    const second = track(await historyCore());
    expect((await second.barrier()).filter((f) => f.type === 'history')).toEqual([]);
  }, 15_000);
});

describe('GET /v1/events (Server-Sent Events)', () => {
  it('streams the same events, with message cursors as event ids', async () => {
    const user = freshUser('sse');
    const { token } = await clientToken(user);
    const core = track(await historyCore());
    const response = await apiFetch('/v1/events', token);
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toContain('text/event-stream');
    const stream = sseStream(response);
    const { readUntil } = stream;
    await readUntil('event: synced');
    const accepted = (await (await post(token, { conversation_id: 'c-s', text: 'over sse' })).json()) as { id: string; cursor: string };
    await readUntil('over sse');
    // An event's fields in any order: its type, its data, and the cursor as its id.
    const event = stream.text().split('\n\n').find((block) => block.includes('over sse')) ?? '';
    const fields = event.split('\n');
    expect(fields).toContain('event: message');
    expect(fields).toContain(`id: ${accepted.cursor}`);
    expect(fields.filter((field) => field.startsWith('data: '))).toHaveLength(1);
    const delivery = await core.next('deliver');
    core.send({ type: 'ack', message_id: delivery.message_id, reply: { key: `reply:${delivery.message_id}`, text: 'sse reply' } });
    await readUntil('sse reply');
    await stream.cancel();
  });

  it('ends the streams of a token the owner revokes', async () => {
    const user = freshUser('revoke-stream');
    const issued = await clientToken(user);
    const device = track(await ClientSocket.open(issued.token));
    await device.next('synced');
    const owner = track(await TestTunnel.viaRoute('owner-2.owner'));
    await owner.hello(0, 'owner-2.owner');
    owner.send({ type: 'access', request_id: 'r', command: { action: 'revoke_token', jti: issued.jti, expires_at: issued.expiresAt } });
    await owner.next('access_result');
    await expect.poll(() => device.closed?.code).toBe(4401);
    const reconnect = await apiFetch('/v1/ws', issued.token, { headers: { Upgrade: 'websocket' } });
    expect(reconnect.status).toBe(401);
  });
});
