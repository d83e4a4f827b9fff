import type { CoreFrameBody } from '@hearth/shared';
import type { Logger } from '../logger.js';
import type { Db } from '../memory/database.js';

/** A push waiting for the tunnel. */
export interface QueuedPush {
  key: string;
  plugin: string;
  conversationId: string;
  text: string;
}

/**
 * Proactive pushes on their way to the Relay as `reply` frames. Each is written to SQLite first
 * (INSERT OR IGNORE by its idempotency key, so a retried push is one row), sent if the tunnel is
 * up, and deleted only once the Relay says it stored it (`confirm`, on its `reply_stored`): a
 * frame written into a tunnel that dies on the way is not lost. `flush` sends again whatever is
 * not confirmed (call it on the tunnel's `ready`). At least once from here; the Relay sends each
 * key once. (Its table belongs to PluginStateStore's migrations.)
 *
 * @example
 * const outbox = new PushOutbox(db, (frame) => tunnel.send(frame), log);
 * tunnel.on('ready', () => outbox.flush());
 * // TunnelClient's onReplyStored: (frame) => outbox.confirm(frame.key)
 */
export class PushOutbox {
  private readonly statements;

  constructor(
    db: Db,
    private readonly send: (frame: CoreFrameBody) => boolean,
    private readonly log: Logger,
  ) {
    this.statements = {
      put: db.prepare<[string, string, string, string, number]>(
        'INSERT OR IGNORE INTO plugin_outbox (key, plugin, conversation_id, text, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      waiting: db.prepare<[], { key: string; plugin: string; conversation_id: string; text: string }>(
        'SELECT key, plugin, conversation_id, text FROM plugin_outbox ORDER BY created_at, rowid',
      ),
      remove: db.prepare<[string]>('DELETE FROM plugin_outbox WHERE key = ?'),
    };
  }

  /** Queues a push and sends it now if the tunnel is up; true when it went out now. */
  push(push: QueuedPush): boolean {
    this.statements.put.run(push.key, push.plugin, push.conversationId, push.text, Date.now());
    return this.sendOne(push);
  }

  /** The Relay stored the push with this key: it is done here. */
  confirm(key: string): void {
    this.statements.remove.run(key);
  }

  /** Sends every push not yet confirmed, oldest first; returns how many went out. Stops at the first the tunnel refuses. */
  flush(): number {
    let sent = 0;
    for (const row of this.statements.waiting.all()) {
      if (!this.sendOne({ key: row.key, plugin: row.plugin, conversationId: row.conversation_id, text: row.text })) break;
      sent += 1;
    }
    if (sent > 0) this.log.info({ sent }, 'queued plugin pushes sent');
    return sent;
  }

  /** Pushes the Relay has not confirmed yet. */
  waiting(): QueuedPush[] {
    return this.statements.waiting.all().map((row) => ({ key: row.key, plugin: row.plugin, conversationId: row.conversation_id, text: row.text }));
  }

  private sendOne(push: QueuedPush): boolean {
    const sent = this.send({ type: 'reply', key: push.key, conversation_id: push.conversationId, in_reply_to: null, text: push.text });
    this.log.info({ plugin: push.plugin, key: push.key, conversationId: push.conversationId, sent }, sent ? 'plugin push sent' : 'plugin push queued until the tunnel is up');
    return sent;
  }
}
