import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { parseEnv } from 'node:util';
import { builtinCommandNames } from '../commands/builtin.js';
import { DEFAULT_KEY_FILE } from '../config.js';
import { loadMemoryConfig } from '../memory/config.js';
import { openDatabase } from '../memory/database.js';
import { loadPluginsConfig } from '../plugins/config.js';
import { pluginInfos } from '../plugins/plugin-info.js';
import { namespaceSupport } from '../plugins/sandbox.js';
import { scanPlugins } from '../plugins/scan.js';
import { refuseSharedSecrets } from '../plugins/secret-policy.js';
import { PluginStateStore } from '../plugins/state.js';
import { TokenStore } from '../tokens/token-store.js';
import type { AuditFacts, FileFacts } from './audit-checks.js';

async function fileFacts(path: string): Promise<FileFacts> {
  const mode = await stat(path).then((info) => info.mode & 0o777, () => undefined);
  return { path, mode };
}

/** The core's database, when there is one yet (the audit creates nothing). */
function readDatabase<T>(path: string, read: (db: ReturnType<typeof openDatabase>) => T, fallback: T): T {
  if (!existsSync(path)) return fallback;
  const db = openDatabase(path);
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/**
 * What `hearth security audit` looks at on this machine: the core's settings (`env`, which .env
 * filled), the edge's (the environment, then `edgeVarsFile`), file modes, the plugins as the core
 * would load them, and the client tokens still valid. Read only: nothing is created or changed.
 *
 * @example
 * const facts = await gatherFacts(process.env, 'edge-worker/.dev.vars');
 */
export async function gatherFacts(env: NodeJS.ProcessEnv, edgeVarsFile: string, now = Date.now()): Promise<AuditFacts> {
  const edgeVars = parseEnv((await readFile(edgeVarsFile, 'utf8').catch(() => '')) || '');
  const memory = loadMemoryConfig(env);
  const plugins = loadPluginsConfig(env);
  const disabled = readDatabase(memory.databasePath, (db) => new PluginStateStore(db).disabled(), new Set<string>());
  const scanned = plugins.enabled ? refuseSharedSecrets(await scanPlugins(plugins.dir), plugins.sharedSecrets) : [];
  const nowS = Math.floor(now / 1000);
  const tokens = readDatabase(
    memory.databasePath,
    (db) =>
      new TokenStore(db)
        .list()
        .filter((token) => token.revoked_at === null && token.expires_at > nowS)
        .map((token) => ({ jti: token.jti, user: token.user, lifetimeS: token.expires_at - token.issued_at })),
    [],
  );
  return {
    core: env,
    edge: { ...edgeVars, ...Object.fromEntries(Object.entries(env).filter(([name]) => name in edgeVars || /^HEARTH_(?:ACCESS|ALLOWLIST|DIAGNOSTICS)/.test(name))) },
    keyFile: await fileFacts(env.HEARTH_KEY_FILE ?? DEFAULT_KEY_FILE),
    settingsFiles: await Promise.all(['.env', edgeVarsFile].map(fileFacts)),
    dataDir: await fileFacts(plugins.dataDir),
    nodeVersion: process.versions.node,
    plugins: { enabled: plugins.enabled, isolation: plugins.isolation, infos: pluginInfos(scanned, disabled, builtinCommandNames(), env) },
    namespaces: namespaceSupport(),
    tokens,
  };
}
