import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeWeatherProvider } from './fake-weather.js';
import { copyShippedPlugin, messageIn, openRegistry } from './support.js';

/**
 * The shipped weather plugin, in a real child, against a fake provider on loopback. Its manifest
 * declares the provider's host; here the copy declares the fake's `127.0.0.1:PORT` instead, as
 * an owner pointing WEATHER_API_BASE at another provider would.
 */
const provider = new FakeWeatherProvider('test-key');
let system: Awaited<ReturnType<typeof openRegistry>>;
const undeclared = new FakeWeatherProvider('test-key');

async function withEnv(env: Record<string, string>) {
  const opened = await openRegistry([], { env });
  await copyShippedPlugin(opened.root, 'weather', (manifest) => {
    const permissions = manifest.permissions as { network: string[]; lan: string[] };
    permissions.network = [`127.0.0.1:${provider.port}`];
    // The fake is on loopback: a non-public address, reached only when granted.
    permissions.lan = [`127.0.0.1:${provider.port}`];
  });
  await opened.registry.reload();
  return opened;
}

beforeAll(async () => {
  const base = await provider.start();
  await undeclared.start();
  system = await withEnv({ WEATHER_API_KEY: 'test-key', WEATHER_API_BASE: base, UNRELATED_SECRET: 'x' });
});
afterAll(async () => {
  await system?.close();
  await provider.stop();
  await undeclared.stop();
});

const weather = (city: string, on = system) => on.registry.runCommand('weather', city, messageIn(70, `/weather ${city}`));

describe('the weather plugin', () => {
  it('answers /weather CITY from the provider, with its declared key', async () => {
    expect(await weather('Paris')).toBe('Paris, France: Partly cloudy, 18 °C, wind 11 km/h, humidity 60%');
    expect(provider.requests.at(-1)).toEqual({ path: '/v1/current.json', key: 'test-key', city: 'Paris' });
  });

  it('answers the get_weather tool with structured weather', async () => {
    const tool = system.registry.toolsFor(messageIn(70, 'weather?')).find((t) => t.name === 'get_weather');
    expect(await tool?.call({ city: 'paris' })).toEqual({ city: 'Paris', country: 'France', condition: 'Partly cloudy', temp_c: 18, wind_kph: 11, humidity: 60 });
    expect(await tool?.call({ city: '' })).toEqual({ error: expect.stringContaining('must NOT have fewer than 1 characters') });
  });

  it('says what the provider said about an unknown city, and asks for a city when none is given', async () => {
    expect(await weather('Atlantis')).toBe('No weather for Atlantis: No matching location found.');
    expect(await weather('')).toBe('Which city? /weather Paris');
  });

  it('says how to configure it without a key (the secret is not there)', async () => {
    const keyless = await withEnv({ WEATHER_API_BASE: `http://127.0.0.1:${provider.port}/v1` });
    try {
      const seen = provider.requests.length;
      expect(await weather('Paris', keyless)).toBe('No weather for Paris: the weather plugin has no WEATHER_API_KEY: set it in the core environment');
      expect(provider.requests.length).toBe(seen);
      expect(keyless.registry.list()[0]?.problems).toEqual(["secret WEATHER_API_KEY is not set in the core's environment"]);
    } finally {
      await keyless.close();
    }
  });

  it('cannot be pointed at a host its manifest does not declare', async () => {
    const elsewhere = await withEnv({ WEATHER_API_KEY: 'test-key', WEATHER_API_BASE: `http://127.0.0.1:${undeclared.port}/v1` });
    try {
      expect(await weather('Paris', elsewhere)).toMatch(/^No weather for Paris: the weather provider cannot be reached \(fetch refused: 127\.0\.0\.1:\d+ is not declared/);
      expect(undeclared.requests).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });
});
