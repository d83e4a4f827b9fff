// The weather now, from a weatherapi.com-compatible provider: GET <base>/current.json?key&q.
// The provider's host must be in permissions.network (api.weatherapi.com as shipped; add yours
// there when WEATHER_API_BASE points elsewhere): the host refuses any other.
const DEFAULT_BASE = 'https://api.weatherapi.com/v1';

async function current(city, ctx) {
  const key = ctx.secrets.WEATHER_API_KEY;
  if (!key) return { error: 'the weather plugin has no WEATHER_API_KEY: set it in the core environment' };
  const base = (ctx.secrets.WEATHER_API_BASE || DEFAULT_BASE).replace(/\/+$/, '');
  const url = `${base}/current.json?key=${encodeURIComponent(key)}&q=${encodeURIComponent(city)}&aqi=no`;
  let response;
  try {
    response = await ctx.fetch(url, { headers: { accept: 'application/json' } });
  } catch (error) {
    return { error: `the weather provider cannot be reached (${error.message})` };
  }
  let body;
  try {
    body = await response.json();
  } catch {
    return { error: `the weather provider answered ${response.status} without JSON` };
  }
  if (!response.ok) return { error: body?.error?.message ?? `the weather provider answered ${response.status}` };
  const { location, current: now } = body;
  return {
    city: location?.name ?? city,
    country: location?.country ?? '',
    condition: now?.condition?.text ?? 'unknown',
    temp_c: now?.temp_c,
    wind_kph: now?.wind_kph,
    humidity: now?.humidity,
  };
}

function describe(weather) {
  const place = weather.country ? `${weather.city}, ${weather.country}` : weather.city;
  const parts = [`${weather.condition}`, weather.temp_c !== undefined ? `${weather.temp_c} °C` : undefined];
  if (weather.wind_kph !== undefined) parts.push(`wind ${weather.wind_kph} km/h`);
  if (weather.humidity !== undefined) parts.push(`humidity ${weather.humidity}%`);
  return `${place}: ${parts.filter(Boolean).join(', ')}`;
}

export default {
  commands: {
    weather: async (args, ctx) => {
      const city = args.trim();
      if (!city) return 'Which city? /weather Paris';
      const weather = await current(city, ctx);
      return weather.error ? `No weather for ${city}: ${weather.error}` : describe(weather);
    },
  },
  tools: {
    get_weather: async ({ city }, ctx) => current(city, ctx),
  },
};
