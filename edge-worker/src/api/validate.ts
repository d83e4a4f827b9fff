import { zValidator } from '@hono/zod-validator';
import type { ValidationTargets } from 'hono';
import type { ZodType } from 'zod';
import { ApiError } from './errors.js';

/**
 * `@hono/zod-validator` with our refusal: 400 `invalid_request` naming the first bad field.
 * Malformed JSON is refused by Hono's own validator as 400 before the schema runs.
 *
 * @example
 * v1.post('/messages', validate('json', PostMessageSchema), handler);
 */
export const validate = <T extends ZodType, Target extends keyof ValidationTargets>(target: Target, schema: T) =>
  zValidator(target, schema, (result) => {
    if (result.success) return;
    const issue = result.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new ApiError(400, 'invalid_request', `${where}${issue?.message ?? 'invalid request'}`);
  });
