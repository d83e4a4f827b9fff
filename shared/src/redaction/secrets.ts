import type { Detector, Span } from './kinds.js';
import { firstGroup, scan, wholeMatch } from './scan.js';

interface SecretRule {
  /** What the rule finds, for readers and test names. */
  name: string;
  pattern: RegExp;
  /** Turns a match into the span to hide; the whole match unless said otherwise. */
  accept?: (match: RegExpExecArray) => Span | undefined;
}

/** A random token has digits among its letters; prose (`sk-learn-...`, `Bearer authentication`) rarely does. */
const looksRandom = (token: string) => /\d/.test(token) && /[A-Za-z]/.test(token);
const randomMatch = (match: RegExpExecArray) => (looksRandom(match[0]) ? wholeMatch(match) : undefined);
/** Opaque tokens have digits, or both cases (base64 without a digit is rare but happens). */
const tokenLike = (token: string) => looksRandom(token) || (/[a-z]/.test(token) && /[A-Z]/.test(token));

// Token bodies are unbounded runs of one class with nothing after them to fail on, and every
// rule starts with a fixed prefix behind a lookbehind that forbids starting mid-token: linear.
const START = '(?<![A-Za-z0-9_-])';
const prefixed = (name: string, body: string, accept: SecretRule['accept'] = wholeMatch): SecretRule => ({
  name,
  pattern: new RegExp(START + body, 'g'),
  accept,
});

// Keys whose value is a secret in `key=value`, `key: value` and JSON; the key must end with
// one of these words (`max_tokens`, `tokenizer`, `secretary` do not).
const SECRET_KEY = 'pass(?:word|wd|phrase)|secret|token|api[_.-]?key|access[_.-]?key|private[_.-]?key|secret[_.-]?key|authorization|credentials?|cookie';
const AUTH_SCHEME = '(?:bearer|basic|token|digest)';

const RULES: readonly SecretRule[] = [
  {
    name: 'PEM private key',
    // The body stops at the next `-----`, so unterminated BEGIN lines cannot make it rescan;
    // a block cut off before its END line is still hidden up to where it stops.
    pattern:
      /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[A-Za-z0-9+/=\s:,.\\]*(?:-(?!----)[A-Za-z0-9+/=\s:,.\\]*)*(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?/g,
  },
  prefixed('Anthropic key', String.raw`sk-ant-[\w-]{20,}`, randomMatch),
  prefixed('OpenAI project/service key', String.raw`sk-(?:proj|svcacct|admin)-[\w-]{20,}`, randomMatch),
  prefixed('OpenAI key', String.raw`sk-[A-Za-z0-9][\w-]{31,}`, randomMatch),
  prefixed('GitHub token', 'gh[pousr]_[A-Za-z0-9]{36,}'),
  prefixed('GitHub fine-grained token', String.raw`github_pat_\w{22,}`),
  prefixed('GitLab token', String.raw`glpat-[\w-]{20,}`),
  prefixed('Slack token', 'xox[abeprs]-[A-Za-z0-9-]{10,}', randomMatch),
  prefixed('AWS access key id', '(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])'),
  prefixed('Google API key', String.raw`AIza[\w-]{35}(?![\w-])`),
  prefixed('Stripe secret key', '(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}'),
  prefixed('Stripe webhook secret', 'whsec_[A-Za-z0-9+/=]{24,}'),
  prefixed('Hugging Face token', 'hf_[A-Za-z0-9]{30,}'),
  prefixed('npm token', 'npm_[A-Za-z0-9]{36,}'),
  {
    name: 'Telegram bot token',
    // `123456789:AAH...`, also inside `https://api.telegram.org/bot<token>/`. Tails are 35
    // characters today; older ones (and the Bot API docs' example) are a little shorter.
    pattern: /(?:(?<=\/bot)|(?<![\w:]))\d{6,12}:[\w-]{30,}/g,
  },
  { name: 'JWT', pattern: /(?<![\w.-])eyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]*/g },
  {
    name: 'Bearer token',
    pattern: /\b[Bb]earer[ \t]+([\w.~+/=-]{16,})/dg,
    accept: (match) => (tokenLike(match[1] ?? '') ? firstGroup(match) : undefined),
  },
  {
    name: 'password in a URL',
    pattern: /(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,20}:\/\/[^\s/:@]{1,128}:([^\s/@]{1,256})@/dg,
    accept: firstGroup,
  },
  { name: 'Slack webhook', pattern: /hooks\.slack\.com\/services\/([A-Za-z0-9/_-]{20,})/dg, accept: firstGroup },
  {
    name: 'key-value pair',
    // `password=...`, `api_key: ...`, `"token": "..."` (also JSON escaped in a string), with an
    // auth scheme kept visible (`Authorization: Bearer [REDACTED:secret]`). Values under 6
    // characters are left: `token: 5`, `secret: no` are not secrets.
    pattern: new RegExp(
      String.raw`(?<![\w.-])[\w.-]{0,40}?(?:${SECRET_KEY})\\?["']?[ \t]{0,4}[:=][ \t]{0,4}` +
        String.raw`(?:\\?"(?:${AUTH_SCHEME} )?([^"\\\r\n]{6,1000})\\?"|'(?:${AUTH_SCHEME} )?([^'\r\n]{6,1000})'|(?:${AUTH_SCHEME}[ \t]+)?([^\s"'\\,;&<>]{6,}))`,
      'dgi',
    ),
    accept: firstGroup,
  },
];

/** The names of the secret shapes recognized, in the order they are tried. */
export const SECRET_RULE_NAMES: readonly string[] = RULES.map((rule) => rule.name);

/**
 * Secrets: API keys and tokens with a known prefix (OpenAI, Anthropic, GitHub, GitLab, Slack,
 * AWS key ids, Google, Stripe, Hugging Face, npm), Telegram bot tokens, JWTs, PEM private keys,
 * `Bearer` tokens, passwords in URLs and values of secret-named keys. Spans of different rules
 * may overlap (`token=ghp_...`); `redact` keeps the longest.
 */
export const secretDetector: Detector = {
  kind: 'secret',
  find: (text) => RULES.flatMap((rule) => scan(text, rule.pattern, rule.accept ?? wholeMatch)),
};
