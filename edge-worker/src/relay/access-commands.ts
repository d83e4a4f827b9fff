import { formatPairingCode, normalizePairingCode, type AccessCommand, type AccessResultFrame } from '@hearth/shared';
import type { EdgeConfig } from '../config.js';
import { log } from '../log.js';
import { approveSender, listApproved, listPending, listRefusals, revokeSender, takePairing } from './access-store.js';
import type { ClientApi } from './client-api.js';
import type { CoreSockets } from './core-sockets.js';
import type { Delivery } from './delivery.js';
import type { QueueIndex } from './queue-index.js';
import type { Session } from './session.js';
import { relayStatus, type StatusDeps } from './status.js';

export interface AccessCommandsDeps {
  storage: DurableObjectStorage;
  sql: SqlStorage;
  queue: QueueIndex;
  config: () => EdgeConfig;
  cores: CoreSockets;
  /** An approved sender's held message is queued and delivered. */
  delivery: Delivery;
  /** A revoked client token's streams end. */
  api: ClientApi;
  status: StatusDeps;
}

/** The owner's `hearth pair ...` commands, over the tunnel their core key opened. */
export class AccessCommands {
  constructor(private readonly deps: AccessCommandsDeps) {}

  async run(ws: WebSocket, session: Session, requestId: string, command: AccessCommand): Promise<void> {
    const { storage, sql, queue, config, cores, delivery, api } = this.deps;
    const now = Date.now();
    const answer = (result: Omit<AccessResultFrame, 'v' | 'type' | 'request_id'>) =>
      cores.send(ws, { type: 'access_result', request_id: requestId, ...result });
    switch (command.action) {
      case 'approve': {
        const code = normalizePairingCode(command.code);
        const approved = storage.transactionSync(() => {
          const pairing = takePairing(sql, code, now);
          if (!pairing) return undefined;
          approveSender(sql, pairing.sender, pairing.name, now);
          const outcome = queue.insert(pairing.held, now, config().delivery);
          return { pairing, released: outcome === 'stored' };
        });
        if (!approved) {
          log('warn', 'pairing_code_unknown', { core_id: session.coreId });
          return answer({ ok: false, error: `no pending pairing code ${formatPairingCode(code)} (wrong, already used, or expired)` });
        }
        const { pairing, released } = approved;
        log('info', 'sender_paired', { sender: pairing.sender, core_id: session.coreId, released });
        answer({ ok: true, approved: { sender: pairing.sender, ...(pairing.name ? { name: pairing.name } : {}), released } });
        return delivery.queued(now);
      }
      case 'revoke': {
        const revoked = revokeSender(sql, command.sender);
        log('info', 'sender_revoked', { sender: command.sender, core_id: session.coreId, was_approved: revoked });
        return answer({ ok: true, revoked });
      }
      case 'status':
        return answer({ ok: true, status: relayStatus(this.deps.status, now) });
      case 'revoke_token': {
        const { revoked, closed } = api.revokeToken(command.jti, command.expires_at * 1000, now);
        log('info', 'client_token_revoked_by_owner', { jti: command.jti, core_id: session.coreId, streams_closed: closed });
        return answer({ ok: true, token_revoked: revoked });
      }
      case 'list':
        return answer({
          ok: true,
          pending: listPending(sql, now).map((p) => ({
            code: formatPairingCode(p.code),
            sender: p.sender,
            ...(p.name ? { name: p.name } : {}),
            expires_at: p.expiresAt,
          })),
          senders: listApproved(sql).map((a) => ({ sender: a.sender, ...(a.name ? { name: a.name } : {}), approved_at: a.approvedAt })),
          refusals: listRefusals(sql).map((r) => ({ reason: r.reason, count: r.count, since: r.since, last_at: r.lastAt })),
        });
    }
  }
}
