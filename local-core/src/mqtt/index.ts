export { startMqttBridge, type MqttBridge, type MqttBridgeOptions } from './bridge.js';
export { loadMqttConfig, MqttEnvSchema, type MqttConfig, type QoS } from './config.js';
export { MqttError } from './errors.js';
export { parseInbound, type Inbound, type InboundContext } from './inbound.js';
export { KeyedQueue } from './keyed-queue.js';
export { PlainTextIds, type PlainTextId } from './plain-ids.js';
export { DEVICE_ID, deviceOf, filterProblem, isSharedFilter, replyTopicFor, topicMatches } from './topics.js';
export { DevicePayloadSchema, MAX_PAYLOAD_BYTES, MqttReplySchema, type DevicePayload, type MqttReply } from './wire.js';
