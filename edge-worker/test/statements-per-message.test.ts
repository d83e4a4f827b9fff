import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { TestTunnel, chatMessage, enqueue, freshRelay, telegramCalls, waitFor, type RelayStub } from './helpers.js';

/** What the Relay asked of its SQLite while counting: statements by their first words, rows read. */
interface Tally {
  counting: boolean;
  statements: Map<string, number>;
  cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[];
}

/** Wraps the object's `sql.exec` (the Relay keeps the same SqlStorage) to tally what it runs. */
function tallyStatements(stub: RelayStub): Promise<Tally> {
  return runInDurableObject(stub, (_relay, state) => {
    const tally: Tally = { counting: false, statements: new Map(), cursors: [] };
    const sql = state.storage.sql;
    const exec = sql.exec.bind(sql);
    sql.exec = ((query: string, ...bindings: SqlStorageValue[]) => {
      const cursor = exec(query, ...bindings);
      if (tally.counting) {
        const kind = query.trim().split(/\s+/).slice(0, 3).join(' ');
        tally.statements.set(kind, (tally.statements.get(kind) ?? 0) + 1);
        tally.cursors.push(cursor);
      }
      return cursor;
    }) as typeof sql.exec;
    return tally;
  });
}

/** One message through the Relay: queued as the webhook does, delivered, streamed, acked with a reply, sent. */
async function roundTrip(stub: RelayStub, tunnel: TestTunnel, chat: number, n: number): Promise<void> {
  await enqueue(stub, chatMessage(chat, n));
  const delivery = await tunnel.next('deliver');
  expect(delivery.message_id).toBe(`telegram:${chat}:${n}`);
  // Streamed text, as a real core sends it: progress, but no storage write while the deadline is far.
  tunnel.send({ type: 'partial', message_id: delivery.message_id, seq: 0, text: 'answer' });
  tunnel.send({ type: 'ack', message_id: delivery.message_id, reply: { key: `reply:${delivery.message_id}`, text: `answer ${n}` } });
  await waitFor(
    async () => ((await telegramCalls()).some((c) => c.body.chat_id === String(chat) && c.body.text === `answer ${n}`) ? true : undefined),
    `reply ${n} sent`,
  );
}

describe('SQLite work per message', () => {
  it('stays a handful of statements from webhook to sent reply, however long the queue behind', async () => {
    const { name, stub } = freshRelay('statements');
    const tally = await tallyStatements(stub);
    // A backlog the old dispatch scanned on every pass: 27 messages, behind three heads in flight
    // (the test limits allow 10 pending per sender, 40 in all).
    const backlog = [9_200, 9_201, 9_202];
    for (const chat of backlog) for (let n = 1; n <= 9; n++) await enqueue(stub, chatMessage(chat, n));
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(backlog.length + 1);
    for (const _ of backlog) expect((await tunnel.next('deliver')).message_id).toMatch(/^telegram:920[0-2]:1$/);
    // Warm: the conversation's first delivery pins it to the core (one affinity write, once).
    await roundTrip(stub, tunnel, 9_101, 1);

    const messages = 10;
    const rowsOf: number[] = [];
    tally.counting = true;
    for (let n = 2; n < 2 + messages; n++) {
      const from = tally.cursors.length;
      await roundTrip(stub, tunnel, 9_101, n);
      rowsOf.push(tally.cursors.slice(from).reduce((sum, cursor) => sum + cursor.rowsRead, 0));
    }
    tally.counting = false;

    const statements = [...tally.statements.values()].reduce((a, b) => a + b, 0);
    const breakdown = JSON.stringify({ statements: Object.fromEntries(tally.statements), rowsReadPerMessage: rowsOf });
    // Store the message, hand it out, store the reply, ack, find the due reply, mark it sent.
    expect(statements / messages, breakdown).toBeLessThanOrEqual(6);
    // Rows read stay flat: not the 27 queued behind, nor the answered messages and sent replies
    // kept for dedupe, which grow with every message.
    expect(Math.max(...rowsOf), breakdown).toBeLessThan(27);
    expect(rowsOf.at(-1), breakdown).toBeLessThanOrEqual(rowsOf[0] ?? 0);
    tunnel.close();
  });
});
