import type { Message } from '@hearth/shared';
import type { TurnTool } from '../inference/engine.js';
import type { PluginRouter } from '../plugins/registry.js';
import type { McpTools } from './servers.js';

/** Where a turn's tools come from. */
export interface ToolSources {
  plugins?: Pick<PluginRouter, 'toolsFor'> | undefined;
  mcp?: McpTools | undefined;
}

/**
 * The tools of a turn of `message`, before approval: the plugins', then the MCP servers' (a
 * name a plugin tool has stays the plugin's). What the model is offered, and what the owner may
 * expose at /mcp.
 */
export function offeredTools(message: Message, { plugins, mcp }: ToolSources): TurnTool[] {
  const pluginTools = plugins?.toolsFor(message) ?? [];
  return [...pluginTools, ...(mcp?.toolsFor(message, new Set(pluginTools.map((tool) => tool.name))) ?? [])];
}
