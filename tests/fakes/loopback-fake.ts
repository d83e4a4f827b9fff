import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What every fake third-party API here shares: a real HTTP server on 127.0.0.1, the calls it
 * recorded, and a wait for a condition over them. Subclasses answer like the API they stand in for.
 */
export abstract class LoopbackFake<Call> {
  readonly calls: Call[] = [];
  private server: Server | undefined;
  private waiters: (() => void)[] = [];

  constructor(private readonly label: string) {}

  /** Starts listening on 127.0.0.1 and an ephemeral port unless one is given; resolves to the base URL. */
  async start(port = 0): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return this.baseUrl;
  }

  get baseUrl(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error(`${this.label} is not started`);
    return `http://127.0.0.1:${address.port}`;
  }

  /** Resolves once `predicate` holds over the recorded calls, or rejects after `timeoutMs`. */
  async waitFor(predicate: (calls: Call[]) => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.calls)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.label}: condition not met within ${timeoutMs} ms (${this.calls.length} calls)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Records a call and wakes whoever waits on the calls. */
  protected record(call: Call): void {
    this.calls.push(call);
    for (const wake of this.waiters.splice(0)) wake();
  }

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/** A request's JSON object body (`{}` when empty); undefined when it is not JSON. */
export async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Failures a test scripted (`failNext`, or `POST /__fail`): each answers one call that matches it, in order. */
export class ScriptedFailures<F> {
  private readonly queue: F[] = [];

  /** The next `count` matching calls fail with `failure` (each a copy, so a countdown in one is its own). */
  push(failure: F, count = 1): void {
    for (let i = 0; i < count; i++) this.queue.push({ ...failure });
  }

  /** The first failure `matches` accepts, removed unless `keep` says it stays (a countdown). */
  take(matches: (failure: F) => boolean, keep: (failure: F) => boolean = () => false): F | undefined {
    const index = this.queue.findIndex(matches);
    const failure = this.queue[index];
    if (failure === undefined || keep(failure)) return undefined;
    this.queue.splice(index, 1);
    return failure;
  }
}
