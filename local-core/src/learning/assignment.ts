import { createHash } from 'node:crypto';
import type { ExperimentsConfig } from './variants.js';

/**
 * A user's point in [0, 1): the first 48 bits of SHA-256 of `<experiment>:<user>`. Pure: the
 * same user lands on the same point in every process, after every restart, on every core.
 */
export function bucketOf(experiment: string, userId: string): number {
  const digest = createHash('sha256').update(`${experiment}:${userId}`).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * The variant a user gets in the experiment: the weights, in the variants' order, cut [0, 1)
 * into consecutive shares; the user's {@link bucketOf} point falls into one.
 *
 * @example
 * assignVariant(config, 'telegram:42') // 'b', today and after any restart
 */
export function assignVariant(config: Pick<ExperimentsConfig, 'experiment'>, userId: string): string {
  const { name, weights } = config.experiment;
  const total = weights.reduce((sum, w) => sum + w.weight, 0);
  const point = bucketOf(name, userId) * total;
  let upTo = 0;
  for (const { variant, weight } of weights) {
    upTo += weight;
    if (point < upTo) return variant;
  }
  // Only floating-point rounding gets here: the last share.
  const last = weights.at(-1);
  if (!last) throw new Error('an experiment without variants');
  return last.variant;
}
