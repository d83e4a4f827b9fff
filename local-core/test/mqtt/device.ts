import { randomUUID } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';
import { expect } from 'vitest';
import { MqttReplySchema, type MqttReply } from '../../src/mqtt/wire.js';

/** A device on the test broker: publishes to its topic, collects the replies on its reply topic (each checked against the reply schema). */
export interface TestDevice {
  readonly replies: MqttReply[];
  publish(payload: string | Uint8Array, qos?: 0 | 1 | 2): Promise<void>;
  /** Waits until `count` replies have arrived, and returns them. */
  waitForReplies(count: number): Promise<MqttReply[]>;
  close(): Promise<void>;
}

/** A device called `name` publishing on `inTopic` and listening on `outTopic`. */
export async function connectDevice(url: string, inTopic: string, outTopic: string): Promise<TestDevice> {
  const client: MqttClient = await connectAsync(url, { protocolVersion: 5, clientId: `device-${randomUUID()}`, reconnectPeriod: 200 });
  const replies: MqttReply[] = [];
  client.on('message', (topic, payload) => {
    if (topic === outTopic) replies.push(MqttReplySchema.strict().parse(JSON.parse(payload.toString('utf8'))));
  });
  await client.subscribeAsync(outTopic, { qos: 1 });
  return {
    replies,
    async publish(payload, qos = 1) {
      await client.publishAsync(inTopic, typeof payload === 'string' ? payload : Buffer.from(payload), { qos });
    },
    async waitForReplies(count) {
      await expect.poll(() => replies.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(count);
      return replies;
    },
    close: () => client.endAsync(true),
  };
}
