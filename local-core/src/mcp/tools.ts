import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { McpEntry } from './file.js';

/** Most characters of a tool's answer the model is given; the rest is cut, and it is told so. */
export const MAX_RESULT_CHARS = 16_384;
// What node-llama-cpp and chat templates accept as a function name (as for plugin tools).
const FUNCTION_NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/;

/**
 * The name the model sees for a server's tool: `SERVER__TOOL`, every character a function name
 * may not hold made `_`. Undefined when it is still no valid name (too long).
 *
 * @example
 * offeredName('my-files', 'read.file'); // 'my_files__read_file'
 */
export function offeredName(server: string, tool: string): string | undefined {
  const name = `${server}__${tool}`.replace(/[^a-zA-Z0-9_]/g, '_');
  return FUNCTION_NAME.test(name) ? name : undefined;
}

/**
 * Whether a call waits for the owner's yes: the entry's `approve` for the tool (or its `"*"`),
 * else the tool's annotations read as MCP defines their defaults: destructive unless it says
 * `readOnlyHint` or `destructiveHint: false`, open-world unless `openWorldHint: false`. Either one
 * needs approval. (Annotations are the server's word; the owner's entry has the last one.)
 */
export function needsApproval(entry: Pick<McpEntry, 'approve'>, tool: Pick<Tool, 'name' | 'annotations'>): boolean {
  const chosen = entry.approve[tool.name] ?? entry.approve['*'];
  if (chosen) return chosen === 'always';
  const hints = tool.annotations ?? {};
  const destructive = hints.readOnlyHint === true ? false : hints.destructiveHint !== false;
  const openWorld = hints.openWorldHint !== false;
  return destructive || openWorld;
}

interface CallResult {
  content?: unknown;
  structuredContent?: unknown;
  isError?: unknown;
  toolResult?: unknown;
}

/**
 * A tools/call result as the model is told it: the text of its content (other kinds named, not
 * inlined), else its structured content; `{ error }` when the tool says it failed. At most
 * MAX_RESULT_CHARS characters.
 */
export function resultForModel(result: CallResult): unknown {
  const parts = Array.isArray(result.content) ? result.content.map(describePart) : [];
  const text = parts.join('\n');
  if (result.isError === true) return { error: bounded(text || 'the tool failed without saying why') };
  if (text !== '') return bounded(text);
  const structured = result.structuredContent ?? result.toolResult;
  if (structured === undefined) return '';
  const json = JSON.stringify(structured);
  return json.length <= MAX_RESULT_CHARS ? structured : bounded(json);
}

function describePart(part: unknown): string {
  if (typeof part !== 'object' || part === null) return '';
  const item = part as Record<string, unknown>;
  if (item.type === 'text' && typeof item.text === 'string') return item.text;
  if (item.type === 'resource' && typeof item.resource === 'object' && item.resource !== null) {
    const resource = item.resource as Record<string, unknown>;
    return typeof resource.text === 'string' ? resource.text : `[resource ${String(resource.uri ?? '')}]`;
  }
  if (item.type === 'resource_link') return `[link ${String(item.uri ?? '')}]`;
  return `[${String(item.type)}${typeof item.mimeType === 'string' ? ` ${item.mimeType}` : ''}]`;
}

/** `text` cut to MAX_RESULT_CHARS, saying how much was left out. */
function bounded(text: string): string {
  return text.length <= MAX_RESULT_CHARS ? text : `${text.slice(0, MAX_RESULT_CHARS)}\n… (cut: ${text.length - MAX_RESULT_CHARS} more characters)`;
}
