import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestBroker, startBroker } from '../../local-core/test/mqtt/broker.js';
import { connectDevice } from '../../local-core/test/mqtt/device.js';
import { startSystem, type System } from '../support/system.js';

/**
 * The seed's third protocol with every real part: a device on a real Mosquitto, a real core
 * process (`hearth start`, the real GGUF) subscribed to it, answering through the same pipeline
 * as Telegram; the edge runs too, as it would, though MQTT does not pass through it.
 */
let broker: TestBroker;
let system: System;
beforeAll(async () => {
  broker = await startBroker();
  system = await startSystem({ coreEnv: { MQTT_URL: broker.url, HEARTH_MQTT_TOPIC: 'e2e/in/+', HEARTH_MQTT_REPLY_TOPIC: 'e2e/out/{device}' } });
});
afterAll(async () => {
  await system?.stop();
  await broker?.stop();
});

describe('MQTT devices', () => {
  it('get the model’s reply on their reply topic, once per message id', async () => {
    expect(system.core.lines.find((l) => l.msg === 'core started')?.mqtt).toBe('on');
    const lamp = await connectDevice(broker.url, 'e2e/in/lamp', 'e2e/out/lamp');
    try {
      await lamp.publish(JSON.stringify({ id: '1', text: 'Once upon a time' }));
      await lamp.publish(JSON.stringify({ id: '1', text: 'Once upon a time' }));
      await lamp.publish(JSON.stringify({ id: '2', text: '/model' }));
      const replies = await lamp.waitForReplies(3);
      expect(replies[0]).toMatchObject({ id: 'reply:mqtt:lamp:1', in_reply_to: 'mqtt:lamp:1' });
      expect(replies[0]?.text.trim().length).toBeGreaterThan(0);
      // The resend of id 1 got the same reply, not a second generation.
      expect(replies[1]).toEqual(replies[0]);
      expect(replies[2]).toMatchObject({ in_reply_to: 'mqtt:lamp:2', text: expect.stringMatching(/^Model: .*\.gguf on cpu/) });
    } finally {
      await lamp.close();
    }
  });
});
