import { describe, expect, it } from 'vitest';
import { DISCORD_COMMANDS, commandsBody, discordAppOf } from '../../src/cli/discord.js';
import { builtinCommandNames } from '../../src/commands/builtin.js';

describe('the Discord slash commands', () => {
  it('are /ask and commands the core answers itself', () => {
    const names = DISCORD_COMMANDS.map((c) => c.name);
    expect(names[0]).toBe('ask');
    expect(builtinCommandNames()).toEqual(expect.arrayContaining(names.slice(1)));
  });

  it("fit Discord's rules: lower-case names of 1-32, descriptions of 1-100, string options", () => {
    for (const command of commandsBody()) {
      expect(command.name).toMatch(/^[a-z0-9_-]{1,32}$/);
      expect(command.description.length).toBeGreaterThan(0);
      expect(command.description.length).toBeLessThanOrEqual(100);
      for (const option of command.options ?? []) expect(option).toMatchObject({ type: 3, name: expect.stringMatching(/^[a-z0-9_-]{1,32}$/) });
    }
  });

  it('take the application from the environment, and say what is missing', () => {
    expect(discordAppOf({ DISCORD_APPLICATION_ID: '123', DISCORD_BOT_TOKEN: 't', DISCORD_API_BASE: 'http://127.0.0.1:1/' })).toEqual({
      applicationId: '123',
      botToken: 't',
      apiBase: 'http://127.0.0.1:1',
    });
    expect(discordAppOf({ DISCORD_APPLICATION_ID: '123', DISCORD_BOT_TOKEN: 't' }).apiBase).toBe('https://discord.com/api/v10');
    expect(() => discordAppOf({ DISCORD_BOT_TOKEN: 't' })).toThrow(/DISCORD_APPLICATION_ID/);
    expect(() => discordAppOf({ DISCORD_APPLICATION_ID: '123' })).toThrow(/DISCORD_BOT_TOKEN is missing/);
  });
});
