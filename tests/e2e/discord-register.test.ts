import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDiscordApi } from '../fakes/discord-api.js';
import { APPLICATION_ID } from '../fakes/discord-payloads.js';
import { CoreProcess } from '../support/core-process.js';

/** `hearth discord register`, the real CLI spawned, against the fake Discord API on loopback. */
const BOT_TOKEN = 'MTEwMDAwMDAwMDAwMDAwMDAwMQ.RegisterBotToken';
let api: FakeDiscordApi;
let base: string;
let dir: string;

beforeAll(async () => {
  api = new FakeDiscordApi(APPLICATION_ID, BOT_TOKEN);
  base = await api.start();
  // An empty working folder: no .env of this checkout is read.
  dir = await mkdtemp(join(tmpdir(), 'hearth-discord-'));
});
afterAll(async () => {
  await api.stop();
  await rm(dir, { recursive: true, force: true });
});

async function register(env: Record<string, string>) {
  const run = new CoreProcess(env, ['discord', 'register'], { cwd: dir });
  return { code: await run.exited, stdout: run.stdout, output: run.raw.join('\n') };
}

describe('hearth discord register', () => {
  it("replaces the application's commands with /ask and the core's, with the bot token", async () => {
    const run = await register({ DISCORD_APPLICATION_ID: APPLICATION_ID, DISCORD_BOT_TOKEN: BOT_TOKEN, DISCORD_API_BASE: base });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('registered /ask /help /reset /stop /model /context /remember /forget\n');
    const [call] = api.calls.filter((c) => c.path === `/applications/${APPLICATION_ID}/commands`);
    expect(call).toMatchObject({ method: 'PUT', authorization: `Bot ${BOT_TOKEN}` });
    const commands = call!.body as unknown as { name: string; type: number; options?: { name: string; type: number; required: boolean }[] }[];
    expect(commands[0]).toMatchObject({ name: 'ask', type: 1, options: [{ name: 'text', type: 3, required: true }] });
    expect(commands.find((c) => c.name === 'remember')?.options).toMatchObject([{ name: 'fact', type: 3, required: false }]);
    expect(run.output).not.toContain(BOT_TOKEN);
  });

  it('says what Discord answered when it refuses the token, without printing it, and exits 1', async () => {
    const run = await register({ DISCORD_APPLICATION_ID: APPLICATION_ID, DISCORD_BOT_TOKEN: 'not-the-bot-token', DISCORD_API_BASE: base });
    expect(run.code).toBe(1);
    expect(run.output).toContain('Discord refused the commands: 401: Unauthorized (is DISCORD_BOT_TOKEN the bot token of this application?)');
    expect(run.output).not.toContain('not-the-bot-token');
  });

  it('names a missing setting and exits 1 without calling Discord', async () => {
    const before = api.calls.length;
    const run = await register({ DISCORD_BOT_TOKEN: BOT_TOKEN, DISCORD_API_BASE: base });
    expect(run.code).toBe(1);
    expect(run.output).toContain('DISCORD_APPLICATION_ID must be the numeric application id');
    expect(api.calls).toHaveLength(before);
  });
});
