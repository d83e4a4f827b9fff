import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** One `permissions.lan` entry, parsed: an address or range, and the one port it grants. */
export interface LanGrant {
  range: [Address, number];
  port: number;
}

/** An address a name resolved to, as `dns.lookup` gives it. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** What a plugin's manifest grants on the network: names (`network`) and non-public addresses (`lan`). */
export interface NetworkPermissions {
  network: readonly string[];
  lan: readonly string[];
}

const LAN_EXAMPLE = 'e.g. "192.168.1.20:8123", "10.0.0.0/24:80" or "[fd00::5]:8123"';
/** `ADDRESS[/BITS]:PORT`, IPv6 in brackets (`[ADDRESS[/BITS]]:PORT`). */
const LAN_SYNTAX = /^(?:\[([0-9A-Fa-f:.]+)(?:\/(\d{1,3}))?\]|([0-9.]+)(?:\/(\d{1,2}))?):([1-9]\d{0,4})$/;
// Only 2000::/3 is allocated global unicast; ipaddr.js calls the rest of :: "unicast" too (e.g. ::7f00:1).
const GLOBAL_UNICAST_V6: [Address, number] = [ipaddr.IPv6.parse('2000::'), 3];

/**
 * Parses a `permissions.lan` entry, or says what is wrong with it (with an example).
 *
 * @example
 * parseLanGrant('10.0.0.0/24:80'); // { ok: true, grant: { range: [10.0.0.0, 24], port: 80 } }
 */
export function parseLanGrant(entry: string): { ok: true; grant: LanGrant } | { ok: false; problem: string } {
  const problem = (why: string) => ({ ok: false as const, problem: `${why}; a lan grant is ADDRESS:PORT or CIDR:PORT, IPv6 in brackets, ${LAN_EXAMPLE}` });
  const match = LAN_SYNTAX.exec(entry);
  if (!match) return problem(`${JSON.stringify(entry)} is not ADDRESS:PORT`);
  const [, v6, v6Bits, v4, v4Bits, portText] = match;
  const port = Number(portText);
  if (port > 65_535) return problem(`port ${port} is over 65535`);
  const text = v6 ?? v4 ?? '';
  const valid = v6 !== undefined ? ipaddr.IPv6.isValid(text) : ipaddr.IPv4.isValidFourPartDecimal(text);
  if (!valid) return problem(`${text} is not an IP${v6 !== undefined ? 'v6' : 'v4'} address`);
  const bitsText = v6Bits ?? v4Bits;
  if (bitsText === undefined) {
    // A single address is compared as the connection's is: IPv4-mapped IPv6 as the IPv4 it is.
    const address = ipaddr.process(text);
    return { ok: true, grant: { range: [address, address.kind() === 'ipv4' ? 32 : 128], port } };
  }
  const address = ipaddr.parse(text);
  const bits = Number(bitsText);
  if (bits > (address.kind() === 'ipv4' ? 32 : 128)) return problem(`/${bits} is too long a prefix for ${text}`);
  const network = ipaddr.parse(networkOf(address, bits));
  if (network.toString() !== address.toString()) return problem(`${text}/${bits} has bits set past the prefix; write the network, ${network.toString()}/${bits}`);
  return { ok: true, grant: { range: [address, bits], port } };
}

/** The network address of `address/bits`, as text. */
function networkOf(address: Address, bits: number): string {
  const cidr = `${address.toString()}/${bits}`;
  return (address.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(cidr) : ipaddr.IPv6.networkAddressFromCIDR(cidr)).toString();
}

/** The valid grants of a manifest's `lan` (the manifest was validated; anything else is dropped). */
export function parseLanGrants(entries: readonly string[]): LanGrant[] {
  return entries.flatMap((entry) => {
    const parsed = parseLanGrant(entry);
    return parsed.ok ? [parsed.grant] : [];
  });
}

/**
 * The ipaddr.js range of an address, IPv4-mapped IPv6 read as its IPv4; IPv6 outside 2000::/3 is
 * `reserved`. Only `unicast` is public.
 */
export function addressRange(address: string): string {
  const parsed = ipaddr.process(address);
  const range = parsed.range();
  if (range === 'unicast' && parsed.kind() === 'ipv6' && !parsed.match(GLOBAL_UNICAST_V6)) return 'reserved';
  return range;
}

/** Whether a connection to `address` needs no grant: a public unicast address. */
export const isPublicAddress = (address: string): boolean => addressRange(address) === 'unicast';

/** Whether some grant covers `address` (IPv4-mapped read as IPv4) on `port`. */
export function lanAllows(grants: readonly LanGrant[], address: string, port: number): boolean {
  const parsed = ipaddr.process(address);
  return grants.some((grant) => grant.port === port && grant.range[0].kind() === parsed.kind() && parsed.match(grant.range));
}

const DESCRIPTIONS: Record<string, string> = {
  loopback: 'a loopback address (this machine)',
  unspecified: 'an unspecified address (this machine)',
  linkLocal: 'a link-local address (the local link, or a cloud metadata service)',
  private: 'a private (RFC 1918) address',
  uniqueLocal: 'a unique-local IPv6 address (fc00::/7)',
  carrierGradeNat: 'a carrier-grade NAT address (100.64.0.0/10)',
  multicast: 'a multicast address',
  broadcast: 'a broadcast address',
  rfc6052: 'a NAT64 address embedding an IPv4',
  rfc6145: 'an IPv4-translated address',
  '6to4': 'a 6to4 address embedding an IPv4',
  teredo: 'a Teredo address embedding an IPv4',
};

/** The grant text that would allow `address` on `port`, as the owner would write it. */
function grantFor(address: string, port: number): string {
  const parsed = ipaddr.process(address);
  return parsed.kind() === 'ipv4' ? `${parsed.toString()}:${port}` : `[${parsed.toString()}]:${port}`;
}

/** How an address is shown (with the IPv4 an IPv4-mapped one stands for) and what it is. */
function describe(address: string): { shown: string; what: string } {
  const range = addressRange(address);
  const plain = ipaddr.process(address).toString();
  const shown = plain !== ipaddr.parse(address).toString() ? `${address} (IPv4-mapped ${plain})` : address;
  return { shown, what: DESCRIPTIONS[range] ?? `a ${range} address, not public` };
}

/**
 * Why a connection to these addresses of `host` on `port` is refused, or null when every one
 * is public or granted (one refused address refuses all: a mixed answer is hostile).
 *
 * @example
 * refusedAddress('api.example.com', [{ address: '127.0.0.1', family: 4 }], 8080, []);
 * // 'api.example.com resolves to 127.0.0.1, a loopback address (this machine); grant it in permissions.lan ("127.0.0.1:8080") if the plugin must reach it'
 */
export function refusedAddress(
  host: string,
  addresses: readonly ResolvedAddress[],
  port: number,
  grants: readonly LanGrant[],
  where: { field: string; who: string } = { field: 'permissions.lan', who: 'the plugin' },
): string | null {
  const refused = addresses.find(({ address }) => !isPublicAddress(address) && !lanAllows(grants, address, port));
  if (!refused) return null;
  const { shown, what } = describe(refused.address);
  const among = addresses.length > 1 ? ` (one of the ${addresses.length} addresses it resolves to)` : '';
  const subject = isIP(host) ? `${shown} is ${what}` : `${host} resolves to ${shown}, ${what}${among}`;
  return `${subject}; grant it in ${where.field} ("${grantFor(refused.address, port)}") if ${where.who} must reach it`;
}
