import { InvalidArgumentError } from 'commander';
import { LearningStore } from '../learning/store.js';
import { openDatabase } from '../memory/database.js';
import { parseDuration } from './duration.js';
import { coreDbPath } from './notes.js';

/**
 * Opens the learning tables in the core's database (`$HEARTH_DATA_DIR/core.db`), runs `body`,
 * closes it. Safe while the core runs: SQLite in WAL mode, writes wait their turn.
 */
export async function withLearningStore<T>(body: (store: LearningStore) => T | Promise<T>): Promise<T> {
  const db = openDatabase(coreDbPath(process.env));
  try {
    return await body(new LearningStore(db));
  } finally {
    db.close();
  }
}

/**
 * `--since`: a duration back from now (`30m`, `24h`, `7d`, `2w`) or a date (`2026-11-01`,
 * `2026-11-01T12:00:00Z`). Returns ms since the epoch.
 */
export function parseSince(value: string, now = Date.now()): number {
  const relative = parseDuration(value);
  if (relative !== undefined) return now - relative;
  const at = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at)) throw new InvalidArgumentError('a duration back from now (90s, 30m, 24h, 7d, 2w) or a date (2026-11-01, 2026-11-01T12:00:00Z)');
  return at;
}
