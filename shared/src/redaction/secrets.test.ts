import { describe, expect, it } from 'vitest';
import { redact } from './redact.js';

const secrets = (text: string) => redact(text, { kinds: ['secret'] });

// Shaped like the real thing, made up here.
const TOKENS: Record<string, string> = {
  'OpenAI legacy': 'sk-4fN2kQ8rT1vX6zB3mC9pL0sD5gH7jK2wE4yU8iO1aS3dF6',
  'OpenAI project': 'sk-proj-Ab3dE5gH7jK9mN1pQ3sT5vX7zB9cD1fG3hJ5kL7nP9rS1tV3xZ5_a-B',
  Anthropic: 'sk-ant-api03-Xy7_Zq1Wv3Ut5Sr7Qp9On1Ml3Kj5Ih7Gf9Ed1Cb3Aa5-Bc7De9Fg1Hi3Jk5Lm7No9Pq1Rs3Tu5Vw7Xy9Za1Bc3De5Fg7-AbCdEfAA',
  'GitHub classic': 'ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R',
  'GitHub OAuth': 'gho_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R',
  'GitHub server': 'ghs_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R',
  'GitHub user': 'ghu_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R',
  'GitHub fine-grained': 'github_pat_11ABCDEFG0123456789abc_defGHIJKLmnopQRSTuvwxYZ0123456789abcdefGHIJKLMNOPqrstuv',
  'Slack bot': 'xoxb-2048-4096-AbCdEfGhIjKlMnOpQrStUvWx',
  'Slack user': 'xoxp-1234567890-1234567890-1234567890-0123456789abcdef0123456789abcdef',
  'AWS key id': 'AKIAIOSFODNN7EXAMPLE',
  'AWS session key id': 'ASIAZ2ZZ5EXAMPLE1234',
  Google: 'AIzaSyD-1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6',
  'Stripe live': 'sk_live_51H8x2Y3z4A5b6C7d8E9f0G1h2I',
  'Stripe restricted': 'rk_live_51H8x2Y3z4A5b6C7d8E9f0G1h2I',
  'Stripe test': 'sk_test_4eC39HqLyjWDarjtT1zdp7dc',
  'Telegram bot': '7012345678:AAF1a2B3c4D5e6F7g8H9i0J-k1L2m3N4o5P',
  JWT: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFkYSJ9.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  'Hugging Face': 'hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789',
};

describe('secrets', () => {
  for (const [name, token] of Object.entries(TOKENS)) {
    it(`redacts a ${name} token, alone and inside text`, () => {
      expect(secrets(token).text).toBe('[REDACTED:secret]');
      expect(secrets(`use ${token} here`).text).toBe('use [REDACTED:secret] here');
      expect(secrets(`"${token}",`).text).toBe('"[REDACTED:secret]",');
    });
  }

  it('redacts a bot token inside a Bot API URL', () => {
    expect(secrets(`GET https://api.telegram.org/bot${TOKENS['Telegram bot']}/sendMessage`).text).toBe(
      'GET https://api.telegram.org/bot[REDACTED:secret]/sendMessage',
    );
  });

  it('redacts PEM private keys, whole, and ones cut off before the END line', () => {
    const pem = ['-----BEGIN RSA PRIVATE KEY-----', 'MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB', 'aFDrBz9vFqU4yDw+MIIBCgKCAQEAwJ1dR0/R7Q==', '-----END RSA PRIVATE KEY-----'].join('\n');
    expect(secrets(`key:\n${pem}\nnext line`).text).toBe('key:\n[REDACTED:secret]\nnext line');
    expect(secrets('-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----').text).toBe('[REDACTED:secret]');
    // As it appears in a JSON file (a service account key), with literal \n.
    expect(secrets('"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg==\\n-----END PRIVATE KEY-----\\n"').text).toBe('"[REDACTED:secret]\\n"');
    expect(secrets('-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49').text).toBe('[REDACTED:secret]');
    const publicKey = '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----';
    expect(secrets(publicKey).text).toBe(publicKey);
  });

  it('keeps the auth scheme and hides the credentials', () => {
    expect(secrets('Authorization: Bearer abcDEF123456ghiJKL789').text).toBe('Authorization: Bearer [REDACTED:secret]');
    expect(secrets('authorization: Basic dXNlcjpwYXNzd29yZA==').text).toBe('authorization: Basic [REDACTED:secret]');
    expect(secrets(`curl -H "Authorization: Bearer ${TOKENS.JWT}"`).text).toBe('curl -H "Authorization: Bearer [REDACTED:secret]"');
  });

  it('redacts values of secret-named keys, in text, query strings and JSON', () => {
    expect(secrets('password=hunter22 user=ada').text).toBe('password=[REDACTED:secret] user=ada');
    expect(secrets('client_secret: s3cr3t-value').text).toBe('client_secret: [REDACTED:secret]');
    expect(secrets('GET /cb?code=1&access_token=ya29.a0AfH6SM&state=x').text).toBe('GET /cb?code=1&access_token=[REDACTED:secret]&state=x');
    expect(secrets('{"api_key": "0123456789abcdef", "db_password":"correct horse battery"}').text).toBe(
      '{"api_key": "[REDACTED:secret]", "db_password":"[REDACTED:secret]"}',
    );
    expect(secrets(String.raw`{\"token\":\"abcdef123456\"}`).text).toBe(String.raw`{\"token\":\"[REDACTED:secret]\"}`);
    expect(secrets('AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY').text).toBe('AWS_SECRET_ACCESS_KEY=[REDACTED:secret]');
    expect(secrets('X-Api-Key: 9f8e7d6c5b4a').text).toBe('X-Api-Key: [REDACTED:secret]');
  });

  it('redacts the password of a URL', () => {
    expect(secrets('REDIS_URL=redis://default:pa55w0rd@localhost:6379/0').text).toBe('REDIS_URL=redis://default:[REDACTED:secret]@localhost:6379/0');
    expect(secrets('https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX').text).toBe('https://hooks.slack.com/services/[REDACTED:secret]');
  });

  it('leaves look-alikes: prose, short values, counts and ids', () => {
    for (const text of [
      'token=abc',
      'secret: no',
      'max_tokens=256000',
      'HEARTH_MAX_TOKENS=4096',
      'tokenizer=tokenizer.json',
      'the secretary: Ada Lovelace',
      'my password is long',
      'Bearer tokens are explained in RFC 6750',
      'Bearer authentication-scheme',
      'pip install sk-learn-is-a-great-library-for-machine-learning',
      'telegram:123456:789',
      'sk-short',
      'ghp_tooShort123',
      'AKIA1234',
      'eyJhbGciOiJIUzI1NiJ9 is a header only',
      'https://example.com/path?page=2',
    ]) {
      expect(secrets(text).text, text).toBe(text);
    }
  });
});
