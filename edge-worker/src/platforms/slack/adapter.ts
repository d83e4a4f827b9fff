import { HTTPException } from 'hono/http-exception';
import { log } from '../../log.js';
import type { InboundBatch, PlatformAdapter } from '../adapter.js';
import { parseJsonBody } from '../json-body.js';
import { notSetUp } from '../outbound.js';
import { isInteractivity, normalizeInteractivity } from './interactivity.js';
import { normalizeSlackEvent } from './normalize.js';
import { parseSlack, SlackEnvelopeSchema, SlackEventCallbackSchema, SlackUrlVerificationSchema } from './schema.js';
import { sendSlackPart, slackPacing, slackParts } from './send.js';
import { slackSignatureProblem } from './signature.js';

/** Slack's header on a redelivery (1, 2, 3): the message id is the same, so it dedupes. */
const RETRY_HEADER = 'X-Slack-Retry-Num';

/**
 * Slack Events API: every request signed with the app's signing secret (`X-Slack-Signature`,
 * HMAC over timestamp and raw body; more than 5 minutes old is a replay). The Request URL is
 * verified once with a `url_verification` challenge; then one event per POST. Button presses
 * (Interactivity) may come to the same URL, signed the same way.
 */
export const slackAdapter: PlatformAdapter = {
  platform: 'slack',

  enabled: (config) => config.slack !== undefined,

  async verify(request, rawBody, config) {
    const problem = config.slack ? await slackSignatureProblem(request.headers, rawBody, config.slack.signingSecret) : 'Slack is not set up';
    if (problem) throw new HTTPException(401, { message: problem });
    const retry = request.headers.get(RETRY_HEADER);
    if (retry) log('info', 'slack_retry', { attempt: retry, reason: request.headers.get('X-Slack-Retry-Reason') ?? 'unknown' });
  },

  parse(rawBody): InboundBatch {
    if (isInteractivity(rawBody)) return normalizeInteractivity(rawBody);
    const json = parseJsonBody(rawBody);
    const { type } = parseSlack(SlackEnvelopeSchema, json, 'request');
    if (type === 'url_verification') {
      const { challenge } = parseSlack(SlackUrlVerificationSchema, json, 'url_verification');
      return { messages: [], ignored: [], events: [], answer: { challenge } };
    }
    if (type === 'event_callback') return normalizeSlackEvent(parseSlack(SlackEventCallbackSchema, json, 'event_callback'));
    return { messages: [], ignored: [`envelope type "${type}" not handled`], events: [] };
  },

  parts: slackParts,

  sendPart: (reply, part, config) => (config.slack ? sendSlackPart(config.slack, reply, part) : notSetUp('Slack')),

  pacing: (_conversationId, config) => (config.slack ? slackPacing(config.slack) : { intervalMs: 0, maxPerSecond: 1 }),
};
