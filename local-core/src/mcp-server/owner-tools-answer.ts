import { apiSenderId, type CoreFrameBody, type Message, OWNER_TOOL_MAX_TEXT, type OwnerToolCallFrame, type OwnerToolsFrame } from '@hearth/shared';
import type { TurnTool } from '../inference/engine.js';
import type { Logger } from '../logger.js';
import { offeredTools, type ToolSources } from '../mcp/offered-tools.js';

type OwnerToolResult = Extract<CoreFrameBody, { type: 'owner_tool_result' }>;

export interface OwnerToolsOptions extends ToolSources {
  /** HEARTH_MCP_EXPOSE: the offered names the owner exposes at /mcp (`*`: every one that needs no approval). */
  expose: ReadonlySet<string>;
  log: Logger;
}

/**
 * A turn of the API user's `mcp` conversation, as the tools see their caller: plugin policy and
 * pushes (a reminder set through /mcp) then belong to that user, never to the owner's chats.
 */
function mcpTurn(user: string, requestId: string): Message {
  const now = Date.now();
  return {
    message_id: `api:${user}:mcp:${requestId}`,
    platform: 'api',
    conversation: { id: `api:${user}:mcp`, type: 'private' },
    sender: { id: apiSenderId(user) },
    content: { text: '', attachments: [], entities: [] },
    reply_to: null,
    timestamp: Math.floor(now / 1000),
    timestamp_ms: now,
  };
}

/**
 * The exposed tools for a turn: named in HEARTH_MCP_EXPOSE (or all with `*`), and never one that
 * needs the owner's approval, since nobody could press Run for a call made by another agent.
 */
function exposed(message: Message, options: OwnerToolsOptions): TurnTool[] {
  const all = options.expose.has('*');
  return offeredTools(message, options).filter((tool) => !tool.needsApproval && (all || options.expose.has(tool.name)));
}

/**
 * The `owner_tool_result` for an `owner_tools` (the list) or `owner_tool_call` frame from the
 * edge's /mcp. Never throws: the edge waits on the request id, so a failure is an answer too.
 *
 * @example
 * tunnel.send(await answerOwnerTools(frame, { plugins, mcp, expose: new Set(['weather__current']), log }));
 */
export async function answerOwnerTools(frame: OwnerToolsFrame | OwnerToolCallFrame, options: OwnerToolsOptions): Promise<OwnerToolResult> {
  const { request_id } = frame;
  const tools = exposed(mcpTurn(frame.user, request_id), options);
  if (frame.type === 'owner_tools') {
    return {
      type: 'owner_tool_result',
      request_id,
      ok: true,
      tools: tools.slice(0, 256).map((tool) => ({ name: tool.name, description: tool.description.slice(0, 1_000), input_schema: { ...tool.parameters } })),
    };
  }
  const tool = tools.find((candidate) => candidate.name === frame.name);
  if (!tool) {
    options.log.warn({ tool: frame.name, user: frame.user }, 'MCP client called a tool that is not exposed');
    return { type: 'owner_tool_result', request_id, ok: false, error: `${frame.name} is not one of the tools the owner exposes (HEARTH_MCP_EXPOSE)` };
  }
  const started = performance.now();
  const result = await tool.call(frame.arguments);
  const failed = typeof result === 'object' && result !== null && 'error' in result;
  options.log.info({ tool: tool.name, user: frame.user, failed, ms: Math.round(performance.now() - started) }, 'exposed tool called through /mcp');
  const text = typeof result === 'string' ? result : JSON.stringify(result);
  return { type: 'owner_tool_result', request_id, ok: true, text: text.slice(0, OWNER_TOOL_MAX_TEXT), is_error: failed };
}
