import { type Db, migrate } from '../memory/database.js';

const MIGRATIONS = [
  `CREATE TABLE plugin_state (
     name TEXT PRIMARY KEY,
     enabled INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) STRICT;
   CREATE TABLE plugin_audience (
     plugin TEXT NOT NULL,
     conversation_id TEXT NOT NULL,
     first_at INTEGER NOT NULL,
     PRIMARY KEY (plugin, conversation_id)
   ) STRICT;
   CREATE TABLE plugin_outbox (
     key TEXT PRIMARY KEY,
     plugin TEXT NOT NULL,
     conversation_id TEXT NOT NULL,
     text TEXT NOT NULL,
     created_at INTEGER NOT NULL
   ) STRICT;`,
];

/**
 * What the core keeps about plugins in its SQLite: which are switched off (`hearth plugins
 * disable`; a plugin without a row is enabled), which conversations have used each plugin (the
 * only ones it may push to), and the outbox of pushes not yet handed to the tunnel.
 *
 * @example
 * const state = new PluginStateStore(openDatabase('.hearth/core.db'));
 * state.setEnabled('weather', false);
 */
export class PluginStateStore {
  private readonly statements;

  constructor(readonly db: Db) {
    migrate(db, 'plugins', MIGRATIONS);
    this.statements = {
      states: db.prepare<[], { name: string; enabled: number }>('SELECT name, enabled FROM plugin_state'),
      setEnabled: db.prepare<[string, number, number]>(
        'INSERT INTO plugin_state (name, enabled, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at',
      ),
      addAudience: db.prepare<[string, string, number]>('INSERT OR IGNORE INTO plugin_audience (plugin, conversation_id, first_at) VALUES (?, ?, ?)'),
      hasAudience: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM plugin_audience WHERE plugin = ? AND conversation_id = ?'),
    };
  }

  /** The plugins switched off; every other plugin found is enabled. */
  disabled(): Set<string> {
    return new Set(this.statements.states.all().filter((row) => row.enabled === 0).map((row) => row.name));
  }

  setEnabled(name: string, enabled: boolean): void {
    this.statements.setEnabled.run(name, enabled ? 1 : 0, Date.now());
  }

  /** `conversationId` used `plugin`: from now on the plugin may push to it. */
  addAudience(plugin: string, conversationId: string): void {
    this.statements.addAudience.run(plugin, conversationId, Date.now());
  }

  mayPush(plugin: string, conversationId: string): boolean {
    return this.statements.hasAudience.get(plugin, conversationId) !== undefined;
  }
}
