import { HTTPException } from 'hono/http-exception';
import type { PlatformAdapter } from '../adapter.js';
import { notSetUp } from '../outbound.js';
import { messageParts } from '../split-text.js';
import { sendEmailPart } from './send.js';

/** Past this a reply goes as more than one mail; a reply is at most 64 KiB anyway. */
const EMAIL_REPLY_MAX = 100_000;

/**
 * E-mail through Cloudflare Email Routing: mail comes in through the worker's `email()` handler
 * (inbound.ts), not a webhook; replies go out through the `send_email` binding, to the address
 * and under the subject kept sealed with the mail they answer (the reply context).
 */
export const emailAdapter: PlatformAdapter = {
  platform: 'email',

  usesReplyContext: true,

  enabled: (config) => config.email !== undefined,

  verify() {
    throw new HTTPException(404, { message: 'e-mail arrives through Email Routing (the worker\'s email handler), not a webhook' });
  },

  parse() {
    throw new HTTPException(404, { message: 'e-mail has no webhook' });
  },

  parts: (reply) => messageParts(reply.text, EMAIL_REPLY_MAX),

  sendPart: (reply, part, config) => (config.email ? sendEmailPart(config.email, reply, part) : notSetUp('E-mail')),

  // No spacing within a thread; a cap overall, well under what Email Routing takes.
  pacing: () => ({ intervalMs: 0, maxPerSecond: 10 }),
};
