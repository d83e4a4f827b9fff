import { MessageSchema, apiConversationId, approvalButtonData, approvalOf, encodeCursor, unseal, type HistoryItem } from '@hearth/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientSocket, apiFetch, clientToken, closeApiCores, connectApiCore, freshUser, sseStream } from './api-helpers.js';
import { coreKeys } from './helpers.js';

/** A question id of the core's shape (22 base64url characters); one per test, as reply keys are kept. */
const questionId = () => crypto.randomUUID().replaceAll('-', '').slice(0, 22);
const buttonsOf = (id: string) => {
  const [run, skip] = [approvalButtonData('run', id), approvalButtonData('skip', id)];
  return { run, skip, rows: [[{ label: 'Run', data: run }, { label: 'Skip', data: skip }]] };
};

const press = (token: string, body: unknown, headers: Record<string, string> = {}) =>
  apiFetch('/v1/press', token, { method: 'POST', body: JSON.stringify(body), headers });
const post = (token: string, body: unknown) => apiFetch('/v1/messages', token, { method: 'POST', body: JSON.stringify(body) });

const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
  closeApiCores();
});

/** A user's message queued and delivered to `core`, as the turn that then asks the owner. */
async function turnOf(core: Awaited<ReturnType<typeof connectApiCore>>, token: string, conversation: string) {
  const accepted = (await (await post(token, { conversation_id: conversation, text: 'wipe my notes', client_id: 'turn-1' })).json()) as { id: string };
  expect((await core.next('deliver')).message_id).toBe(accepted.id);
  return accepted.id;
}

describe('the owner’s question in an API conversation', () => {
  it('reaches the user’s streams and history with its buttons; the asking message is still in history while the turn waits', async () => {
    const user = freshUser('owner');
    const { token } = await clientToken(user);
    const core = await connectApiCore();
    const device = await ClientSocket.open(token);
    open.push(device);
    await device.next('synced');
    const turn = await turnOf(core, token, 'c-q');
    const id = questionId();
    const { run, skip, rows } = buttonsOf(id);
    const createdAt = Date.now();
    core.send({ type: 'reply', key: `approval:${id}`, conversation_id: apiConversationId(user, 'c-q'), in_reply_to: turn, text: 'Run the tool wipe?', buttons: rows, created_at: createdAt });
    await core.next('reply_stored');

    const shown = await device.next('message', (e) => e.item.message_id === `approval:${id}`);
    const asked: HistoryItem = {
      cursor: encodeCursor({ at: createdAt, id: `approval:${id}` }),
      message_id: `approval:${id}`,
      conversation_id: 'c-q',
      role: 'assistant',
      text: 'Run the tool wipe?',
      created_at: createdAt,
      in_reply_to: turn,
      buttons: [{ label: 'Run', data: run }, { label: 'Skip', data: skip }],
    };
    expect(shown.item).toEqual(asked);

    // A reload while the turn waits: the core has the question (its reply and turn come later).
    const page = apiFetch('/v1/conversations/c-q/messages', token);
    const request = await core.next('history');
    core.send({ type: 'history_result', request_id: request.request_id, ok: true, items: [asked], has_more: false });
    const history = (await (await page).json()) as { data: HistoryItem[] };
    expect(history.data.map((item) => [item.message_id, item.buttons?.map((b) => b.label)])).toEqual([
      [turn, undefined],
      [`approval:${id}`, ['Run', 'Skip']],
    ]);
    // The turn ends: the Relay redelivers nothing to the next test's core.
    core.send({ type: 'ack', message_id: turn, reply: { key: `reply:${turn}`, text: 'done' } });
    await device.next('message', (e) => e.item.message_id === `reply:${turn}`);
  });

  it('streams over SSE with its buttons too', async () => {
    const user = freshUser('owner-sse');
    const { token } = await clientToken(user);
    const core = await connectApiCore();
    const response = await apiFetch('/v1/events', token);
    const stream = sseStream(response);
    const { readUntil } = stream;
    await readUntil('event: synced');
    const { run, skip, rows } = buttonsOf(questionId());
    core.send({ type: 'reply', key: `approval:${run}`, conversation_id: apiConversationId(user, 'c-s'), in_reply_to: null, text: 'Run the tool wipe?', buttons: rows });
    await readUntil(`"data":"${skip}"`);
    const event = stream.text().split('\n').find((line) => line.startsWith('data: ') && line.includes('approval:'));
    expect(JSON.parse(event?.slice('data: '.length) ?? '{}')).toMatchObject({ type: 'message', item: { buttons: [{ label: 'Run', data: run }, { label: 'Skip', data: skip }] } });
    await stream.cancel();
  });
});

describe('POST /v1/press', () => {
  it('queues the press sealed, with a button entity, in the press lane to the core holding the turn; a retry is queued once', async () => {
    const user = freshUser('presser');
    const { token } = await clientToken(user, ['chat:write']);
    const core = await connectApiCore();
    const turn = await turnOf(core, token, 'c-p');
    const question = questionId();
    const { run, skip } = buttonsOf(question);

    const response = await press(token, { conversation_id: 'c-p', data: run });
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as { id: string };
    expect(accepted).toMatchObject({ conversation_id: 'c-p', duplicate: false });
    // Named by a digest of the button: the question's id is in no message id (nor the logs that carry them).
    expect(accepted.id).toMatch(new RegExp(`^api:${user}:c-p:press\\.run\\.[A-Za-z0-9_-]{16}$`));
    expect(accepted.id).not.toContain(question);
    // The turn holds the core's window; the press still goes out, in its own lane.
    const delivery = await core.next('deliver');
    expect(delivery).toMatchObject({ message_id: accepted.id, conversation_id: `api:${user}:c-p`, press: true });
    const message = MessageSchema.parse(JSON.parse(await unseal(delivery.sealed, coreKeys())));
    expect(approvalOf(message)).toEqual({ decision: 'run', id: question });
    expect(message).toMatchObject({ platform: 'api', sender: { id: `api:${user}` }, conversation: { id: `api:${user}:c-p` } });

    // Pressed again (a retry after a lost answer): the same press.
    expect(await (await press(token, { conversation_id: 'c-p', data: run })).json()).toMatchObject({ id: accepted.id, duplicate: true });
    const keyed = await press(token, { conversation_id: 'c-p', data: skip }, { 'Idempotency-Key': 'k-1' });
    expect(await keyed.json()).toMatchObject({ id: `api:${user}:c-p:press.k-1`, duplicate: false });
    expect(await (await press(token, { conversation_id: 'c-p', data: skip, client_id: 'k-1' })).json()).toMatchObject({ duplicate: true });
    core.send({ type: 'ack', message_id: accepted.id });
    core.send({ type: 'ack', message_id: turn, reply: { key: `reply:${turn}`, text: 'done' } });
    expect((await core.next('deliver')).message_id).toBe(`api:${user}:c-p:press.k-1`);
    core.send({ type: 'ack', message_id: `api:${user}:c-p:press.k-1` });
  });

  it('presses only in the token’s own conversations: another user’s id cannot be named (400), the same name is the presser’s own', async () => {
    const { run } = buttonsOf(questionId());
    const { token } = await clientToken(freshUser('mallory'), ['chat:write']);
    const victim = freshUser('victim');
    for (const conversation_id of [apiConversationId(victim, 'c-p'), `${victim}:c-p`]) {
      const refused = await press(token, { conversation_id, data: run });
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ error: { code: 'invalid_request' } });
    }
    const own = (await (await press(token, { conversation_id: 'c-p', data: run })).json()) as { id: string };
    expect(own.id.startsWith('api:mallory-')).toBe(true);
  });

  it('refuses a token without chat:write (403) and bad input (400)', async () => {
    const { run } = buttonsOf(questionId());
    const user = freshUser('presser');
    const { token: reader } = await clientToken(user, ['chat:read', 'sync']);
    expect((await press(reader, { conversation_id: 'c-p', data: run })).status).toBe(403);
    const { token } = await clientToken(user, ['chat:write']);
    const bad = [
      { conversation_id: 'c-p', data: 'fb:u:reply:api:x:y:z' },
      { conversation_id: 'c-p', data: 'ap:r:short' },
      { conversation_id: 'c-p' },
      { data: run },
      { conversation_id: 'c-p', data: run, client_id: 'has space' },
    ];
    for (const body of bad) expect((await press(token, body)).status).toBe(400);
    expect((await press(token, { conversation_id: 'c-p', data: run }, { 'Idempotency-Key': 'no/slash' })).status).toBe(400);
  });
});
