import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandInteraction, interactionToken, pressInteraction, snowflake } from '../fakes/discord-payloads.js';
import { startSystem, type System } from '../support/system.js';

/**
 * Discord end to end: a signed interaction through the real edge (workerd), the Relay, the
 * tunnel, a real core running a real GGUF, and back out as an edit of the interaction's
 * original response on the (fake) Discord API.
 */
let system: System;
beforeAll(async () => {
  system = await startSystem({ discord: true });
});
afterAll(() => system?.stop());

const discord = () => {
  if (!system.discord) throw new Error('Discord is not on');
  return system.discord;
};

/** Waits until `token`'s deferred answer was edited; the wait is the barrier that earlier work has drained. */
async function editsOf(token: string) {
  await discord().waitFor(() => discord().edits(token).length > 0, 30_000);
  return discord().edits(token);
}

let channels = 0;
const freshChannel = () => String(1_600_000_000_000_000_000n + BigInt(++channels));
const ADA = '80351110224678912';

const repliedTo = (messageId: string) => system.core.lines.filter((l) => l.msg === 'replied' && l.messageId === messageId);
/** Everything sent with `token` or into `channel`. */
const sentFor = (token: string, channel: string) => discord().messages().filter((c) => c.path.includes(token) || c.path === `/channels/${channel}/messages`);

describe('Discord → edge → Relay → tunnel → core → model → Discord', () => {
  it('answers /ask at once with a deferred response, then edits it, once, with text the model wrote', async () => {
    const channel = freshChannel();
    const token = interactionToken();
    const body = commandInteraction({ channel, user: ADA, token }, 'Once upon a time there was a fox');
    const response = await system.postDiscord(body);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ type: 5 });
    const [edit] = await editsOf(token);
    expect(edit!.authorization).toBe('');
    expect(edit!.body).toMatchObject({ allowed_mentions: { parse: [] } });
    expect(String(edit!.body.content).trim().length).toBeGreaterThan(0);
    expect(String(edit!.body.content).length).toBeLessThanOrEqual(2_000);
    expect(repliedTo(`discord:${channel}:${body.id}`)).toHaveLength(1);
  });

  it('answers an interaction once when it comes again', async () => {
    const channel = freshChannel();
    const token = interactionToken();
    const body = commandInteraction({ channel, user: ADA, token, guild: '1200000000000000001' }, 'Tell me another story');
    const first = await system.postDiscord(body);
    const again = await system.postDiscord(body);
    expect([await first.json(), await again.json()]).toEqual([{ type: 5 }, { type: 5 }]);
    await editsOf(token);
    // Later traffic has drained and still there is exactly one reply to it.
    const later = interactionToken();
    await system.postDiscord(commandInteraction({ channel: freshChannel(), user: ADA, token: later }, 'The end'));
    await editsOf(later);
    expect(sentFor(token, channel)).toHaveLength(1);
    expect(repliedTo(`discord:${channel}:${body.id}`)).toHaveLength(1);
  });

  it('runs a core command: /reset answers with its fixed text', async () => {
    const token = interactionToken();
    await system.postDiscord(commandInteraction({ channel: freshChannel(), user: ADA, token }, undefined, 'reset'));
    const [edit] = await editsOf(token);
    expect(edit!.body.content).toBe('Done: I have forgotten our conversation. We start afresh.');
  });

  it('refuses a bad signature with 401: nothing reaches the core or Discord', async () => {
    const channel = freshChannel();
    const token = interactionToken();
    const body = commandInteraction({ channel, user: ADA, token }, 'let me in');
    const response = await system.postDiscord(body, { 'X-Signature-Ed25519': '0'.repeat(128) });
    expect(response.status).toBe(401);
    const later = interactionToken();
    await system.postDiscord(commandInteraction({ channel: freshChannel(), user: ADA, token: later }, 'after it'));
    await editsOf(later);
    expect(sentFor(token, channel)).toEqual([]);
    expect(system.core.lines.some((l) => l.messageId === `discord:${channel}:${body.id}`)).toBe(false);
  });

  it('puts 👍/👎 under a reply as buttons; a press is answered with a deferred update, recorded on the core and never answered', async () => {
    const channel = freshChannel();
    const token = interactionToken();
    await system.postDiscord(commandInteraction({ channel, user: ADA, token }, 'Once upon a time'));
    const [edit] = await editsOf(token);
    const rows = edit!.body.components as { type: number; components: { label: string; custom_id: string }[] }[];
    expect(rows.flatMap((row) => row.components.map((b) => b.label))).toEqual(['👍', '👎']);
    const up = rows[0]!.components[0]!.custom_id;
    expect(up).toMatch(/^fb:u:/);
    const repliedBefore = system.core.lines.filter((l) => l.msg === 'replied').length;
    const pressToken = interactionToken();
    const press = await system.postDiscord(pressInteraction({ channel, user: ADA, token: pressToken }, snowflake(), up));
    expect(await press.json()).toEqual({ type: 6 });
    await system.core.waitForLog((l) => l.msg === 'feedback recorded', 15_000);
    // Later traffic has drained: the press got no reply, and the model was not asked.
    const later = interactionToken();
    await system.postDiscord(commandInteraction({ channel: freshChannel(), user: ADA, token: later }, 'The end'));
    await editsOf(later);
    expect(sentFor(pressToken, channel)).toEqual([]);
    expect(system.core.lines.filter((l) => l.msg === 'replied').length).toBe(repliedBefore + 1);
  });
});
