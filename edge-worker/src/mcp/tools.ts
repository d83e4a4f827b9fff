import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ApiConversationSchema, COMPLETION_CONVERSATION_PREFIX, HISTORY_PAGE_MAX, NOTE_SEARCH_MAX_HITS, type HistoryItem, type OwnerTool } from '@hearth/shared';
import { z } from 'zod';
import { log } from '../log.js';
import type { OwnerToolsAnswer } from '../relay/owner-tools.js';
import type { relayFor } from '../relay/stub.js';

type RelayStub = ReturnType<typeof relayFor>;

/** Most turns `recent_history` returns. */
const RECENT_MAX = 50;
/** Pages of history read to find the last turns (history pages oldest first). */
const RECENT_MAX_PAGES = 20;

const conversation = ApiConversationSchema.refine((id) => !id.startsWith(COMPLETION_CONVERSATION_PREFIX), {
  message: `a conversation named ${COMPLETION_CONVERSATION_PREFIX}* is a one-shot completion, never kept`,
}).describe('the name of one of your API conversations, e.g. "agent" (1-64 of A-Z a-z 0-9 . _ -); a new name starts one');

const text = (body: string, isError = false): CallToolResult => ({ content: [{ type: 'text', text: body }], ...(isError ? { isError: true } : {}) });

/** A failure the calling agent reads, never a protocol error: the core offline is an answer too. */
const failed = (refusal: { code: string; message: string }) =>
  text(refusal.code === 'core_offline' ? `Hearth's home core is offline: ${refusal.message}` : `${refusal.code}: ${refusal.message}`, true);

const turnOf = (item: HistoryItem) => ({ role: item.role, text: item.text, created_at: new Date(item.created_at).toISOString() });

/**
 * The last `limit` turns of a conversation. History pages run oldest first from a cursor, so
 * this reads pages (of HISTORY_PAGE_MAX) until the end, keeping the tail; a conversation past
 * RECENT_MAX_PAGES pages is cut there and says so.
 */
async function recentTurns(relay: RelayStub, user: string, id: string, limit: number): Promise<CallToolResult> {
  let tail: HistoryItem[] = [];
  let after: string | null = null;
  for (let page = 0; page < RECENT_MAX_PAGES; page++) {
    const answer = await relay.history(user, { kind: 'messages', conversation_id: id, after, limit: HISTORY_PAGE_MAX });
    if (!answer.ok) return failed(answer);
    tail = [...tail, ...answer.items].slice(-limit);
    const last = answer.items.at(-1);
    if (!answer.has_more || !last) return text(JSON.stringify({ conversation: id, turns: tail.map(turnOf) }));
    after = last.cursor;
  }
  return text(JSON.stringify({ conversation: id, turns: tail.map(turnOf), note: `read the first ${RECENT_MAX_PAGES * HISTORY_PAGE_MAX} turns only` }));
}

/** Hearth's own tools: an exposed tool of the owner's by one of these names is not offered. */
export const HEARTH_TOOLS: ReadonlySet<string> = new Set(['ask', 'recent_history', 'search_notes']);

/** The arguments' schema the SDK validates a call against: the tool's own JSON Schema, or any object when zod cannot read it. */
function argumentsSchema(tool: OwnerTool): z.ZodType<Record<string, unknown>> {
  try {
    const schema = z.fromJSONSchema(tool.input_schema);
    if (schema instanceof z.ZodObject) return schema as z.ZodType<Record<string, unknown>>;
  } catch {
    // An unusual schema: the core checks the arguments itself.
  }
  return z.looseObject({});
}

/**
 * Hearth's MCP server for one authenticated user: `ask`, `recent_history`, `search_notes`,
 * and the owner's exposed tools when `ownerTools` lists them (the route asks a core only for
 * the requests that need them). Each call goes over the tunnel to the home core (the edge keeps
 * nothing); a core that is offline or slow is a tool result with `isError`, which the agent can
 * read and act on.
 *
 * @example
 * const server = hearthMcpServer(relayFor(env), 'ada', await relayFor(env).ownerTools('ada'));
 */
export function hearthMcpServer(relay: RelayStub, user: string, ownerTools?: OwnerToolsAnswer): McpServer {
  const server = new McpServer({ name: 'hearth', version: '1' }, { instructions: "Hearth is the owner's home assistant: ask it, read its conversations, search its notes." });
  server.registerTool(
    'ask',
    {
      title: 'Ask the home assistant',
      description: "Sends `text` to Hearth's assistant in the named conversation and returns its reply. The turn is kept in that conversation's history, as a message from a device.",
      inputSchema: { conversation, text: z.string().min(1).max(16_384).describe('what to say') },
      annotations: { readOnlyHint: false, openWorldHint: false },
    },
    async (args) => {
      const answer = await relay.ask(user, args.conversation, args.text);
      return answer.ok ? text(answer.text) : failed(answer);
    },
  );
  server.registerTool(
    'recent_history',
    {
      title: 'Recent turns of a conversation',
      description: 'The last turns of one of your API conversations, oldest first, as JSON: role, text, created_at.',
      inputSchema: { conversation, limit: z.number().int().min(1).max(RECENT_MAX).default(20).describe(`how many turns (1-${RECENT_MAX})`) },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) => recentTurns(relay, user, args.conversation, args.limit),
  );
  server.registerTool(
    'search_notes',
    {
      title: "Search the owner's notes",
      description: "Searches the notes Hearth's recall holds for you and everyone (hearth notes add) by meaning; returns snippets with their cosine scores, best first, as JSON.",
      inputSchema: {
        query: z.string().min(1).max(4_000).describe('what to look for'),
        limit: z.number().int().min(1).max(NOTE_SEARCH_MAX_HITS).default(5).describe(`most snippets (1-${NOTE_SEARCH_MAX_HITS})`),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args) => {
      const answer = await relay.searchNotes(user, args.query, args.limit);
      return answer.ok ? text(JSON.stringify({ hits: answer.hits })) : failed(answer);
    },
  );
  for (const tool of ownerTools?.ok ? ownerTools.tools : []) {
    if (HEARTH_TOOLS.has(tool.name)) {
      log('warn', 'mcp_owner_tool_shadowed', { tool: tool.name });
      continue;
    }
    server.registerTool(
      tool.name,
      { description: tool.description, inputSchema: argumentsSchema(tool), annotations: { readOnlyHint: false, openWorldHint: true } },
      async (args) => {
        const answer = await relay.callOwnerTool(user, tool.name, args);
        return answer.ok ? text(answer.text, answer.isError) : failed(answer);
      },
    );
  }
  return server;
}

/** A stand-in for a tool a call names while no core can list the owner's tools: the agent reads why. */
export function unavailableTool(server: McpServer, name: string, refusal: { code: string; message: string }): void {
  server.registerTool(name, { description: "one of the owner's tools, unavailable now", inputSchema: z.looseObject({}) }, async () => failed(refusal));
}
