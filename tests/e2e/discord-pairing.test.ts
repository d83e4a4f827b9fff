import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandInteraction, interactionToken } from '../fakes/discord-payloads.js';
import { CoreProcess } from '../support/core-process.js';
import { startSystem, type System } from '../support/system.js';

/**
 * Pairing of a Discord sender, every part real: the pairing notice edits the command's deferred
 * answer (the edge kept the interaction's token, sealed, before it held the message), and once
 * the owner approves, the core's answer follows up on the same interaction.
 */
let system: System;
beforeAll(async () => {
  system = await startSystem({ discord: true, edgeVars: { HEARTH_ACCESS_POLICY: 'pairing' } });
});
afterAll(() => system?.stop());

const discord = () => {
  if (!system.discord) throw new Error('Discord is not on');
  return system.discord;
};

describe('pairing on Discord: unknown sender → code in the deferred answer → approve → answered', () => {
  it('edits the deferred answer with the code, and answers with a follow-up once approved', async () => {
    const channel = '1900000000000000001';
    const token = interactionToken();
    const body = commandInteraction({ channel, user: '1900000000000000002', token }, 'Once upon a time');
    const response = await system.postDiscord(body);
    expect(await response.json()).toEqual({ type: 5 });
    await discord().waitFor(() => discord().edits(token).length > 0, 15_000);
    const notice = String(discord().edits(token)[0]?.body.content);
    const code = /hearth pair approve ([A-Z2-9]{4}-[A-Z2-9]{4})/.exec(notice)?.[1];
    expect(code).toBeDefined();
    expect(system.core.lines.some((l) => l.messageId === `discord:${channel}:${body.id}`)).toBe(false);

    const cli = new CoreProcess(system.coreCliEnv, ['pair', 'approve', code!]);
    expect(await cli.exited).toBe(0);
    expect(cli.stdout).toContain('approved discord:1900000000000000002 (Ada)');

    await discord().waitFor(() => discord().followUps(token).length > 0, 30_000);
    expect(String(discord().followUps(token)[0]?.body.content).trim().length).toBeGreaterThan(0);
    expect(discord().edits(token)).toHaveLength(1);
    expect(system.core.lines.filter((l) => l.msg === 'replied' && l.messageId === `discord:${channel}:${body.id}`)).toHaveLength(1);
  });
});
