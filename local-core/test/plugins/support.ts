import { cp, mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CoreFrameBody, Message } from '@hearth/shared';
import { builtinCommandNames } from '../../src/commands/builtin.js';
import { type Db, openDatabase } from '../../src/memory/database.js';
import { PluginDataStore } from '../../src/plugins/data-store.js';
import { PushOutbox } from '../../src/plugins/outbox.js';
import { PluginRegistry } from '../../src/plugins/registry.js';
import { namespaceSupport } from '../../src/plugins/sandbox.js';
import { PluginStateStore } from '../../src/plugins/state.js';
import { capturingLogger, tempDir } from '../support.js';

/** A manifest with the required fields; `extra` overrides or adds any. */
export function manifest(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, version: '1.0.0', description: `the ${name} test plugin`, entry: 'handler.mjs', ...extra };
}

/** Writes `<root>/<name>/plugin.json` and its handler; returns the plugin's folder (real path). */
export async function writePlugin(root: string, name: string, manifestJson: Record<string, unknown>, handler: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'plugin.json'), JSON.stringify(manifestJson, null, 2));
  // An entry meant to escape the folder is the test's point: the handler then goes beside plugin.json.
  const entry = String(manifestJson.entry ?? 'handler.mjs');
  await writeFile(join(dir, entry.includes('..') ? 'handler.mjs' : entry), handler);
  return realpath(dir);
}

/** The repository's shipped plugin `name` copied into `root`, its manifest changed by `patch` (a test's host or cron). */
export async function copyShippedPlugin(root: string, name: string, patch: (manifest: Record<string, unknown>) => void = () => {}): Promise<string> {
  const dir = join(root, name);
  await cp(join(SHIPPED, name), dir, { recursive: true });
  const json = JSON.parse(await readFile(join(dir, 'plugin.json'), 'utf8')) as Record<string, unknown>;
  patch(json);
  await writeFile(join(dir, 'plugin.json'), JSON.stringify(json, null, 2));
  return dir;
}

/** The plugins shipped at the repository's root. */
const SHIPPED = resolve(import.meta.dirname, '../../../plugins');

/** Log lines (pino JSON) parsed, for assertions on what an operator reads. */
const parsed = (lines: readonly string[]): Record<string, unknown>[] => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

export interface PluginSpec {
  name: string;
  manifest: Record<string, unknown>;
  handler: string;
}

/**
 * A real registry on a temporary plugins folder and a real SQLite file, its pushes recorded as
 * the frames the tunnel would carry (`tunnelUp` decides whether the tunnel takes them).
 */
export interface OpenedRegistry {
  dir: string;
  root: string;
  db: Db;
  state: PluginStateStore;
  outbox: PushOutbox;
  registry: PluginRegistry;
  lines: string[];
  sent: CoreFrameBody[];
  logs(): Record<string, unknown>[];
  close(): Promise<void>;
}

export async function openRegistry(
  plugins: PluginSpec[],
  options: { env?: Record<string, string>; tunnelUp?: () => boolean; pollMs?: number; at?: string; isolation?: 'auto' | 'off'; sharedSecrets?: string[] } = {},
): Promise<OpenedRegistry> {
  // `at`: an existing folder (a restart of the same core), left in place on close.
  const { dir, cleanup } = options.at ? { dir: options.at, cleanup: async () => {} } : await tempDir();
  const root = join(dir, 'plugins');
  await mkdir(root, { recursive: true });
  for (const plugin of plugins) await writePlugin(root, plugin.name, plugin.manifest, plugin.handler);
  const db: Db = openDatabase(join(dir, 'core.db'));
  const state = new PluginStateStore(db);
  const { log, lines } = capturingLogger('debug');
  const sent: CoreFrameBody[] = [];
  const outbox = new PushOutbox(
    db,
    (frame) => {
      if (options.tunnelUp && !options.tunnelUp()) return false;
      sent.push(frame);
      return true;
    },
    log,
  );
  const registry = await PluginRegistry.open({
    dir: root,
    dataDir: join(dir, 'data'),
    state,
    data: new PluginDataStore(db),
    outbox,
    log,
    env: options.env ?? {},
    sharedSecrets: new Set(options.sharedSecrets ?? []),
    builtins: builtinCommandNames(),
    pollMs: options.pollMs ?? 60_000,
    // As a core runs by default: namespaces where bubblewrap works here.
    namespaces: options.isolation === 'off' ? undefined : optionalNamespaces(),
  });
  return {
    dir,
    root,
    db,
    state,
    outbox,
    registry,
    lines,
    sent,
    /** Log lines parsed, for asserting on what an operator reads. */
    logs: () => parsed(lines),
    close: async () => {
      await registry.dispose();
      db.close();
      await cleanup();
    },
  };
}

let nextMessage = 1;
/** A Telegram message in conversation `telegram:<chat>`. */
export function messageIn(chat: number, text: string): Message {
  const n = nextMessage++;
  return {
    message_id: `telegram:${chat}:${n}`,
    platform: 'telegram',
    conversation: { id: `telegram:${chat}`, type: 'private' },
    sender: { id: `telegram:${chat}`, name: 'Ada' },
    content: { text, attachments: [], entities: [] },
    reply_to: null,
    timestamp: 1,
  };
}

/** bubblewrap's namespaces when this machine has them (HEARTH_PLUGINS_ISOLATION=auto). */
function optionalNamespaces() {
  const support = namespaceSupport();
  return support.ok ? support : undefined;
}
