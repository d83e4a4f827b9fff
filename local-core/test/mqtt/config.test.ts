import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { loadMqttConfig } from '../../src/mqtt/config.js';

describe('loadMqttConfig', () => {
  it('is off when MQTT_URL is unset or empty', () => {
    expect(loadMqttConfig({}, 'core')).toBeUndefined();
    expect(loadMqttConfig({ MQTT_URL: '' }, 'core')).toBeUndefined();
  });

  it('has defaults for everything but the URL, and a client id from the core id', () => {
    expect(loadMqttConfig({ MQTT_URL: 'mqtt://127.0.0.1:1883' }, 'attic')).toEqual({
      url: 'mqtt://127.0.0.1:1883',
      username: undefined,
      password: undefined,
      topic: 'hearth/in/+',
      replyTopic: 'hearth/out/{device}',
      qos: 1,
      clientId: 'hearth-attic',
      sessionExpirySeconds: 604_800,
    });
  });

  it('takes the credentials out of the URL it keeps (that one is logged)', () => {
    const config = loadMqttConfig({ MQTT_URL: 'mqtts://hearth:p%40ss%3Aword@broker.lan:8883' }, 'core');
    expect(config).toMatchObject({ url: 'mqtts://broker.lan:8883', username: 'hearth', password: 'p@ss:word' });
  });

  it('reads every setting', () => {
    const config = loadMqttConfig(
      { MQTT_URL: 'mqtt://broker', HEARTH_MQTT_TOPIC: 'home/+/say/#', HEARTH_MQTT_REPLY_TOPIC: 'home/{device}/hear', HEARTH_MQTT_QOS: '2', HEARTH_MQTT_SESSION_EXPIRY: '3600' },
      'core',
    );
    expect(config).toMatchObject({ topic: 'home/+/say/#', replyTopic: 'home/{device}/hear', qos: 2, sessionExpirySeconds: 3600 });
  });

  it.each([
    [{ MQTT_URL: 'http://broker:1883' }, /^MQTT_URL must be mqtt:\/\/host/],
    [{ MQTT_URL: 'broker:1883' }, /^MQTT_URL must be/],
    [{ HEARTH_MQTT_TOPIC: 'hearth/in/dev+' }, /^HEARTH_MQTT_TOPIC has \+ in a level with other characters/],
    [{ HEARTH_MQTT_TOPIC: 'hearth/#/in' }, /^HEARTH_MQTT_TOPIC has # somewhere/],
    [{ HEARTH_MQTT_REPLY_TOPIC: 'hearth/out/+' }, /^HEARTH_MQTT_REPLY_TOPIC must be a topic without wildcards/],
    [{ HEARTH_MQTT_QOS: '3' }, /^HEARTH_MQTT_QOS must be 0, 1 \(default\) or 2/],
    [{ HEARTH_MQTT_SESSION_EXPIRY: '0' }, /^HEARTH_MQTT_SESSION_EXPIRY must be at least 60/],
    [{ HEARTH_MQTT_TOPIC: 'hearth/#', HEARTH_MQTT_REPLY_TOPIC: 'hearth/out/{device}' }, /^HEARTH_MQTT_REPLY_TOPIC \(hearth\/out\/\{device\}\) must not match HEARTH_MQTT_TOPIC/],
    [{ HEARTH_MQTT_TOPIC: '$share/cores/+/+/+', HEARTH_MQTT_REPLY_TOPIC: 'hearth/out/{device}' }, /^HEARTH_MQTT_REPLY_TOPIC .* must not match HEARTH_MQTT_TOPIC/],
  ])('refuses %o with an error naming the variable', (env, message) => {
    const load = () => loadMqttConfig({ MQTT_URL: 'mqtt://127.0.0.1', ...env }, 'core');
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(message);
  });
});
