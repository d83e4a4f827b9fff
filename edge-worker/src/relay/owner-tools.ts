import type { OwnerTool, OwnerToolResultFrame } from '@hearth/shared';
import { log } from '../log.js';
import { askCore, type CoreRefusal, type CoreRequestHost, PendingRequests } from './pending-requests.js';


/** The owner's exposed tools, or why there are none. */
export type OwnerToolsAnswer = { ok: true; tools: OwnerTool[] } | CoreRefusal;

/** An exposed tool's answer (`isError` when the tool said it failed), or why there is none. */
export type OwnerToolCallAnswer = { ok: true; text: string; isError: boolean } | CoreRefusal;

type Answer = { ok: true; frame: OwnerToolResultFrame } | CoreRefusal;

/**
 * The owner's tools at /mcp: they live at home (plugins, MCP servers), so listing and calling
 * them goes to one connected core as `owner_tools` / `owner_tool_call` and waits for its
 * `owner_tool_result` (by request id) until the timeout or the end of that core's session.
 * Nothing of it is kept here, not even the list.
 */
export class OwnerTools {
  private readonly pending = new PendingRequests<Answer>();

  constructor(private readonly host: CoreRequestHost) {}

  /** The tools the owner exposes to `user`'s MCP clients. */
  async list(user: string): Promise<OwnerToolsAnswer> {
    const answer = await this.ask((request_id) => ({ type: 'owner_tools', request_id, user }));
    return answer.ok ? { ok: true, tools: answer.frame.tools ?? [] } : answer;
  }

  /** Runs the exposed tool `name` with `args` at home. */
  async call(user: string, name: string, args: Record<string, unknown>): Promise<OwnerToolCallAnswer> {
    const answer = await this.ask((request_id) => ({ type: 'owner_tool_call', request_id, user, name, arguments: args }));
    return answer.ok ? { ok: true, text: answer.frame.text ?? '', isError: answer.frame.is_error === true } : answer;
  }

  /** A core's answer to either. */
  onResult(frame: OwnerToolResultFrame): void {
    const answer: Answer = frame.ok ? { ok: true, frame } : { ok: false, code: 'core_error', message: frame.error ?? 'the core could not answer' };
    if (!this.pending.settle(frame.request_id, answer)) log('warn', 'owner_tool_result_unexpected', { request_id: frame.request_id });
  }

  /** A tunnel ended: the requests sent on it will not be answered. */
  sessionEnded(sessionId: string): void {
    this.pending.settleSession(sessionId, { ok: false, code: 'core_error', message: 'the core disconnected before answering' });
  }

  private ask(request: (requestId: string) => Parameters<CoreRequestHost['send']>[1]): Promise<Answer> {
    return askCore(this.host, this.pending, "no core is connected to run the owner's tools; try again when it is", request);
  }
}
