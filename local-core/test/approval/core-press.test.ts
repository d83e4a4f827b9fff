import { join } from 'node:path';
import { publicKeySet, seal, type CoreFrame, type Message } from '@hearth/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPIRED_NOTE } from '../../src/approval/desk.js';
import { loadCoreConfig } from '../../src/config.js';
import { startCore } from '../../src/core.js';
import { writeNewKeySet } from '../../src/keys/key-store.js';
import { silentLogger, tempDir } from '../support.js';
import { type LoopbackEdge, startLoopbackEdge } from '../tunnel/loopback-edge.js';

/**
 * The core's side of the press lane: with its one sequence busy on a turn, a delivery marked
 * `press` is still handled at once (behind the job queue it would wait for that very turn).
 */
let dir: string;
let cleanup: () => Promise<void>;
let edge: LoopbackEdge;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  edge = await startLoopbackEdge();
});
afterAll(async () => {
  await edge?.close();
  await cleanup?.();
});

const message = (id: string, text: string, button = false): Message => ({
  message_id: id,
  platform: 'telegram',
  conversation: { id: 'telegram:81', type: 'private' },
  sender: { id: 'telegram:81' },
  content: { text, attachments: [], entities: button ? [{ type: 'button', offset: 0, length: 0, value: text }] : [] },
  reply_to: null,
  timestamp: 1,
});

describe('a press reaching a busy core', { timeout: 30_000 }, () => {
  it('is answered while the turn holding the only sequence still runs', async () => {
    const keyFile = join(dir, 'core-key.json');
    const keys = await writeNewKeySet(keyFile);
    const env = {
      HEARTH_EDGE_URL: edge.url,
      HEARTH_KEY_FILE: keyFile,
      HEARTH_DATA_DIR: join(dir, 'data'),
      HEARTH_ENGINE: 'echo',
      // The turn runs until it is stopped.
      HEARTH_ECHO_DELAY_MS: '600000',
      HEARTH_SEQUENCES: '1',
      HEARTH_ADMIN_PORT: '0',
      HEARTH_RECALL: 'off',
      HEARTH_PLUGINS: 'off',
      HEARTH_MCP_CONFIG: join(dir, 'mcp.json'),
    };
    const core = await startCore(loadCoreConfig(env), silentLogger());
    try {
      await edge.next((frame): frame is Extract<CoreFrame, { type: 'hello' }> => frame.type === 'hello');
      const deliver = async (m: Message, press = false) =>
        edge.send({ type: 'deliver', message_id: m.message_id, conversation_id: m.conversation.id, attempt: 1, sealed: await seal(JSON.stringify(m), publicKeySet(keys)), ...(press ? { press: true as const } : {}) });
      await deliver(message('telegram:81:1', 'a long story'));
      await edge.next((frame): frame is Extract<CoreFrame, { type: 'progress' }> => frame.type === 'progress' && frame.message_id === 'telegram:81:1');
      await deliver(message('telegram:81:cb:2', 'ap:r:Q7xk2mP9vR4tW1yZ3bN5cA', true), true);
      const ack = await edge.next((frame): frame is Extract<CoreFrame, { type: 'ack' }> => frame.type === 'ack' && frame.message_id === 'telegram:81:cb:2');
      expect(ack.reply?.text).toBe(EXPIRED_NOTE);
      // The turn is still running: nothing acked it yet.
      expect(edge.received.some((frame) => frame.type === 'ack' && frame.message_id === 'telegram:81:1')).toBe(false);
      edge.send({ type: 'cancel', message_id: 'telegram:81:1' });
      await edge.next((frame): frame is Extract<CoreFrame, { type: 'ack' }> => frame.type === 'ack' && frame.message_id === 'telegram:81:1');
    } finally {
      await core.dispose();
    }
  });
});
