import { describe, expect, it } from 'vitest';
import { deviceOf, filterProblem, replyTopicFor, topicMatches } from '../../src/mqtt/topics.js';

describe('MQTT topics', () => {
  it.each(['hearth/in/+', 'hearth/#', '#', '+/+', 'a//b', 'hearth/in/kitchen'])('accepts the filter %s', (filter) => {
    expect(filterProblem(filter)).toBeUndefined();
  });

  it.each(['', 'a/b#', 'a/#/b', 'a/+b', 'a/b\u0000'])('refuses the filter %j', (filter) => {
    expect(filterProblem(filter)).toBeTypeOf('string');
  });

  it.each([
    ['hearth/in/+', 'hearth/in/kitchen', true],
    ['hearth/in/+', 'hearth/in/kitchen/extra', false],
    ['hearth/in/+', 'hearth/in', false],
    ['hearth/#', 'hearth', true],
    ['hearth/#', 'hearth/out/kitchen', true],
    ['+/in/+', 'hearth/in/x', true],
    ['#', '$SYS/broker/uptime', false],
    ['hearth/in/kitchen', 'hearth/in/kitchen', true],
    ['hearth/in/kitchen', 'hearth/in/porch', false],
    ['$share/cores/hearth/in/+', 'hearth/in/kitchen', true],
    ['$share/cores/hearth/in/+', 'hearth/out/kitchen', false],
  ])('%s matches %s: %s', (filter, topic, matches) => {
    expect(topicMatches(filter, topic)).toBe(matches);
  });

  it('takes the device id from the last level, when it is one', () => {
    expect(deviceOf('hearth/in/kitchen-1.a_b')).toBe('kitchen-1.a_b');
    expect(deviceOf('kitchen')).toBe('kitchen');
    expect(deviceOf('hearth/in/')).toBeUndefined();
    expect(deviceOf('hearth/in/bad device')).toBeUndefined();
    expect(deviceOf(`hearth/in/${'x'.repeat(129)}`)).toBeUndefined();
  });

  it('fills the reply topic template', () => {
    expect(replyTopicFor('hearth/out/{device}', 'kitchen')).toBe('hearth/out/kitchen');
    expect(replyTopicFor('{device}/out/{device}', 'k')).toBe('k/out/k');
    expect(replyTopicFor('hearth/out', 'kitchen')).toBe('hearth/out');
  });
});
