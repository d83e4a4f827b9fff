import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';

/** The small real model tests load (see ../shared/models/README.md). */
export const TEST_MODEL = resolve(process.env.HEARTH_TEST_MODEL ?? join(import.meta.dirname, '../../../shared/models/stories260K.gguf'));

export const silentLogger = () => pino({ level: 'silent' });

/** A temporary folder, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-core-test-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
