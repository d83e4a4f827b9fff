/**
 * MQTT topic helpers: what a valid subscription filter is, whether a topic matches one, and
 * where a device's id and its reply topic come from.
 */

/** A device id: the last level of the topic it publishes to. It also names its reply topic. */
export const DEVICE_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** What `{device}` in a reply topic template is replaced with. */
export const DEVICE_PLACEHOLDER = '{device}';

/**
 * Why `filter` is not a valid MQTT topic filter, or undefined when it is: `+` must fill a whole
 * level, `#` must be the whole last level (MQTT 5 §4.7).
 */
export function filterProblem(filter: string): string | undefined {
  if (filter === '') return 'is empty';
  if (filter.includes('\u0000')) return 'contains a NUL character';
  if (new TextEncoder().encode(filter).length > 65_535) return 'is longer than 65535 bytes';
  const levels = filter.split('/');
  for (const [index, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1)) return 'has # somewhere other than as the whole last level';
    if (level.includes('+') && level !== '+') return 'has + in a level with other characters';
  }
  return undefined;
}

const SHARED = /^\$share\/[^/+#]+\//;

/** Whether `filter` is a shared subscription (`$share/<group>/<filter>`): the broker gives each message to one subscriber of the group. */
export const isSharedFilter = (filter: string): boolean => SHARED.test(filter);

/** Whether `topic` (a concrete topic, no wildcards) matches the subscription `filter` (shared or not). */
export function topicMatches(filter: string, topic: string): boolean {
  if (isSharedFilter(filter)) return topicMatches(filter.replace(SHARED, ''), topic);
  // Wildcards at the first level never match `$SYS/...` and other broker topics.
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const want = filter.split('/');
  const have = topic.split('/');
  for (const [index, level] of want.entries()) {
    if (level === '#') return true;
    const actual = have[index];
    if (actual === undefined || (level !== '+' && level !== actual)) return false;
  }
  return want.length === have.length;
}

/** The device that published on `topic`: its last level, when that is a valid device id. */
export function deviceOf(topic: string): string | undefined {
  const last = topic.slice(topic.lastIndexOf('/') + 1);
  return DEVICE_ID.test(last) ? last : undefined;
}

/**
 * The topic a device's replies go to: the template with every `{device}` replaced. Device ids
 * are plain characters (see {@link DEVICE_ID}), so the result never holds a wildcard or an extra level.
 *
 * @example
 * replyTopicFor('hearth/out/{device}', 'kitchen'); // 'hearth/out/kitchen'
 */
export function replyTopicFor(template: string, device: string): string {
  return template.replaceAll(DEVICE_PLACEHOLDER, device);
}
