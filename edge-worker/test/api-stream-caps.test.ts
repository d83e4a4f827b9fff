import { describe, expect, it } from 'vitest';
import { ClientSocket, apiFetch, clientToken, freshUser } from './api-helpers.js';
import { waitFor } from './helpers.js';

// The defaults: 5 open streams per token, 20 per user (HEARTH_API_STREAMS_TOKEN / _USER).
const PER_TOKEN = 5;

/** Closes the sockets and waits until each saw the Relay's close: nothing of this file is left running. */
async function closeAll(sockets: ClientSocket[]): Promise<void> {
  for (const socket of sockets) socket.close();
  await waitFor(async () => (sockets.every((s) => s.closed) ? true : undefined), 'every socket closed');
}

describe('open streams per token and per user', () => {
  it('refuses a stream past the token cap with 429, lets another token of the user in, and frees a slot on close', async () => {
    const user = freshUser('streams');
    const { token } = await clientToken(user);
    const sockets: ClientSocket[] = [];
    for (let i = 0; i < PER_TOKEN - 1; i++) sockets.push(await ClientSocket.open(token));
    // SSE streams count too: they are held in the Relay's memory as much as sockets are.
    const sse = await apiFetch('/v1/events', token);
    expect(sse.status).toBe(200);

    const refused = await apiFetch('/v1/ws', token, { headers: { Upgrade: 'websocket' } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('Retry-After')).toBe('30');
    expect(await refused.json()).toMatchObject({ ok: false, error: { code: 'too_many_streams', type: 'rate_limit_error' } });
    expect((await apiFetch('/v1/events', token)).status).toBe(429);

    // Another token of the same user has its own share.
    const other = await clientToken(user);
    const otherSocket = await ClientSocket.open(other.token);

    sockets.shift()?.close();
    const again = await waitFor(async () => {
      const response = await apiFetch('/v1/ws', token, { headers: { Upgrade: 'websocket' } });
      if (response.status === 101) return response;
      await response.body?.cancel();
      return undefined;
    }, 'a slot freed by the closed socket');
    again.webSocket?.accept();
    again.webSocket?.close(1000, 'done');
    await sse.body?.cancel();
    await closeAll([...sockets, otherSocket]);
  });

  it('refuses past the user cap, whatever the token', async () => {
    const user = freshUser('streams-user');
    const opened: ClientSocket[] = [];
    // 20 per user: four tokens of five each.
    for (let t = 0; t < 4; t++) {
      const { token } = await clientToken(user);
      for (let i = 0; i < PER_TOKEN; i++) opened.push(await ClientSocket.open(token));
    }
    const { token: fifth } = await clientToken(user);
    const refused = await apiFetch('/v1/ws', fifth, { headers: { Upgrade: 'websocket' } });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: { code: 'too_many_streams', message: expect.stringContaining('per user') } });
    // Another user is not affected.
    const stranger = await ClientSocket.open((await clientToken(freshUser('stranger'))).token);
    await closeAll([...opened, stranger]);
  });
});
