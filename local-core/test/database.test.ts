import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, openDatabase } from '../src/memory/database.js';
import { tempDir } from './support.js';

let cleanup: (() => Promise<void>) | undefined;
afterEach(() => cleanup?.());

describe('the core database', () => {
  it("runs each component's migrations once, in order, and keeps them across reopening", async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    const path = join(tmp.dir, 'nested', 'core.db');
    const steps = ['CREATE TABLE a (x INTEGER)', 'ALTER TABLE a ADD COLUMN y TEXT'];
    const db = openDatabase(path);
    migrate(db, 'one', steps.slice(0, 1));
    migrate(db, 'two', ['CREATE TABLE b (z INTEGER)']);
    db.close();

    const reopened = openDatabase(path);
    migrate(reopened, 'one', steps);
    migrate(reopened, 'one', steps);
    reopened.prepare('INSERT INTO a (x, y) VALUES (1, ?)').run('ok');
    expect(reopened.prepare('SELECT component, version FROM schema_versions ORDER BY component').all()).toEqual([
      { component: 'one', version: 2 },
      { component: 'two', version: 1 },
    ]);
    expect(reopened.pragma('journal_mode', { simple: true })).toBe('wal');
    reopened.close();
  });

  it('leaves the old version intact when a step fails, and refuses tables newer than it knows', () => {
    const db = openDatabase(':memory:');
    migrate(db, 'c', ['CREATE TABLE c (x INTEGER)']);
    expect(() => migrate(db, 'c', ['CREATE TABLE c (x INTEGER)', 'CREATE TABLE d (', 'CREATE TABLE e (x INTEGER)'])).toThrow();
    expect(db.prepare("SELECT version FROM schema_versions WHERE component = 'c'").get()).toEqual({ version: 1 });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name IN ('d', 'e')").all()).toEqual([]);
    expect(() => migrate(db, 'c', [])).toThrow(/newer than this core knows/);
  });
});
