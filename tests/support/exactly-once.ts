import { expect } from 'vitest';
import { CoreProcess } from './core-process.js';
import type { System, TextUpdate } from './system.js';

/** `chat:message` of the update a sendMessage call answers. */
const answered = (body: Record<string, unknown>) =>
  `${String(body.chat_id)}:${(body.reply_parameters as { message_id?: number } | undefined)?.message_id}`;

/**
 * True once the Relay (asked as `hearth status` does) holds nothing that could still become a
 * reply: no message queued or in flight, no reply unsent. A duplicate would be one of those
 * until its call reached the fake, so counting after this catches a late one.
 */
export async function edgeSettled(system: Pick<System, 'coreCliEnv'>): Promise<boolean> {
  const cli = new CoreProcess(system.coreCliEnv, ['status', '--json']);
  await cli.exited;
  const report = JSON.parse(cli.stdout || '{}') as { edge?: { ok: boolean; status?: { pending: number; outbox_unsent: number } } };
  return report.edge?.status?.pending === 0 && report.edge.status.outbox_unsent === 0;
}

/**
 * Waits until every accepted update has a reply and the Relay has nothing left to send, then
 * checks the delivery promises: exactly one reply per accepted message, none for anything else,
 * and within each chat the replies in the order its messages were accepted.
 */
export async function expectExactlyOnceInOrder(system: Pick<System, 'telegram' | 'coreCliEnv'>, accepted: TextUpdate[], timeoutMs = 60_000): Promise<void> {
  const { telegram } = system;
  const wanted = new Set(accepted.map((u) => `${u.message.chat.id}:${u.message.message_id}`));
  const replies = () => telegram.callsOf('sendMessage').filter((c) => wanted.has(answered(c.body)));
  await telegram.waitFor(() => new Set(replies().map((c) => answered(c.body))).size === wanted.size, timeoutMs);
  await expect.poll(() => edgeSettled(system), { timeout: 30_000, interval: 200 }).toBe(true);

  const counts = new Map<string, number>();
  for (const call of telegram.callsOf('sendMessage')) counts.set(answered(call.body), (counts.get(answered(call.body)) ?? 0) + 1);
  const problems: string[] = [];
  for (const id of wanted) if (counts.get(id) !== 1) problems.push(`${id}: ${counts.get(id) ?? 0} replies`);
  const chats = new Set(accepted.map((u) => u.message.chat.id));
  for (const [id, n] of counts) {
    const chat = Number(id.split(':')[0]);
    if (chats.has(chat) && !wanted.has(id)) problems.push(`${id}: ${n} replies to a message never accepted`);
  }
  for (const chat of chats) {
    const expected = accepted.filter((u) => u.message.chat.id === chat).map((u) => u.message.message_id);
    const got = telegram
      .callsOf('sendMessage')
      .filter((c) => c.body.chat_id === String(chat))
      .map((c) => (c.body.reply_parameters as { message_id: number }).message_id);
    if (got.join() !== expected.join()) problems.push(`chat ${chat}: replies in order ${got.join()} for messages ${expected.join()}`);
  }
  if (problems.length > 0) throw new Error(`delivery promises broken:\n  ${problems.slice(0, 20).join('\n  ')}`);
}
