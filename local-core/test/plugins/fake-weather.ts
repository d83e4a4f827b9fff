import { once } from 'node:events';
import { createServer, type Server } from 'node:http';

/** What the fake provider was asked. */
export interface WeatherRequest {
  path: string;
  key: string | null;
  city: string | null;
}

/**
 * A weatherapi.com-compatible provider on loopback: `GET /v1/current.json?key&q` answers known
 * cities with their current weather, an unknown city with the provider's 400, and a wrong key
 * with its 401. Every request is recorded.
 */
export class FakeWeatherProvider {
  readonly requests: WeatherRequest[] = [];
  private server: Server | undefined;

  constructor(
    private readonly key: string,
    private readonly cities: Record<string, { country: string; condition: string; temp_c: number; wind_kph: number; humidity: number }> = {
      paris: { country: 'France', condition: 'Partly cloudy', temp_c: 18, wind_kph: 11, humidity: 60 },
    },
  ) {}

  /** Starts it; resolves with its base URL (`http://127.0.0.1:PORT/v1`). */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const request = { path: url.pathname, key: url.searchParams.get('key'), city: url.searchParams.get('q') };
      this.requests.push(request);
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (request.path !== '/v1/current.json') return json(404, { error: { code: 0, message: 'Not found' } });
      if (request.key !== this.key) return json(401, { error: { code: 2006, message: 'API key is invalid.' } });
      const city = this.cities[(request.city ?? '').toLowerCase()];
      if (!city) return json(400, { error: { code: 1006, message: 'No matching location found.' } });
      const name = (request.city ?? '').replace(/^./, (c) => c.toUpperCase());
      json(200, {
        location: { name, country: city.country },
        current: { temp_c: city.temp_c, wind_kph: city.wind_kph, humidity: city.humidity, condition: { text: city.condition } },
      });
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${this.port}/v1`;
  }

  get port(): number {
    const address = this.server?.address();
    if (!address || typeof address === 'string') throw new Error('not started');
    return address.port;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
