import { describe, expect, it } from 'vitest';
import { logKeyOf, pseudonymOf } from '@hearth/shared';
import { createLogger } from '../src/logger.js';

const BOT_TOKEN = '7012345678:AAF1a2B3c4D5e6F7g8H9i0J-k1L2m3N4o5P';

/** A logger writing into an array, and the lines parsed. */
function capture(level = 'debug') {
  const raw: string[] = [];
  const log = createLogger(level, 'test', { write: (line: string) => void raw.push(line) });
  const lines = () => raw.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { log, raw, lines };
}

describe('core logger redaction', () => {
  it('redacts e-mail addresses, cards and bot tokens in fields and in the message', () => {
    const { log, raw, lines } = capture();
    log.info(
      { from: 'ada@example.com', card: '4111 1111 1111 1111', url: `https://api.telegram.org/bot${BOT_TOKEN}/sendMessage`, nested: { list: [`token ${BOT_TOKEN}`] } },
      `message from ada@example.com paid with 4111111111111111 via ${BOT_TOKEN}`,
    );
    expect(raw).toHaveLength(1);
    for (const secret of ['ada@example.com', '4111', BOT_TOKEN]) expect(raw[0]).not.toContain(secret);
    expect(lines()[0]).toMatchObject({
      from: '[REDACTED:email]',
      card: '[REDACTED:card]',
      url: 'https://api.telegram.org/bot[REDACTED:secret]/sendMessage',
      nested: { list: ['token [REDACTED:secret]'] },
      msg: 'message from [REDACTED:email] paid with [REDACTED:card] via [REDACTED:secret]',
    });
  });

  it('keeps ordinary ids, timestamps and numbers as they were', () => {
    const { log, lines } = capture();
    const fields = {
      messageId: 'telegram:123456:789',
      conversationId: 'telegram:123456',
      sender: 'telegram:42',
      at: '2026-11-25T10:00:00.000Z',
      version: '1.2.3',
      attempt: 2,
      credits: 4,
      edge: 'http://127.0.0.1:8787',
    };
    log.info(fields, 'delivery telegram:123456:789 received at 2026-11-25T10:00:00Z (attempt 2)');
    expect(lines()[0]).toMatchObject({ ...fields, msg: 'delivery telegram:123456:789 received at 2026-11-25T10:00:00Z (attempt 2)', level: 30, name: 'test' });
  });

  it('redacts interpolated arguments, errors and their messages', () => {
    const { log, raw, lines } = capture();
    log.warn('cannot reach %s', 'ada@example.com');
    log.error({ err: new Error('refused for ada@example.com', { cause: new Error(`bad ${BOT_TOKEN}`) }) }, 'send failed');
    log.error(new Error('call +44 20 7946 0958 failed'));
    for (const line of raw) for (const secret of ['ada@example.com', BOT_TOKEN, '7946']) expect(line).not.toContain(secret);
    const [warn, withErr, bare] = lines();
    expect(warn?.msg).toBe('cannot reach [REDACTED:email]');
    expect(withErr).toMatchObject({ msg: 'send failed', err: { type: 'Error', message: expect.stringContaining('refused for [REDACTED:email]') } });
    expect(withErr?.err).toHaveProperty('stack', expect.stringMatching(/^Error: refused for \[REDACTED:email\]/));
    expect(bare).toMatchObject({ msg: 'call [REDACTED:phone] failed', err: { message: 'call [REDACTED:phone] failed' } });
  });

  it('hides values under secret-named keys and in child bindings', () => {
    const { log, lines } = capture();
    const child = log.child({ user: 'ada@example.com', conversation: 'telegram:42' });
    child.info({ headers: { authorization: 'Bearer abc', 'content-type': 'application/json' }, botToken: 'x', password: 'hunter2' }, 'request');
    expect(lines()[0]).toMatchObject({
      user: '[REDACTED:email]',
      conversation: 'telegram:42',
      headers: { authorization: '[REDACTED:secret]', 'content-type': 'application/json' },
      botToken: '[REDACTED:secret]',
      password: '[REDACTED:secret]',
    });
  });

  it('keeps the default destination and the level for existing call sites', () => {
    const log = createLogger('warn');
    expect(log.level).toBe('warn');
    expect(log.isLevelEnabled('info')).toBe(false);
    const { log: quiet, raw } = capture('warn');
    quiet.info('dropped');
    quiet.warn('kept');
    expect(raw).toHaveLength(1);
  });
});

describe('core logger pseudonyms', () => {
  it('logs WhatsApp ids (phone numbers, and the wamid that encodes one) as stable keyed pseudonyms', () => {
    const raw: string[] = [];
    const key = logKeyOf('a log key of the owner, 32 chars');
    const log = createLogger('info', 'test', { write: (line: string) => void raw.push(line) }, key);
    const wamid = 'whatsapp:wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzQTdGMjQ3QjY0RkE3NjY1QjkyMgA=';
    log.info({ sender: 'whatsapp:15551234567', conversation: 'whatsapp:15551234567', message_id: wamid }, 'reply to whatsapp:15551234567 sent');
    log.info({ sender: 'whatsapp:15557654321' }, 'another sender');
    expect(raw.join('')).not.toContain('5551234567');
    expect(raw.join('')).not.toContain('HBgLMTU1NTEy');
    const [first, second] = raw.map((line) => JSON.parse(line) as Record<string, string>);
    expect(first?.sender).toMatch(/^whatsapp:~[a-z2-7]{12}$/);
    // Stable: the same id gives the same pseudonym, in fields and message; another id another.
    expect(first?.conversation).toBe(first?.sender);
    expect(first?.msg).toBe(`reply to ${first?.sender} sent`);
    expect(first?.message_id).toMatch(/^whatsapp:~/);
    expect(second?.sender).not.toBe(first?.sender);
    // The key matters: without it, a number cannot be tried against a pseudonym.
    expect(pseudonymOf(key, 'whatsapp:15551234567')).toBe(first?.sender);
    expect(pseudonymOf(logKeyOf('another key, of someone else!!'), 'whatsapp:15551234567')).not.toBe(first?.sender);
    // Telegram ids are not phone numbers and stay as they are.
    log.info({ sender: 'telegram:42' }, 'x');
    expect(JSON.parse(raw[2] ?? '{}')).toMatchObject({ sender: 'telegram:42' });
  });

  it('logs e-mail senders as the same keyed pseudonyms the edge logs', () => {
    const raw: string[] = [];
    const key = logKeyOf('a log key of the owner, 32 chars');
    const log = createLogger('info', 'test', { write: (line: string) => void raw.push(line) }, key);
    log.info({ sender: 'email:ada@example.com' }, 'reply to email:ada@example.com sent');
    expect(raw.join('')).not.toContain('ada@example.com');
    const line = JSON.parse(raw[0] ?? '{}') as Record<string, string>;
    expect(line.sender).toBe(pseudonymOf(key, 'email:ada@example.com'));
    expect(line.sender).toMatch(/^email:~[a-z2-7]{12}$/);
    expect(line.msg).toBe(`reply to ${line.sender} sent`);
  });
});
