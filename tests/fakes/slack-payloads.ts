/**
 * Slack Events API requests as Slack posts them, for tests on both sides (edge tests in workerd,
 * e2e in Node): Web APIs only. Signed here with WebCrypto, never with the code under test.
 */

/** `v0=<hex>` HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the signing secret: the `X-Slack-Signature` header. */
export async function slackSignatureOf(raw: string | Uint8Array, timestamp: string, secret: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const body = typeof raw === 'string' ? new TextEncoder().encode(raw) : raw;
  const base = new Uint8Array([...new TextEncoder().encode(`v0:${timestamp}:`), ...body]);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, base));
  return `v0=${Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** The headers Slack sends with `raw`, signed now (or at `timestamp`, seconds). */
export async function slackHeaders(raw: string | Uint8Array, secret: string, timestamp = String(Math.floor(Date.now() / 1000))): Promise<Record<string, string>> {
  return {
    'content-type': 'application/json',
    'X-Slack-Request-Timestamp': timestamp,
    'X-Slack-Signature': await slackSignatureOf(raw, timestamp, secret),
  };
}

/** An `event_callback` envelope around `event`, shaped like Slack's. */
export function eventCallback(event: Record<string, unknown>, eventId = `Ev${crypto.randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`) {
  return {
    token: 'deprecated-verification-token',
    team_id: 'T0HEARTH1',
    api_app_id: 'A0HEARTH1',
    event,
    type: 'event_callback',
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: 'T0HEARTH1', user_id: 'U0HEARTHBOT', is_bot: true }],
  };
}

/** A person's DM to the app (`message.im`). */
export function dmEvent(channel: string, user: string, ts: string, text: string, threadTs?: string) {
  return {
    type: 'message',
    channel,
    channel_type: 'im',
    user,
    text,
    ts,
    event_ts: ts,
    client_msg_id: crypto.randomUUID(),
    ...(threadTs ? { thread_ts: threadTs } : {}),
  };
}

/** A mention of the app in a channel (`app_mention`). */
export function mentionEvent(channel: string, user: string, ts: string, text: string, threadTs?: string) {
  return { type: 'app_mention', channel, user, text: `<@U0HEARTHBOT> ${text}`, ts, event_ts: ts, ...(threadTs ? { thread_ts: threadTs } : {}) };
}

let presses = 0;
/** A `block_actions` interactivity request body (form-encoded, as Slack posts it): `user` pressed `value` under our message `ts`. */
export function pressBody(channel: string, user: string, ts: string, value: string, threadTs?: string, actionTs = `${Math.floor(Date.now() / 1000)}.${String(++presses).padStart(6, '0')}`): string {
  const payload = {
    type: 'block_actions',
    user: { id: user, username: 'ada', team_id: 'T0HEARTH1' },
    api_app_id: 'A0HEARTH1',
    container: { type: 'message', message_ts: ts, channel_id: channel, is_ephemeral: false, ...(threadTs ? { thread_ts: threadTs } : {}) },
    trigger_id: '123.456.abc',
    team: { id: 'T0HEARTH1', domain: 'hearth' },
    channel: { id: channel, name: 'directmessage' },
    message: { type: 'message', bot_id: 'B0HEARTH1', text: 'the reply', ts, ...(threadTs ? { thread_ts: threadTs } : {}) },
    response_url: 'https://hooks.slack.com/actions/T0HEARTH1/1/abc',
    actions: [{ action_id: 'hearth_0', block_id: 'b1', text: { type: 'plain_text', text: '👍', emoji: true }, value, type: 'button', action_ts: actionTs }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** The content type Interactivity requests come with. */
export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
