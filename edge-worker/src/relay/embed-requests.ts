import type { EmbedResultFrame } from '@hearth/shared';
import { log } from '../log.js';
import { modelsOf } from './core-models.js';
import { type CoreRequestHost, PendingRequests } from './pending-requests.js';

/** A core's embeddings (base64 float32, one per input), or why there are none. */
export type EmbedAnswer =
  | { ok: true; vectors: string[]; promptTokens: number }
  | { ok: false; code: 'core_offline' | 'core_timeout' | 'core_error' | 'invalid_input'; message: string };

/**
 * `POST /v1/embeddings` at the Relay: the vectors are computed at home, so each request goes to
 * one connected core that lists the model, as an `embed` frame, and waits for its
 * `embed_result` (by request id) until the timeout or the end of that core's session.
 */
export class EmbedRequests {
  private readonly pending = new PendingRequests<EmbedAnswer>();

  constructor(private readonly host: CoreRequestHost) {}

  /** Embeds `input` with `model` (an embedding model's id, as hello listed it) on a core that has it. */
  async embed(model: string, input: string[]): Promise<EmbedAnswer> {
    const cores = this.host.cores().filter(({ session }) => modelsOf(session)?.some((m) => m.kind === 'embedding' && m.id === model));
    // Any of them: the vectors are the same wherever they are computed.
    const core = cores[Math.floor(Math.random() * cores.length)];
    if (!core) return { ok: false, code: 'core_offline', message: `no connected core answers with ${model}; try again when one is` };
    const timeoutMs = this.host.timeoutMs();
    const requestId = crypto.randomUUID();
    const answer = this.pending.wait(requestId, core.session.sessionId, timeoutMs, () => ({
      ok: false,
      code: 'core_timeout',
      message: `the core did not answer within ${timeoutMs} ms`,
    }));
    this.host.send(core.ws, { type: 'embed', request_id: requestId, model, input });
    return answer;
  }

  /** A core's answer to an embed request. */
  onResult(frame: EmbedResultFrame): void {
    const answer: EmbedAnswer =
      frame.ok && frame.vectors
        ? { ok: true, vectors: frame.vectors, promptTokens: frame.prompt_tokens ?? 0 }
        : {
            ok: false,
            code: frame.code === 'input_too_long' ? 'invalid_input' : 'core_error',
            message: frame.error ?? 'the core could not compute the embeddings',
          };
    if (!this.pending.settle(frame.request_id, answer)) log('warn', 'embed_result_unexpected', { request_id: frame.request_id });
  }

  /** A tunnel ended: the requests sent on it will not be answered. */
  sessionEnded(sessionId: string): void {
    this.pending.settleSession(sessionId, { ok: false, code: 'core_error', message: 'the core disconnected before answering' });
  }
}
