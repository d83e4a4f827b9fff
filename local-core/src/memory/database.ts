import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/**
 * Opens (creating if needed) the core's SQLite database: the L3 tier, on disk, surviving
 * restarts. WAL so readers never wait for the writer; a busy timeout so two processes on one
 * file queue instead of failing. `:memory:` gives a throwaway database for tests.
 *
 * @example
 * const db = openDatabase('.hearth/core.db');
 */
export function openDatabase(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

/**
 * Versioned migrations, one list per component (history, recall, ...), so that each part of the
 * core owns its tables and can add steps without renumbering anyone else's. A step runs once, in
 * a transaction with the version bump: a crash mid-migration leaves the previous version intact.
 * Steps are append-only: never edit one that has shipped.
 *
 * @example
 * migrate(db, 'history', ['CREATE TABLE messages (...)', 'ALTER TABLE messages ADD COLUMN ...']);
 */
export function migrate(db: Db, component: string, steps: readonly string[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)');
  const row = db.prepare<[string], { version: number }>('SELECT version FROM schema_versions WHERE component = ?').get(component);
  const current = row?.version ?? 0;
  if (current > steps.length) {
    throw new Error(`the ${component} tables are at version ${current}, newer than this core knows (${steps.length}): upgrade hearth`);
  }
  const upgrade = db.transaction((from: number) => {
    for (const [index, step] of steps.entries()) if (index >= from) db.exec(step);
    db.prepare('INSERT INTO schema_versions (component, version) VALUES (?, ?) ON CONFLICT (component) DO UPDATE SET version = excluded.version').run(
      component,
      steps.length,
    );
  });
  if (current < steps.length) upgrade(current);
}
