import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORM, dmEvent, eventCallback, mentionEvent, pressBody } from '../fakes/slack-payloads.js';
import { startSystem, type System } from '../support/system.js';

/**
 * Slack end to end: an Events API request through the real edge (workerd), the Relay, the
 * tunnel, a real core running a real GGUF, and back out with chat.postMessage to the (fake)
 * Web API.
 */
let system: System;
beforeAll(async () => {
  system = await startSystem({ slack: true });
});
afterAll(() => system?.stop());

const slack = () => {
  if (!system.slack) throw new Error('Slack is not on');
  return system.slack;
};

/** Waits until `channel` got a reply; the wait is the barrier that earlier work has drained. */
async function repliesIn(channel: string) {
  await slack().waitFor(() => slack().posts(channel).length > 0, 30_000);
  return slack().posts(channel);
}

let nextTs = 1;
const freshTs = () => `${Math.floor(Date.now() / 1000)}.${String(nextTs++).padStart(6, '0')}`;

const repliedTo = (messageId: string) => system.core.lines.filter((l) => l.msg === 'replied' && l.messageId === messageId);

describe('Slack → edge → Relay → tunnel → core → model → Slack', () => {
  it('answers a DM once, in the DM, with text the model wrote', async () => {
    const ts = freshTs();
    const response = await system.postSlack(eventCallback(dmEvent('D0E2E0001', 'U0ADA0001', ts, 'Once upon a time there was a fox')));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, stored: 1, duplicates: 0, withheld: 0, ignored: 0 });
    const [reply] = await repliesIn('D0E2E0001');
    expect(reply!.authorization).toBe('Bearer xoxb-e2e-0123-SlackBotToken');
    expect(reply!.body).not.toHaveProperty('thread_ts');
    expect(String(reply!.body.text).trim().length).toBeGreaterThan(0);
    expect(repliedTo(`slack:D0E2E0001:${ts}`)).toHaveLength(1);
  });

  it('answers a mention in a channel in a thread under it', async () => {
    const ts = freshTs();
    expect((await system.postSlack(eventCallback(mentionEvent('C0E2E0001', 'U0ADA0001', ts, 'Tell me a story')))).status).toBe(200);
    const [reply] = await repliesIn('C0E2E0001');
    expect(reply!.body).toMatchObject({ channel: 'C0E2E0001', thread_ts: ts });
  });

  it("answers an event once when Slack retries it (X-Slack-Retry-Num), and ignores the bot's own reply", async () => {
    const ts = freshTs();
    const body = eventCallback(dmEvent('D0E2E0002', 'U0ADA0001', ts, 'Tell me another story'), 'Ev0E2ERETRY1');
    const first = await system.postSlack(body);
    const retry = await system.postSlack(body, { 'X-Slack-Retry-Num': '1', 'X-Slack-Retry-Reason': 'http_timeout' });
    expect([await first.json(), await retry.json()]).toEqual([
      expect.objectContaining({ stored: 1, duplicates: 0 }),
      expect.objectContaining({ stored: 0, duplicates: 1 }),
    ]);
    const [reply] = await repliesIn('D0E2E0002');
    // Slack sends the app its own reply as a message event: ignored, never answered.
    const echo = await system.postSlack(
      eventCallback({ ...dmEvent('D0E2E0002', 'U0HEARTHBOT', freshTs(), String(reply!.body.text)), bot_id: 'B0FAKEBOT' }),
    );
    expect(await echo.json()).toMatchObject({ stored: 0, ignored: 1 });
    // Later traffic has drained and still there is exactly one reply in that DM.
    await system.postSlack(eventCallback(dmEvent('D0E2E0003', 'U0ADA0001', freshTs(), 'The end')));
    await repliesIn('D0E2E0003');
    expect(slack().posts('D0E2E0002')).toHaveLength(1);
    expect(repliedTo(`slack:D0E2E0002:${ts}`)).toHaveLength(1);
  });

  it('refuses a bad signature with 401: nothing reaches the core or Slack', async () => {
    const ts = freshTs();
    const response = await system.postSlack(eventCallback(dmEvent('D0E2E0004', 'U0ADA0001', ts, 'let me in')), {
      'X-Slack-Signature': `v0=${'0'.repeat(64)}`,
    });
    expect(response.status).toBe(401);
    await system.postSlack(eventCallback(dmEvent('D0E2E0005', 'U0ADA0001', freshTs(), 'after it')));
    await repliesIn('D0E2E0005');
    expect(slack().posts('D0E2E0004')).toEqual([]);
    expect(system.core.lines.some((l) => l.messageId === `slack:D0E2E0004:${ts}`)).toBe(false);
  });

  it('puts 👍/👎 under a reply as Block Kit; a press is recorded on the core and never answered', async () => {
    const [reply] = await (async () => {
      await system.postSlack(eventCallback(dmEvent('D0E2E0006', 'U0ADA0001', freshTs(), 'Once upon a time')));
      return repliesIn('D0E2E0006');
    })();
    const blocks = reply!.body.blocks as { type: string; elements?: { text: { text: string }; value: string }[] }[];
    const buttons = blocks.find((b) => b.type === 'actions')?.elements ?? [];
    expect(buttons.map((b) => b.text.text)).toEqual(['👍', '👎']);
    expect(buttons[0]!.value).toMatch(/^fb:u:/);
    const repliedBefore = system.core.lines.filter((l) => l.msg === 'replied').length;
    const press = await system.postSlack(pressBody('D0E2E0006', 'U0ADA0001', freshTs(), buttons[0]!.value), FORM);
    expect(await press.json()).toMatchObject({ stored: 1 });
    await system.core.waitForLog((l) => l.msg === 'feedback recorded', 15_000);
    // Later traffic has drained: the press got no reply, and the model was not asked.
    await system.postSlack(eventCallback(dmEvent('D0E2E0007', 'U0ADA0001', freshTs(), 'The end')));
    await repliesIn('D0E2E0007');
    expect(slack().posts('D0E2E0006')).toHaveLength(1);
    expect(system.core.lines.filter((l) => l.msg === 'replied').length).toBe(repliedBefore + 1);
  });
});
