import { InvalidArgumentError } from 'commander';
import { LearningStore } from '../learning/store.js';
import { openDatabase } from '../memory/database.js';
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

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/**
 * `--since`: a duration back from now (`30m`, `24h`, `7d`, `2w`) or a date (`2026-11-01`,
 * `2026-11-01T12:00:00Z`). Returns ms since the epoch.
 */
export function parseSince(value: string, now = Date.now()): number {
  const relative = /^(\d{1,6})([mhdw])$/.exec(value.trim());
  if (relative?.[1] && relative[2]) return now - Number(relative[1]) * (UNITS[relative[2]] ?? 0);
  const at = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at)) throw new InvalidArgumentError('a duration back from now (30m, 24h, 7d, 2w) or a date (2026-11-01, 2026-11-01T12:00:00Z)');
  return at;
}
