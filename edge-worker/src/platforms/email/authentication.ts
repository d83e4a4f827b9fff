import type { Header } from 'postal-mime';

/**
 * Whether the From address of a mail is its sender's, by the verdicts Email Routing wrote:
 * access goes by that address, so a forged one must not get in (nor be answered: a reply to a
 * forged From is backscatter). Cloudflare prepends its `ARC-Authentication-Results` (and
 * `Authentication-Results`) with its own authserv-id above every header the sender wrote, so
 * the topmost one naming `mx.cloudflare.net` is Cloudflare's; a copy the sender forged lies below.
 *
 * Authenticated: DMARC passed; or, for a domain that publishes no DMARC policy, DKIM or SPF
 * passed for a domain aligned with the From domain (the same, or one a subdomain of the other).
 * Cloudflare itself rejects mail that fails a DMARC `reject` policy before it gets here.
 */
const EMAIL_ROUTING_AUTHSERV_ID = 'mx.cloudflare.net';

/** `temporary`: a verifier could not finish (a DNS `temperror`), so the mail may pass when delivered again. */
export type Authentication = { ok: true; by: string } | { ok: false; reason: string; temporary?: true };

const RESULT_HEADERS = new Set(['arc-authentication-results', 'authentication-results']);

/** One `method=result` of the header, with its properties (`header.d`, `smtp.mailfrom`, …). */
interface MethodResult {
  method: string;
  result: string;
  props: Map<string, string>;
}

/** `i=1; mx.cloudflare.net; dkim=pass header.d=example.com; spf=pass (…) smtp.mailfrom=a@example.com` → its id and results. */
function parseResults(value: string): { authservId: string; results: MethodResult[] } {
  // Comments in parentheses say nothing a verdict needs (and may hold semicolons).
  const clauses = value.replace(/\([^()]*\)/g, ' ').split(';').map((clause) => clause.trim());
  if (/^i=\d+$/i.test(clauses[0] ?? '')) clauses.shift();
  const authservId = (clauses.shift() ?? '').split(/\s+/)[0]?.toLowerCase() ?? '';
  const results: MethodResult[] = [];
  for (const clause of clauses) {
    const [head, ...rest] = clause.split(/\s+/);
    const match = /^([a-z0-9-]+)=([a-z]+)$/i.exec(head ?? '');
    if (!match) continue;
    const props = new Map<string, string>();
    for (const prop of rest) {
      const at = prop.indexOf('=');
      if (at > 0) props.set(prop.slice(0, at).toLowerCase(), prop.slice(at + 1).replace(/^"|"$/g, '').toLowerCase());
    }
    results.push({ method: (match[1] ?? '').toLowerCase(), result: (match[2] ?? '').toLowerCase(), props });
  }
  return { authservId, results };
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();
const aligned = (a: string, b: string) => a !== '' && b !== '' && (a === b || a.endsWith(`.${b}`) || b.endsWith(`.${a}`));

/** The verdict on `fromAddress`, from the message's headers in document order. */
export function authenticationOf(headers: readonly Header[], fromAddress: string): Authentication {
  const header = headers.find((h) => RESULT_HEADERS.has(h.key) && parseResults(h.value).authservId === EMAIL_ROUTING_AUTHSERV_ID);
  if (!header) return { ok: false, reason: `no authentication results from Email Routing (${EMAIL_ROUTING_AUTHSERV_ID})` };
  const { results } = parseResults(header.value);
  const fromDomain = domainOf(fromAddress);
  const dmarc = results.find((r) => r.method === 'dmarc');
  if (dmarc?.result === 'pass') return { ok: true, by: 'dmarc' };
  if (dmarc?.result === 'temperror') return { ok: false, reason: 'DMARC temperror', temporary: true };
  if (dmarc && dmarc.result !== 'none') return { ok: false, reason: `DMARC ${dmarc.result}` };
  for (const r of results) {
    if (r.result !== 'pass') continue;
    if (r.method === 'dkim' && aligned(r.props.get('header.d') ?? domainOf(r.props.get('header.i') ?? ''), fromDomain)) return { ok: true, by: 'dkim' };
    if (r.method === 'spf' && aligned(domainOf(r.props.get('smtp.mailfrom') ?? ''), fromDomain)) return { ok: true, by: 'spf' };
  }
  const unfinished = results.some((r) => (r.method === 'dkim' || r.method === 'spf') && r.result === 'temperror');
  return { ok: false, reason: 'neither DKIM nor SPF passed for the From domain', ...(unfinished ? { temporary: true as const } : {}) };
}
