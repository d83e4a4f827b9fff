import PostalMime from 'postal-mime';
import { type EdgeConfig, loadConfig } from '../../config.js';
import { describeError, log } from '../../log.js';
import { storeInbound } from '../webhook.js';
import { sealReplyContext } from './context.js';
import { normalizeEmail } from './normalize.js';

/** Larger mail is refused: only its text is read, and a parse of more would cost CPU for nothing. */
const EMAIL_RAW_MAX = 10 * 1024 * 1024;

/** postal-mime's limits, far below its defaults: a mail to an assistant has a few parts, not thousands. */
const PARSE_LIMITS = { maxNestingDepth: 20, maxPartCount: 200, maxHeadersSize: 256 * 1024, maxRfc822NestingDepth: 2 };

/**
 * The worker's `email()` handler: mail Email Routing routes to the assistant's address. It
 * returns once the message is stored sealed in the Relay (or deliberately dropped); what it
 * cannot store for now it throws on, which Email Routing turns into a temporary SMTP failure (the
 * sending server keeps the mail and retries); what will never be taken it rejects
 * (`setReject`: a permanent failure, the sender is told why). Ignored mail (loops, bounces,
 * auto-replies) is accepted and dropped: rejecting it would answer an automaton.
 */
export async function receiveEmail(message: ForwardableEmailMessage, env: Env, _ctx: ExecutionContext): Promise<void> {
  let config: EdgeConfig;
  try {
    config = loadConfig(env);
  } catch (error) {
    // As a webhook answers 503: nothing is lost, the sending server retries.
    log('error', 'email_deferred', { reason: 'edge misconfigured', error: describeError(error) });
    throw error;
  }
  const reject = async (reason: string, fields: Record<string, unknown> = {}) => {
    log('warn', 'email_rejected', { reason, ...fields });
    // Awaited: under wrangler dev it is an RPC call that must land before the handler returns.
    await (message.setReject(reason) as unknown);
  };
  if (!config.email) return reject('this address takes no mail: e-mail is not set up at this assistant (EMAIL_ADDRESS)');
  if (message.rawSize > EMAIL_RAW_MAX) return reject(`message too large (over ${EMAIL_RAW_MAX / 1024 / 1024} MiB)`, { size: message.rawSize });
  let mail: Awaited<ReturnType<typeof PostalMime.parse>>;
  try {
    mail = await PostalMime.parse(await new Response(message.raw).arrayBuffer(), PARSE_LIMITS);
  } catch (error) {
    return reject('message is not MIME this assistant can read', { error: describeError(error).slice(0, 200) });
  }
  const now = Date.now();
  const result = await normalizeEmail(mail, message.from, config.email.address, now);
  if ('ignored' in result) return log('info', 'email_ignored', { reason: result.ignored });
  if ('refused' in result) return reject(result.refused, result.sender ? { sender: result.sender } : {});
  if ('deferred' in result) {
    // A temporary failure: the sending server retries, and the verdict may be final then.
    log('info', 'email_deferred', { reason: result.deferred, sender: result.sender });
    throw new Error(result.deferred);
  }
  const context = await sealReplyContext(result.context, config.email.contextKey, result.message.conversation.id);
  // A 503 of the Relay (full, unreachable) is thrown on: a temporary failure, retried.
  await storeInbound(env, config, result.message, { context });
}
