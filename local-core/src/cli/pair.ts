import type { AccessCommand, AccessResultFrame } from '@hearth/shared';
import type { CoreConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { readKeySet } from '../keys/key-store.js';
import { ownerRequest } from '../tunnel/owner-request.js';

/**
 * `hearth pair approve|revoke|list`: the owner's side of pairing. The edge keeps who is let in
 * (it must turn strangers away while the core is off); the core key is what proves the owner.
 *
 * @throws ConfigError when the edge says no (a wrong or expired code), so the command exits 1
 */
export async function pairCommand(config: CoreConfig, command: AccessCommand): Promise<AccessResultFrame> {
  const keySet = await readKeySet(config.keyFile);
  const result = await ownerRequest({ edgeUrl: config.edgeUrl, coreId: config.coreId, purpose: 'owner', keySet }, command);
  if (!result.ok) throw new ConfigError(result.error ?? 'the edge refused the command');
  return result;
}

const when = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const who = (entry: { sender: string; name?: string | undefined }) => (entry.name ? `${entry.sender} (${entry.name})` : entry.sender);

/** What each reason the edge counts means, for the owner; a reason this core does not know is shown as it is. */
const REFUSAL_MEANING: Record<string, string> = {
  source_pending: 'refused: their group or channel already had a code waiting',
  evicted: 'evicted: the oldest code, dropped for a newer one (HEARTH_PAIRING_MAX_PENDING were waiting)',
};

/** What a pair command did, for people. */
export function formatPairResult(result: AccessResultFrame): string {
  if (result.approved) {
    const { released } = result.approved;
    return `approved ${who(result.approved)}${released ? ': their waiting message is queued and will be answered' : ''}\n`;
  }
  if (result.revoked !== undefined) return result.revoked ? 'revoked: they must pair again to talk to the assistant\n' : 'that sender was not approved by pairing\n';
  const pending = result.pending ?? [];
  const senders = result.senders ?? [];
  const refusals = result.refusals ?? [];
  const lines = [
    pending.length === 0 ? 'no codes waiting' : 'waiting for approval (hearth pair approve CODE):',
    ...pending.map((p) => `  ${p.code}  ${who(p)}  expires ${when(p.expires_at)}`),
    senders.length === 0 ? 'nobody approved by pairing yet' : 'approved by pairing (hearth pair revoke SENDER):',
    ...senders.map((s) => `  ${who(s)}  since ${when(s.approved_at)}`),
    // Only when something was turned away: many, or a rising count, means someone floods pairing.
    ...(refusals.length === 0 ? [] : ['codes turned away (many mean someone is flooding pairing):']),
    ...refusals.map((r) => `  ${r.count} since ${when(r.since)}, last ${when(r.last_at)}  ${REFUSAL_MEANING[r.reason] ?? r.reason}`),
  ];
  return `${lines.join('\n')}\n`;
}
