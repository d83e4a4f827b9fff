import { completionEvents } from '../api/ndjson.js';
import { log } from '../log.js';
import type { Announcement } from './client-api.js';
import type { CompletionStreams } from './completions.js';
import type { EnqueueOutcome, Envelope } from './queue.js';

/** The assistant's reply to an MCP `ask`, or why there is none. */
export type AskAnswer = { ok: true; text: string } | { ok: false; code: string; message: string };

/** What of the Relay an ask uses. */
export interface AskHost {
  readonly completions: CompletionStreams;
  /** Whether a core that answers API clients is connected. */
  coreConnected(): boolean;
  enqueue(envelope: Envelope, options: { announce: Announcement; stops: boolean }): Promise<{ outcome: EnqueueOutcome | string }>;
  timeoutMs(): number;
}

/**
 * MCP `ask` at the Relay: a message in one of the user's API conversations, queued and
 * announced like a device's (so it is kept in history with its reply), whose caller waits on
 * the line for the ack, as a chat completion's does. Past the timeout the caller is told so;
 * the message stays queued, and its reply still reaches the history and the user's devices.
 */
export async function askInRelay(
  host: AskHost,
  envelope: Envelope,
  { announce, stops }: { announce: Announcement; stops: boolean },
): Promise<AskAnswer> {
  if (!host.coreConnected()) return { ok: false, code: 'core_offline', message: 'no core is connected to answer; try again when it is' };
  const timeoutMs = host.timeoutMs();
  const stream = host.completions.start(envelope.message_id, timeoutMs, (why) => log('info', 'mcp_ask_unanswered', { message_id: envelope.message_id, why }));
  const { outcome } = await host.enqueue(envelope, { announce, stops });
  if (outcome !== 'stored') {
    host.completions.end(envelope.message_id, { type: 'error', code: outcome === 'full' ? 'queue_full' : 'not_queued', message: `the message was not queued (${outcome})` });
  }
  for await (const event of completionEvents(stream)) {
    if (event.type === 'done') return { ok: true, text: event.text };
    if (event.type === 'error') return { ok: false, code: event.code, message: event.message };
  }
  return { ok: false, code: 'core_error', message: 'the reply ended early' };
}
