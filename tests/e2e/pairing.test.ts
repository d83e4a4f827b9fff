import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreProcess } from '../support/core-process.js';
import { startSystem, textUpdate, type System } from '../support/system.js';

/**
 * Pairing, the default policy, with every real part: the edge under workerd turns an unknown
 * sender away with a code, the owner runs `hearth pair approve CODE` (a real CLI process that
 * speaks to the edge over the tunnel with the core key), and the real core answers the message
 * that had been held.
 */
let system: System;
beforeAll(async () => {
  system = await startSystem({ edgeVars: { HEARTH_ACCESS_POLICY: 'pairing' } });
});
afterAll(() => system?.stop());

const sendsTo = (chatId: number) => system.telegram.callsOf('sendMessage').filter((c) => c.body.chat_id === String(chatId));
const isNotice = (text: unknown) => String(text).includes('hearth pair approve');

/** Runs `hearth pair ...` as the owner and returns its exit code and output. */
async function pair(...args: string[]) {
  const cli = new CoreProcess(system.coreCliEnv, ['pair', ...args]);
  const code = await cli.exited;
  return { code, stdout: cli.stdout, output: cli.raw.join('\n') };
}

async function codeSentTo(chatId: number): Promise<string> {
  await system.telegram.waitFor(() => sendsTo(chatId).some((c) => isNotice(c.body.text)), 15_000);
  const notice = String(sendsTo(chatId).find((c) => isNotice(c.body.text))?.body.text);
  const code = /hearth pair approve ([A-Z2-9]{4}-[A-Z2-9]{4})/.exec(notice)?.[1];
  if (!code) throw new Error(`no code in the notice: ${notice}`);
  return code;
}

describe('pairing: unknown sender → code → hearth pair approve → answered', () => {
  it('holds the first message, lets the sender in on approval, and answers that message', async () => {
    const chat = 5501;
    const first = textUpdate(chat, 'Once upon a time');
    const firstId = `telegram:${chat}:${first.message.message_id}`;
    const response = await system.postUpdate(first);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, stored: 0, duplicates: 0, withheld: 1, ignored: 0 });
    const code = await codeSentTo(chat);
    // Held at the edge, not queued: the core never saw it.
    expect(system.core.lines.some((l) => l.messageId === firstId)).toBe(false);

    const listed = await pair('list', '--json');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({ ok: true, pending: [{ code, sender: `telegram:${chat}`, name: 'Ada' }] });

    const approved = await pair('approve', code.toLowerCase());
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`approved telegram:${chat} (Ada): their waiting message is queued`);

    await system.telegram.waitFor(() => sendsTo(chat).some((c) => !isNotice(c.body.text)), 30_000);
    const answer = sendsTo(chat).find((c) => !isNotice(c.body.text));
    expect(answer?.body).toMatchObject({ reply_parameters: { message_id: first.message.message_id } });
    expect(String(answer?.body.text).trim().length).toBeGreaterThan(0);
    expect(system.core.lines.filter((l) => l.msg === 'replied' && l.messageId === firstId)).toHaveLength(1);

    // Let in: the next message is queued at once, and no second code is sent.
    const next = await system.postUpdate(textUpdate(chat, 'and then'));
    expect(await next.json()).toMatchObject({ stored: 1, withheld: 0 });
    await system.telegram.waitFor(() => sendsTo(chat).filter((c) => !isNotice(c.body.text)).length === 2, 30_000);
    expect(sendsTo(chat).filter((c) => isNotice(c.body.text))).toHaveLength(1);
  });

  it('refuses a used or wrong code with exit 1 and says why', async () => {
    const chat = 5502;
    await system.postUpdate(textUpdate(chat, 'hello'));
    const code = await codeSentTo(chat);
    expect((await pair('approve', code)).code).toBe(0);
    const again = await pair('approve', code);
    expect(again.code).toBe(1);
    expect(again.output).toContain(`no pending pairing code ${code}`);
    const wrong = await pair('approve', 'ZZZZ-ZZZZ');
    expect(wrong.code).toBe(1);
    expect(wrong.output).toContain('no pending pairing code ZZZZ-ZZZZ');
  });

  it('shuts a revoked sender out again: their next message gets a new code, not an answer', async () => {
    const chat = 5503;
    await system.postUpdate(textUpdate(chat, 'hi'));
    expect((await pair('approve', await codeSentTo(chat))).code).toBe(0);
    await system.telegram.waitFor(() => sendsTo(chat).some((c) => !isNotice(c.body.text)), 30_000);

    const revoked = await pair('revoke', `telegram:${chat}`);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain('revoked');
    const after = await system.postUpdate(textUpdate(chat, 'still there?'));
    expect(await after.json()).toMatchObject({ stored: 0, withheld: 1 });
    await system.telegram.waitFor(() => sendsTo(chat).filter((c) => isNotice(c.body.text)).length === 2, 15_000);
    expect(sendsTo(chat).filter((c) => !isNotice(c.body.text))).toHaveLength(1);
  });

  it('counts what the edge turns away and shows it in hearth pair list: a group holds one code, however many members ask', async () => {
    const group = -1005504;
    const ask = (member: number) => {
      const update = textUpdate(group, '/ask hello');
      return {
        ...update,
        message: {
          ...update.message,
          chat: { id: group, type: 'supergroup', title: 'Lab' },
          from: { id: member, is_bot: false, first_name: `Member ${member}` },
          entities: [{ type: 'bot_command', offset: 0, length: 4 }],
        },
      };
    };
    expect(await (await system.postUpdate(ask(5504))).json()).toMatchObject({ withheld: 1 });
    await codeSentTo(group);
    // A second member of the same group: refused, no second notice, counted.
    expect(await (await system.postUpdate(ask(5505))).json()).toMatchObject({ stored: 0, withheld: 1 });

    const listed = await pair('list', '--json');
    expect(listed.code).toBe(0);
    const json = JSON.parse(listed.stdout) as { refusals: { reason: string; count: number }[] };
    expect(json.refusals.find((r) => r.reason === 'source_pending')?.count).toBeGreaterThanOrEqual(1);
    const text = await pair('list');
    expect(text.stdout).toContain('codes turned away (many mean someone is flooding pairing):');
    expect(text.stdout).toMatch(/ {2}\d+ since \S+Z, last \S+Z {2}refused: their group or channel already had a code waiting/);
    expect(sendsTo(group).filter((c) => isNotice(c.body.text))).toHaveLength(1);
  });

  it('needs the core key: a CLI with another key is refused by the edge', async () => {
    const other = new CoreProcess({ ...system.coreCliEnv, HEARTH_KEY_FILE: `${system.coreCliEnv.HEARTH_KEY_FILE}.other` }, ['keygen']);
    expect(await other.exited).toBe(0);
    const cli = new CoreProcess({ ...system.coreCliEnv, HEARTH_KEY_FILE: `${system.coreCliEnv.HEARTH_KEY_FILE}.other` }, ['pair', 'list']);
    expect(await cli.exited).toBe(1);
    expect(cli.raw.join('\n')).toContain('does not accept this core key');
  });
});
