import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { isPluginName } from './manifest.js';

/** The manifest `hearth plugins new NAME` writes: one command, one tool, no permissions. */
function scaffoldManifest(name: string): Record<string, unknown> {
  const command = name.replace(/-/g, '_').slice(0, 32);
  return {
    name,
    version: '0.1.0',
    description: `The ${name} plugin: say what it does here.`,
    entry: 'handler.mjs',
    commands: [{ name: command, description: `answers /${command} (edit handler.mjs)` }],
    tools: [
      {
        name: `${command}_echo`.slice(0, 64),
        description: 'Repeats the text it is given. Replace with what the model should be able to ask this plugin.',
        parameters: { type: 'object', properties: { text: { type: 'string', maxLength: 500 } }, required: ['text'], additionalProperties: false },
      },
    ],
    schedules: [],
    permissions: { network: [], lan: [], secrets: [], data: false },
    limits: { timeout_ms: 5000, memory_mb: 64, idle_cpu_ms: 100 },
  };
}

const handlerFor = (command: string, tool: string) => `// A Hearth plugin. It runs in a sandboxed JavaScript engine (QuickJS) with only what plugin.json
// grants: no Node APIs, no files, no sockets. It may import its own .js/.mjs files; it reaches the
// network through ctx.fetch (the hosts in permissions.network, LAN addresses in permissions.lan),
// keeps data through ctx.data (permissions.data), and has timers, console and crypto.randomUUID.
//
// ctx: { fetch(url, init), push({ text, conversationId?, id? }), log.info|warn|error(msg),
//        data.get|put|delete|list, secrets, conversationId, senderId, trigger }

export default {
  commands: {
    /** /${command} ARGS */
    ${command}: async (args, ctx) => {
      ctx.log.info('asked', { args });
      return args ? \`You said: \${args}\` : 'Hello from a new Hearth plugin. Edit handler.mjs to make me useful.';
    },
  },
  tools: {
    /** Called by the model with arguments that passed the schema in plugin.json. */
    ${tool}: async ({ text }) => ({ text }),
  },
};
`;

/**
 * Writes a new plugin folder `<root>/<name>` with a manifest and a handler that load as they are
 * (one command, one tool). The name is checked before any path is built from it.
 *
 * @throws ConfigError for a bad name or a folder that exists
 * @example
 * const dir = await scaffoldPlugin('plugins', 'my-plugin');
 */
export async function scaffoldPlugin(root: string, name: string): Promise<string> {
  if (!isPluginName(name)) throw new ConfigError(`"${name}" is not a plugin name: use 1-40 of a-z 0-9 and -, e.g. my-plugin`);
  const dir = join(root, name);
  try {
    await mkdir(root, { recursive: true });
    await mkdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ConfigError(`${dir} exists already: choose another name or remove it`);
    throw error;
  }
  const manifest = scaffoldManifest(name);
  const command = (manifest.commands as { name: string }[])[0]?.name ?? name;
  const tool = (manifest.tools as { name: string }[])[0]?.name ?? `${name}_echo`;
  await writeFile(join(dir, 'plugin.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(join(dir, 'handler.mjs'), handlerFor(command, tool));
  return dir;
}
