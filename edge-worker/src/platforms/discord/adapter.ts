import { HTTPException } from 'hono/http-exception';
import type { InboundBatch, PlatformAdapter } from '../adapter.js';
import { parseJsonBody } from '../json-body.js';
import { notSetUp } from '../outbound.js';
import { InteractionResponse, normalizeCommand, normalizePress } from './normalize.js';
import { CommandInteractionSchema, ComponentInteractionSchema, InteractionEnvelopeSchema, InteractionType, parseDiscord } from './schema.js';
import { discordPacing, discordParts, sendDiscordPart, sendDiscordTyping } from './send.js';
import { discordSignatureProblem } from './signature.js';

/**
 * Discord's Interactions Endpoint: every request signed with the application's Ed25519 key
 * (`X-Signature-Ed25519` over timestamp and raw body). A PING when the URL is saved; then slash
 * commands and button presses, each answered at once in the HTTP response (within 3 s), the
 * reply later through the interaction's webhook (its token lives 15 minutes) or the bot.
 */
export const discordAdapter: PlatformAdapter = {
  platform: 'discord',

  enabled: (config) => config.discord !== undefined,

  async verify(request, rawBody, config) {
    const problem = config.discord ? await discordSignatureProblem(request.headers, rawBody, config.discord.publicKey) : 'Discord is not set up';
    if (problem) throw new HTTPException(401, { message: problem });
  },

  async parse(rawBody, config): Promise<InboundBatch> {
    if (!config.discord) throw new HTTPException(404, { message: 'Discord is not set up' });
    const json = parseJsonBody(rawBody);
    const { type } = parseDiscord(InteractionEnvelopeSchema, json, 'interaction');
    const { botToken } = config.discord;
    switch (type) {
      case InteractionType.Ping:
        return { messages: [], ignored: [], events: [], answer: { type: InteractionResponse.Pong } };
      case InteractionType.ApplicationCommand:
        return normalizeCommand(botToken, parseDiscord(CommandInteractionSchema, json, 'application command'));
      case InteractionType.MessageComponent:
        return normalizePress(botToken, parseDiscord(ComponentInteractionSchema, json, 'message component'));
      default:
        return { messages: [], ignored: [`interaction type ${type} not handled`], events: [] };
    }
  },

  async typing(conversationId, _messageId, config) {
    if (config.discord) await sendDiscordTyping(config.discord, conversationId);
  },

  parts: discordParts,

  sendPart: (reply, part, config) => (config.discord ? sendDiscordPart(config.discord, reply, part) : notSetUp('Discord')),

  pacing: () => discordPacing,
};
