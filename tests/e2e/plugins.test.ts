import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopbackFake } from '../fakes/loopback-fake.js';
import { startSystem, textUpdate, type System } from '../support/system.js';

/** A weatherapi.com-compatible provider on loopback: Paris only, and only with the right key. */
class FakeWeather extends LoopbackFake<{ key: string | null; city: string | null }> {
  constructor() {
    super('fake weather provider');
  }
  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const call = { key: url.searchParams.get('key'), city: url.searchParams.get('q') };
    this.record(call);
    const ok = url.pathname === '/v1/current.json' && call.key === 'e2e-weather-key' && call.city?.toLowerCase() === 'paris';
    res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        ok
          ? { location: { name: 'Paris', country: 'France' }, current: { temp_c: 21, wind_kph: 7, humidity: 55, condition: { text: 'Sunny' } } }
          : { error: { code: 1006, message: 'No matching location found.' } },
      ),
    );
  }
}

/**
 * Plugins end to end: Telegram updates through the real edge (workerd) and Relay to a real core
 * (`hearth start`) that runs the shipped weather and reminders plugins in their sandboxed
 * children. `/weather Paris` is answered from the fake provider (the plugin's copy declares the
 * fake's host); `/remind 2s hello` is answered at once and the reminder arrives two seconds
 * later as a push: a `reply` frame through the tunnel that the Relay sends to the same chat.
 */
let system: System;
let pluginsDir: string;
const weather = new FakeWeather();

beforeAll(async () => {
  const base = await weather.start();
  pluginsDir = await mkdtemp(join(tmpdir(), 'hearth-e2e-plugins-'));
  const shipped = resolve(import.meta.dirname, '../../plugins');
  await cp(join(shipped, 'reminders'), join(pluginsDir, 'reminders'), { recursive: true });
  await cp(join(shipped, 'weather'), join(pluginsDir, 'weather'), { recursive: true });
  const manifestPath = join(pluginsDir, 'weather', 'plugin.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { permissions: { network: string[]; lan: string[] } };
  manifest.permissions.network = [new URL(base).host];
  // The fake is on loopback: a non-public address, reached only when granted.
  manifest.permissions.lan = [new URL(base).host];
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
  system = await startSystem({
    coreEnv: { HEARTH_PLUGINS_DIR: pluginsDir, WEATHER_API_KEY: 'e2e-weather-key', WEATHER_API_BASE: `${base}/v1` },
  });
});
afterAll(async () => {
  await system?.stop();
  await weather.stop();
  if (pluginsDir) await rm(pluginsDir, { recursive: true, force: true });
});

const sendsTo = (chatId: number) => system.telegram.callsOf('sendMessage').filter((c) => c.body.chat_id === String(chatId));

describe('plugins through the real edge and a real core', () => {
  it('answers /weather Paris from the weather provider, threaded under the question', async () => {
    const update = textUpdate(3001, '/weather Paris');
    expect((await system.postUpdate(update)).status).toBe(200);
    await system.telegram.waitFor(() => sendsTo(3001).length > 0, 30_000);
    const [reply] = sendsTo(3001);
    expect(reply!.body).toMatchObject({
      text: 'Paris, France: Sunny, 21 °C, wind 7 km/h, humidity 55%',
      reply_parameters: { message_id: update.message.message_id },
    });
    expect(weather.calls).toEqual([{ key: 'e2e-weather-key', city: 'Paris' }]);
  });

  it('answers /remind 2s hello at once, then pushes the reminder to the same chat two seconds later', async () => {
    const update = textUpdate(3002, '/remind 2s hello');
    const asked = Date.now();
    expect((await system.postUpdate(update)).status).toBe(200);
    await system.telegram.waitFor(() => sendsTo(3002).length > 0, 30_000);
    expect(String(sendsTo(3002)[0]!.body.text)).toMatch(/^OK, I will remind you at .*: hello$/);

    await system.telegram.waitFor(() => sendsTo(3002).length > 1, 30_000);
    const push = sendsTo(3002)[1]!;
    expect(push.body.text).toBe('⏰ Reminder: hello');
    // A push answers no message: nothing to thread it under.
    expect(push.body.reply_parameters).toBeUndefined();
    expect(push.at - asked).toBeGreaterThanOrEqual(2_000);
    const sent = system.core.lines.filter((line) => line.msg === 'plugin push sent');
    expect(sent).toEqual([expect.objectContaining({ plugin: 'reminders', conversationId: 'telegram:3002', key: expect.stringMatching(/^push:reminders:/) })]);

    // Sent once: later traffic drains, and still one reminder.
    await system.postUpdate(textUpdate(3003, '/weather Paris'));
    await system.telegram.waitFor(() => sendsTo(3003).length > 0, 30_000);
    expect(sendsTo(3002)).toHaveLength(2);
  });
});
