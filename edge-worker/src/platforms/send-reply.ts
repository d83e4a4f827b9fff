import { platformOf } from '@hearth/shared';
import type { EdgeConfig } from '../config.js';
import type { OutboundReply, SendOutcome } from './outbound.js';
import { sendTelegramMessage } from './telegram/send.js';

/** Routes a reply to its platform's sender by the conversation id's prefix. */
export async function sendReply(config: EdgeConfig, reply: OutboundReply): Promise<SendOutcome> {
  const platform = platformOf(reply.conversationId);
  switch (platform) {
    case 'telegram':
      return sendTelegramMessage(config.telegram, reply);
    default:
      return {
        ok: false,
        retryable: false,
        status: 0,
        description: `no sender for platform ${platform ?? 'unknown'} (${reply.conversationId})`,
      };
  }
}
