import { join } from 'node:path';
import type { CoreKeySet } from '@hearth/shared';
import { loadCoreConfig } from '../../src/config.js';
import { type RunningCore, startCore } from '../../src/core.js';
import { writeNewKeySet } from '../../src/keys/key-store.js';
import { silentLogger, tempDir } from '../support.js';

/**
 * A real core (echo engine, SQLite in a temp folder, in-process queue, no admin port, no
 * recall) dialled into `edgeUrl`, with a fresh key. `stop` stops it and removes its folder.
 */
export async function startEchoCore(edgeUrl: string, coreId: string): Promise<{ running: RunningCore; keySet: CoreKeySet; stop: () => Promise<void> }> {
  const tmp = await tempDir();
  const env = {
    HEARTH_EDGE_URL: edgeUrl,
    HEARTH_CORE_ID: coreId,
    HEARTH_KEY_FILE: join(tmp.dir, 'core-key.json'),
    HEARTH_DATA_DIR: join(tmp.dir, 'data'),
    HEARTH_ENGINE: 'echo',
    HEARTH_ADMIN_PORT: '0',
    HEARTH_RECALL: 'off',
  };
  const keySet = await writeNewKeySet(env.HEARTH_KEY_FILE);
  const running = await startCore(loadCoreConfig(env), silentLogger());
  return {
    running,
    keySet,
    stop: async () => {
      await running.dispose();
      await tmp.cleanup();
    },
  };
}
