import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { answersFromFlags, askAnswers, parseAllowlist, parseEdgeUrl, parsePlatforms } from '../../src/cli/init-answers.js';
import { createPrompter } from '../../src/cli/init-prompt.js';

const knownFrom =
  (values: Record<string, string>) =>
  (name: string): string =>
    values[name] ?? '';

describe('answer parsers', () => {
  it('take what they should and say what is wrong otherwise', () => {
    expect(parseEdgeUrl('https://edge.example.com/')).toBe('https://edge.example.com');
    expect(parseEdgeUrl('edge.example.com')).toEqual({ error: expect.stringContaining('http(s)://') });
    expect(parseEdgeUrl('http://edge.example.com:8787')).toEqual({ error: expect.stringContaining('plain http only to this machine') });
    expect(parseEdgeUrl('ftp://edge')).toEqual({ error: expect.any(String) });
    expect(parsePlatforms('Both')).toEqual(['telegram', 'whatsapp']);
    expect(parsePlatforms('none')).toEqual([]);
    expect(parsePlatforms('signal')).toEqual({ error: expect.stringContaining('telegram, whatsapp, slack') });
    expect(parsePlatforms('slack')).toEqual(['slack']);
    expect(parsePlatforms('Slack, telegram')).toEqual(['telegram', 'slack']);
    expect(parsePlatforms('email,telegram')).toEqual(['telegram', 'email']);
    expect(parsePlatforms('discord,slack')).toEqual(['slack', 'discord']);
    expect(parsePlatforms('telegram,signal')).toEqual({ error: expect.stringContaining('telegram, whatsapp, slack') });
    expect(parseAllowlist(' telegram:42 , whatsapp:15551234567,')).toBe('telegram:42,whatsapp:15551234567');
    expect(parseAllowlist('telegram:42,bob')).toEqual({ error: expect.stringContaining('"bob"') });
  });
});

describe('answers without asking', () => {
  it('are the defaults on a fresh machine', () => {
    expect(answersFromFlags({}, knownFrom({}))).toEqual({
      edgeUrl: 'http://127.0.0.1:8787',
      platforms: ['telegram'],
      telegramBotToken: '',
      telegramBotUsername: '',
      whatsappAppSecret: '',
      whatsappAccessToken: '',
      whatsappPhoneNumberId: '',
      emailAddress: '',
      policy: 'pairing',
      allowlist: '',
    });
  });

  it('keep what is known (platforms included), and flags win', () => {
    const known = knownFrom({ HEARTH_EDGE_URL: 'https://a.example.com', WHATSAPP_VERIFY_TOKEN: 'v', HEARTH_ACCESS_POLICY: 'open', TELEGRAM_BOT_USERNAME: '@my_bot' });
    expect(answersFromFlags({}, known)).toMatchObject({ edgeUrl: 'https://a.example.com', platforms: ['whatsapp'], policy: 'open', telegramBotUsername: 'my_bot' });
    expect(answersFromFlags({ edgeUrl: 'https://b.example.com', platforms: ['telegram'], policy: 'allowlist' }, known)).toMatchObject({
      edgeUrl: 'https://b.example.com',
      platforms: ['telegram'],
      policy: 'allowlist',
    });
  });

  it('name a bad known setting', () => {
    expect(() => answersFromFlags({}, knownFrom({ HEARTH_ALLOWLIST: 'nobody' }))).toThrow(/HEARTH_ALLOWLIST/);
  });
});

describe('asking', () => {
  /** A prompter on piped lines, all written before the first question, as a script would. */
  function piped(lines: string[]) {
    const input = new PassThrough();
    const output = new PassThrough();
    let transcript = '';
    output.setEncoding('utf8').on('data', (chunk: string) => (transcript += chunk));
    input.end(lines.map((l) => `${l}\n`).join(''));
    return { prompter: createPrompter(input, output), transcript: () => transcript };
  }

  it('reads every piped answer in order, re-asks a refused one, and takes defaults for empty lines', async () => {
    const { prompter, transcript } = piped(['https://edge.example.com', 'signal', 'both', '123:abc_DEF-1', '', 's3cret', 'tok', '42', 'allowlist', 'telegram:42']);
    const answers = await askAnswers(prompter, answersFromFlags({}, knownFrom({})));
    prompter.close();
    expect(answers).toEqual({
      edgeUrl: 'https://edge.example.com',
      platforms: ['telegram', 'whatsapp'],
      telegramBotToken: '123:abc_DEF-1',
      telegramBotUsername: '',
      whatsappAppSecret: 's3cret',
      whatsappAccessToken: 'tok',
      whatsappPhoneNumberId: '42',
      emailAddress: '',
      policy: 'allowlist',
      allowlist: 'telegram:42',
    });
    expect(transcript()).toContain('the platform is telegram, whatsapp, slack, discord, email, a list of them');
    // A secret already set is never shown; questions go to the output given, not stdout.
    expect(transcript()).toContain('Telegram bot token, from @BotFather [empty: a local stand-in answers for now]');
  });

  it('keeps a secret that is set when the answer is empty, without showing it', async () => {
    const { prompter, transcript } = piped(['', 'telegram', '']);
    const answers = await askAnswers(prompter, answersFromFlags({}, knownFrom({ TELEGRAM_BOT_TOKEN: '99:keep-me' })));
    prompter.close();
    expect(answers.telegramBotToken).toBe('99:keep-me');
    expect(transcript()).toContain('[set: Enter keeps it]');
    expect(transcript()).not.toContain('keep-me');
  });

  it('takes the defaults once the input ends, and fails on a refused last answer', async () => {
    const { prompter } = piped(['http://127.0.0.1:9999']);
    const answers = await askAnswers(prompter, answersFromFlags({}, knownFrom({})));
    expect(answers).toMatchObject({ edgeUrl: 'http://127.0.0.1:9999', platforms: ['telegram'], policy: 'pairing' });
    prompter.close();

    const refused = piped(['not a url']);
    await expect(refused.prompter.askValid('Edge', {}, parseEdgeUrl)).rejects.toThrow(/Edge: the edge URL is/);
    refused.prompter.close();
  });
});
