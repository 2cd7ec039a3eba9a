// Keeps outbound requests (webhooks, Slack replies) off the service's own network: a target
// whose address is loopback, private, link-local (cloud metadata: 169.254.169.254), unique-local,
// carrier-grade NAT or otherwise not public unicast is refused, unless the operator allowlists
// its range (STACKPILOT_WEBHOOK_ALLOW). The check runs on the addresses the connection really
// uses: `lookup` below is handed to the HTTP agent, so a name that resolves to a public address
// at registration and a private one later is still refused, before any packet is sent to it.
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { InvalidInputError } from '../../errors.js';

export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

export class TargetRefusedError extends InvalidInputError {
  constructor(detail: string) {
    super('webhook_target_refused', detail, { field: 'url' });
  }
}

export function parseAllowlist(cidrs: readonly string[]): Cidr[] {
  return cidrs.map((cidr) => ipaddr.parseCIDR(cidr));
}

/** Why this address may not be reached, or undefined when it may. */
export function refusalOf(address: string, allow: readonly Cidr[]): string | undefined {
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  if (allow.some(([range, bits]) => range.kind() === parsed.kind() && parsed.match(range, bits))) return undefined;
  const range = parsed.range();
  return range === 'unicast' ? undefined : `${address} is a ${range} address (allow its range with STACKPILOT_WEBHOOK_ALLOW)`;
}

/** The URL a webhook or reply may target: http(s), no credentials in it. */
export function parseTargetUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidInputError('invalid_webhook_url', 'url is not a URL', { field: 'url' });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new InvalidInputError('invalid_webhook_url', 'url must be http or https', { field: 'url' });
  if (parsed.username || parsed.password) throw new InvalidInputError('invalid_webhook_url', 'url must not carry credentials', { field: 'url' });
  return parsed;
}

/** Resolves the target's host and refuses it when any of its addresses is refused. */
export async function checkTarget(url: URL, allow: readonly Cidr[]): Promise<void> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : await resolveAll(host);
  for (const address of addresses) {
    const refused = refusalOf(address, allow);
    if (refused) throw new TargetRefusedError(`${url.hostname} is refused: ${refused}`);
  }
}

function resolveAll(host: string): Promise<string[]> {
  return new Promise((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (error, found) =>
    error ? reject(new TargetRefusedError(`${host} does not resolve`)) : resolve(found.map((a) => a.address))));
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for http(s) agents: resolves, then refuses the connection when any address is refused. */
export function guardedLookup(allow: readonly Cidr[]) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true } as LookupAllOptions, (error, found) => {
      if (error) return callback(error, []);
      const refused = found.map((a) => refusalOf(a.address, allow)).find(Boolean);
      if (refused) return callback(Object.assign(new TargetRefusedError(`${hostname} is refused: ${refused}`), { code: 'ETARGETREFUSED' }) as never, []);
      if (options.all) return callback(null, found);
      const first = found[0]!;
      return callback(null, first.address, first.family);
    });
  };
}
