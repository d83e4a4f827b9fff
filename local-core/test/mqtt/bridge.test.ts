import { randomUUID } from 'node:crypto';
import { generateCoreKeySet, type CoreKeySet, type Message } from '@hearth/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EchoEngine, type ReplyOptions } from '../../src/inference/engine.js';
import { loadMemoryConfig } from '../../src/memory/config.js';
import { openMemory } from '../../src/memory/open-memory.js';
import { startMqttBridge, type MqttBridgeOptions } from '../../src/mqtt/bridge.js';
import { loadMqttConfig } from '../../src/mqtt/config.js';
import { MqttError } from '../../src/mqtt/errors.js';
import { MAX_PAYLOAD_BYTES } from '../../src/mqtt/wire.js';
import { Pipeline } from '../../src/pipeline.js';
import { capturingLogger, silentLogger } from '../support.js';
import { startBroker, type TestBroker } from './broker.js';
import { connectDevice } from './device.js';

let broker: TestBroker;
let keys: CoreKeySet;
beforeAll(async () => {
  broker = await startBroker();
  keys = await generateCoreKeySet();
});
afterAll(() => broker?.stop());

/** Torn down after each test, last registered first: bridges before the pipeline they answer with. */
const teardown: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of teardown.splice(0).reverse()) await step();
});

/** An echo engine that holds the reply to one text until `open()`, and records how many replies each conversation had running at once. */
class GatedEngine extends EchoEngine {
  private readonly active = new Map<string, number>();
  readonly mostAtOnce = new Map<string, number>();
  private opened!: () => void;
  private readonly gate = new Promise<void>((resolve) => {
    this.opened = resolve;
  });

  constructor(private readonly heldText: string) {
    super();
  }

  open(): void {
    this.opened();
  }

  override async reply(message: Message, options?: ReplyOptions): Promise<string> {
    const id = message.conversation.id;
    const now = (this.active.get(id) ?? 0) + 1;
    this.active.set(id, now);
    this.mostAtOnce.set(id, Math.max(now, this.mostAtOnce.get(id) ?? 0));
    try {
      if (message.content.text === this.heldText) await this.gate;
      return await super.reply(message, options);
    } finally {
      this.active.set(id, (this.active.get(id) ?? 1) - 1);
    }
  }
}

/**
 * A real pipeline (echo engine, spied on to count generations; memory on SQLite in memory) and
 * bridges to the test broker on topics no other test uses.
 */
async function setup({ engine = new EchoEngine(), shared = false }: { engine?: EchoEngine; shared?: boolean } = {}) {
  const prefix = `hearth-test/${randomUUID()}`;
  const memory = await openMemory({ ...loadMemoryConfig({}), databasePath: ':memory:' }, silentLogger());
  const pipeline = new Pipeline({ keySet: keys, engine, memory, log: silentLogger(), send: () => false });
  teardown.push(async () => {
    await pipeline.dispose();
    await memory.dispose();
  });
  const generations = vi.spyOn(engine, 'reply');
  const { log, lines } = capturingLogger('debug');
  const env = { MQTT_URL: broker.url, HEARTH_MQTT_TOPIC: `${shared ? '$share/cores/' : ''}${prefix}/in/+`, HEARTH_MQTT_REPLY_TOPIC: `${prefix}/out/{device}` };
  const config = loadMqttConfig(env, `test-${randomUUID()}`);
  if (!config) throw new Error('MQTT_URL was set: the config cannot be off');

  /** A bridge as the core would start it; `coreId`: as another core would. */
  const start = async (more: Partial<MqttBridgeOptions> = {}, coreId?: string) => {
    const ownConfig = coreId ? { ...config, clientId: `hearth-${coreId}` } : config;
    const bridge = await startMqttBridge({ config: ownConfig, replyTo: (m) => pipeline.replyTo(m), cancel: (id) => pipeline.cancel(id), log, ...more });
    teardown.push(() => bridge.dispose());
    return bridge;
  };
  const device = async (name: string) => {
    const connected = await connectDevice(broker.url, `${prefix}/in/${name}`, `${prefix}/out/${name}`);
    teardown.push(() => connected.close());
    return connected;
  };
  /** The log lines with this message, parsed. */
  const logged = (msg: string) => lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === msg);
  return { start, device, generations, logged, lines, config };
}

const json = (id: string, text: string) => JSON.stringify({ id, text });

describe('MQTT bridge (against a real Mosquitto)', () => {
  it('answers a device on its reply topic, with a reply id derived from the message', async () => {
    const { start, device } = await setup();
    await start();
    const kitchen = await device('kitchen');
    await kitchen.publish(json('1', 'lights on'));
    expect(await kitchen.waitForReplies(1)).toEqual([{ id: 'reply:mqtt:kitchen:1', in_reply_to: 'mqtt:kitchen:1', text: 'lights on' }]);
  });

  it('answers plain text too, and a resend of it once', async () => {
    const { start, device, generations } = await setup();
    await start();
    const porch = await device('porch');
    await porch.publish('is the door locked?');
    await porch.publish('is the door locked?');
    const [first, second] = await porch.waitForReplies(2);
    expect(first).toMatchObject({ in_reply_to: expect.stringMatching(/^mqtt:porch:txt~/), text: 'is the door locked?' });
    expect(first?.id).toBe(`reply:${first?.in_reply_to}`);
    expect(second).toEqual(first);
    expect(generations).toHaveBeenCalledTimes(1);
  });

  it('answers the same id twice with the same reply, generated once', async () => {
    const { start, device, generations } = await setup();
    await start();
    const hall = await device('hall');
    await hall.publish(json('7', 'what time is it'));
    await hall.publish(json('7', 'what time is it'));
    const [first, second] = await hall.waitForReplies(2);
    expect(first).toEqual({ id: 'reply:mqtt:hall:7', in_reply_to: 'mqtt:hall:7', text: 'what time is it' });
    expect(second).toEqual(first);
    expect(generations).toHaveBeenCalledTimes(1);
  });

  it('drops what is invalid with a log line that does not quote it, and answers the next message', async () => {
    const { start, device, generations, logged, lines } = await setup();
    await start();
    const stranger = await device('bad device');
    await stranger.publish(json('1', 'my secret plan'));
    const garage = await device('garage');
    await garage.publish('{"text": 5}');
    await garage.publish('{"id": "2", "text": "my secret plan"');
    await garage.publish('x'.repeat(MAX_PAYLOAD_BYTES + 1));
    await garage.publish(new Uint8Array([0xff, 0xfe, 0x41]));
    await garage.publish(json('3', 'still here'));
    expect(await garage.waitForReplies(1)).toEqual([{ id: 'reply:mqtt:garage:3', in_reply_to: 'mqtt:garage:3', text: 'still here' }]);
    await expect.poll(() => logged('mqtt message dropped').length).toBe(5);
    const reasons = logged('mqtt message dropped').map((line) => String(line.reason));
    for (const expected of [/last level is not a device id/, /^id: /, /not valid JSON/, /65537 bytes is over the 65536-byte limit/, /not UTF-8/]) {
      expect(reasons.filter((reason) => expected.test(reason))).toHaveLength(1);
    }
    expect(lines.join('')).not.toContain('my secret plan');
    expect(generations).toHaveBeenCalledTimes(1);
    expect(stranger.replies).toEqual([]);
  });

  it("answers one device's messages one at a time, in order, and other devices meanwhile", async () => {
    const engine = new GatedEngine('A1');
    const { start, device, generations } = await setup({ engine });
    await start();
    const a = await device('a');
    const b = await device('b');
    for (const n of [1, 2, 3, 4]) await a.publish(json(String(n), `A${n}`));
    await expect.poll(() => generations.mock.calls.length).toBe(1);
    // A1 is held: b is answered all the same, and nothing of a's overtakes it.
    await b.publish(json('1', 'B1'));
    expect((await b.waitForReplies(1)).map((reply) => reply.text)).toEqual(['B1']);
    expect(a.replies).toEqual([]);
    engine.open();
    expect((await a.waitForReplies(4)).map((reply) => reply.text)).toEqual(['A1', 'A2', 'A3', 'A4']);
    expect(engine.mostAtOnce.get('mqtt:a')).toBe(1);
  });

  it('stops acknowledging while its backlog is full, and answers everything in order once there is room', async () => {
    const engine = new GatedEngine('M1');
    const { start, device, logged } = await setup({ engine });
    await start({ concurrency: 1, maxBacklog: 1 });
    const sensor = await device('sensor');
    for (const n of [1, 2, 3, 4, 5, 6]) await sensor.publish(json(String(n), `M${n}`));
    await expect.poll(() => logged('mqtt message received').length).toBeGreaterThanOrEqual(2);
    engine.open();
    expect((await sensor.waitForReplies(6)).map((reply) => reply.text)).toEqual(['M1', 'M2', 'M3', 'M4', 'M5', 'M6']);
    // Each message arrived with at most one other waiting: the broker held the rest.
    expect(Math.max(...logged('mqtt message received').map((line) => Number(line.backlog)))).toBe(1);
  });

  it('answers what arrived while it was stopped once it starts again (a persistent session)', async () => {
    const { start, device, generations } = await setup();
    const porch = await device('porch');
    const first = await start();
    await first.dispose();
    await porch.publish(json('while-away', 'anyone home?'));
    expect(generations).not.toHaveBeenCalled();
    await start();
    expect(await porch.waitForReplies(1)).toEqual([{ id: 'reply:mqtt:porch:while-away', in_reply_to: 'mqtt:porch:while-away', text: 'anyone home?' }]);
  });

  it('answers everything received before it stops', async () => {
    const { start, device, logged } = await setup({ engine: new EchoEngine(100) });
    const bridge = await start();
    const den = await device('den');
    for (const n of [1, 2, 3]) await den.publish(json(String(n), `D${n}`));
    await expect.poll(() => logged('mqtt message received').length).toBe(3);
    await bridge.dispose();
    expect(logged('mqtt replied').map((line) => line.messageId)).toEqual(['mqtt:den:1', 'mqtt:den:2', 'mqtt:den:3']);
    expect((await den.waitForReplies(3)).map((reply) => reply.text)).toEqual(['D1', 'D2', 'D3']);
  });

  it('stops the reply being written when the device sends /stop', async () => {
    const { start, device, generations } = await setup({ engine: new EchoEngine(60_000) });
    await start();
    const lamp = await device('lamp');
    await lamp.publish(json('1', 'tell me a long story'));
    await expect.poll(() => generations.mock.calls.length).toBe(1);
    await lamp.publish(json('2', '/stop'));
    expect((await lamp.waitForReplies(2)).map((reply) => reply.text)).toEqual(['(stopped)', 'Stopped.']);
  });

  it('shares the work among cores on a shared subscription: each message goes to one of them', async () => {
    const { start, device, logged } = await setup({ shared: true });
    await start({}, `core-a-${randomUUID()}`);
    await start({}, `core-b-${randomUUID()}`);
    const office = await device('office');
    for (const n of [1, 2, 3, 4]) await office.publish(json(String(n), `O${n}`));
    expect(new Set((await office.waitForReplies(4)).map((reply) => reply.id))).toEqual(new Set(['1', '2', '3', '4'].map((n) => `reply:mqtt:office:${n}`)));
    expect(logged('mqtt message received')).toHaveLength(4);
  });

  it('reconnects and subscribes again after the broker restarts', async () => {
    const { start, device, logged } = await setup();
    const bridge = await start();
    const before = await device('attic');
    await before.publish(json('1', 'before'));
    await before.waitForReplies(1);
    await broker.restart();
    await expect.poll(() => logged('mqtt reconnected').length, { timeout: 10_000 }).toBe(1);
    expect(logged('mqtt broker unreachable; reconnecting')).toHaveLength(1);
    expect(bridge.connected).toBe(true);
    // The broker kept no state: a device connecting now, and the bridge's new subscription.
    const after = await device('attic');
    await after.publish(json('2', 'after'));
    expect(await after.waitForReplies(1)).toEqual([{ id: 'reply:mqtt:attic:2', in_reply_to: 'mqtt:attic:2', text: 'after' }]);
  });
});

describe('MQTT bridge start-up', () => {
  const options = (url: string) => {
    const config = loadMqttConfig({ MQTT_URL: url }, `test-${randomUUID()}`);
    if (!config) throw new Error('MQTT_URL was set: the config cannot be off');
    return { config, replyTo: async () => 'unused', log: silentLogger() };
  };

  it('fails, naming MQTT_URL, when no broker answers', async () => {
    const gone = await startBroker();
    await gone.stop();
    const started = startMqttBridge(options(gone.url));
    await expect(started).rejects.toThrow(MqttError);
    await expect(started).rejects.toMatchObject({ code: 'mqtt_unreachable', message: expect.stringContaining(`${gone.url} (MQTT_URL) cannot be reached`) });
  });

  it('fails, pointing at the credentials, when the broker refuses the connection', async () => {
    const closed = await startBroker({ anonymous: false });
    try {
      const started = startMqttBridge(options(closed.url));
      await expect(started).rejects.toMatchObject({ name: 'MqttError', code: 'mqtt_refused', message: expect.stringMatching(/refused the connection: .*check the credentials in MQTT_URL/) });
    } finally {
      await closed.stop();
    }
  });
});
