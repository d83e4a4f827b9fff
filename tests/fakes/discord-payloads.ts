/**
 * Discord interactions as Discord posts them to an Interactions Endpoint, for tests on both
 * sides (edge tests in workerd, e2e in Node): Web APIs only. Signed here with WebCrypto
 * (Ed25519), never with the code under test.
 */

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

const base64 = (bytes: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(bytes)));

/** A fresh application key pair: the public key as Discord shows it (hex), the private one (PKCS #8, base64) for signing. */
export async function discordKeyPair(): Promise<{ publicKey: string; privateKey: string }> {
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  if (!('privateKey' in pair)) throw new Error('Ed25519 gave no key pair');
  return { publicKey: hex(await crypto.subtle.exportKey('raw', pair.publicKey) as ArrayBuffer), privateKey: base64(await crypto.subtle.exportKey('pkcs8', pair.privateKey) as ArrayBuffer) };
}

/** The `X-Signature-Ed25519` header: hex Ed25519 of `timestamp + raw body`, with the private key of discordKeyPair. */
export async function discordSignatureOf(raw: string | Uint8Array, timestamp: string, privateKey: string): Promise<string> {
  const key = await crypto.subtle.importKey('pkcs8', Uint8Array.from(atob(privateKey), (c) => c.charCodeAt(0)), { name: 'Ed25519' }, false, ['sign']);
  const body = typeof raw === 'string' ? new TextEncoder().encode(raw) : raw;
  return hex(await crypto.subtle.sign({ name: 'Ed25519' }, key, new Uint8Array([...new TextEncoder().encode(timestamp), ...body])));
}

/** The headers Discord sends with `raw`, signed now (or at `timestamp`, seconds). */
export async function discordHeaders(raw: string | Uint8Array, privateKey: string, timestamp = String(Math.floor(Date.now() / 1000))): Promise<Record<string, string>> {
  return {
    'content-type': 'application/json',
    'X-Signature-Timestamp': timestamp,
    'X-Signature-Ed25519': await discordSignatureOf(raw, timestamp, privateKey),
  };
}

let sequence = 0;
/** A fresh snowflake stamped now (or at `ms`): ms since Discord's epoch in the top 42 bits, a counter below. */
export const snowflake = (ms = Date.now()): string => String(((BigInt(ms) - 1_420_070_400_000n) << 22n) | BigInt(++sequence % 4096));

/** An interaction token as Discord makes them (long, opaque): a credential. */
export const interactionToken = (): string => `aW50ZXJhY3Rpb246${crypto.randomUUID().replace(/-/g, '')}${'x'.repeat(120)}`;

export const APPLICATION_ID = '1100000000000000001';
export const GUILD_ID = '1200000000000000001';

export interface Where {
  channel: string;
  user: string;
  /** In a guild channel; a DM without. */
  guild?: string;
  id?: string;
  token?: string;
}

function base({ channel, user, guild, id = snowflake(), token = interactionToken() }: Where) {
  const person = { id: user, username: 'ada', global_name: 'Ada', discriminator: '0', avatar: null };
  return {
    id,
    application_id: APPLICATION_ID,
    token,
    version: 1,
    channel_id: channel,
    channel: { id: channel, type: guild ? 0 : 1 },
    locale: 'en-GB',
    app_permissions: '2248473465835073',
    entitlements: [],
    authorizing_integration_owners: { '0': guild ?? '0' },
    context: guild ? 0 : 1,
    ...(guild ? { guild_id: guild, guild_locale: 'en-US', member: { user: person, roles: [], nick: null } } : { user: person }),
  };
}

/** Discord's check of the endpoint (also sent when the URL is saved). */
export const pingInteraction = () => ({ id: snowflake(), application_id: APPLICATION_ID, type: 1, token: interactionToken(), version: 1 });

/** A slash command: `/ask text:…` by default, or `name` with string `options`. */
export function commandInteraction(where: Where, text: string | undefined, name = 'ask', options: Record<string, string> = text === undefined ? {} : { text }) {
  return {
    ...base(where),
    type: 2,
    data: { id: '1300000000000000001', name, type: 1, options: Object.entries(options).map(([key, value]) => ({ name: key, type: 3, value })) },
  };
}

/** A press of the button `customId` under our message `messageId`. */
export function pressInteraction(where: Where, messageId: string, customId: string) {
  return {
    ...base(where),
    type: 3,
    data: { custom_id: customId, component_type: 2 },
    message: { id: messageId, channel_id: where.channel, content: 'the reply', author: { id: APPLICATION_ID, bot: true }, components: [] },
  };
}
