/**
 * The SSRF guard: which network addresses the poller may connect to. Feed URLs
 * are typed by analysts and redirects are chosen by publishers, so neither may
 * steer the poller to the cloud metadata service or an internal host.
 *
 * The check runs on every address a host name resolves to, inside the socket's
 * `lookup`, so that the address checked is the address connected to: a
 * pre-check of the URL would be defeated by DNS rebinding.
 */
import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** One resolved address of a host name. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Resolves a host name to all of its addresses. The default uses the system
 * resolver (`dns.lookup`); tests inject their own to play DNS rebinding.
 */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** `dns.lookup` with every address, in the resolver's order. */
export const systemResolver: HostResolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => {
      if (error) reject(error);
      else resolve(addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })));
    });
  });

/** Human names of the ranges that are refused, by ipaddr.js range name. */
const REFUSED_RANGES: Record<string, string> = {
  unspecified: 'unspecified address',
  broadcast: 'broadcast address',
  multicast: 'multicast address',
  linkLocal: 'link-local address (includes the cloud metadata service)',
  loopback: 'loopback address',
  carrierGradeNat: 'carrier-grade NAT address (100.64.0.0/10)',
  private: 'private network address',
  reserved: 'reserved address',
  uniqueLocal: 'unique-local IPv6 address (fc00::/7, includes fd00:ec2::254)',
  benchmarking: 'benchmarking address',
  amt: 'AMT address',
  as112: 'AS112 address',
  as112v6: 'AS112 address',
  deprecated: 'deprecated address',
  orchid2: 'ORCHIDv2 address',
  discard: 'discard-only address',
  '6to4': '6to4 tunnel address',
  teredo: 'Teredo tunnel address',
  rfc6145: 'IPv4-translated address',
  droneRemoteIdProtocolEntityTags: 'reserved address',
};

/**
 * Why an address is refused, or `undefined` when it is a public unicast
 * address. IPv4 addresses embedded in IPv6 (mapped `::ffff:a.b.c.d`, NAT64
 * `64:ff9b::/96`) are judged by the IPv4 address they carry.
 */
export function refusalRule(address: string): string | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  } catch {
    return 'not an IP address';
  }
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) {
      const inner = refusalRule(v6.toIPv4Address().toString());
      return inner === undefined ? undefined : `IPv4-mapped ${inner}`;
    }
    if (v6.range() === 'rfc6052') {
      const bytes = v6.toByteArray().slice(12);
      const inner = refusalRule(bytes.join('.'));
      return inner === undefined ? undefined : `NAT64-embedded ${inner}`;
    }
  }
  const range = parsed.range();
  if (range === 'unicast') return undefined;
  return REFUSED_RANGES[range] ?? `${range} address`;
}

/** The poller refused to connect to an address; names the host, the address and the rule. */
export class BlockedAddressError extends Error {
  override readonly name = 'BlockedAddressError';

  constructor(
    readonly hostname: string,
    readonly address: string,
    readonly rule: string,
  ) {
    super(
      hostname === address
        ? `refused to connect to ${address}: ${rule} (set allowPrivateNetworks to allow it)`
        : `refused to connect to ${hostname} (${address}): ${rule} (set allowPrivateNetworks to allow it)`,
    );
  }
}

/**
 * Which addresses may be connected to: public unicast always; every address
 * with `allowPrivateNetworks`; otherwise also those inside `allowedNetworks`
 * (CIDRs such as `10.20.0.0/16`, for one known internal feed host).
 */
export interface AddressPolicy {
  allowPrivateNetworks: boolean;
  allowedNetworks?: readonly string[];
}

/** The CIDRs of `allowedNetworks`, parsed; throws naming a malformed one. */
function parseNetworks(networks: readonly string[]): [ipaddr.IPv4 | ipaddr.IPv6, number][] {
  return networks.map((cidr) => {
    try {
      return ipaddr.parseCIDR(cidr);
    } catch {
      throw new Error(`allowedNetworks: ${cidr} is not a CIDR such as 10.0.0.0/8 or fd00::/8`);
    }
  });
}

function inNetworks(address: string, networks: [ipaddr.IPv4 | ipaddr.IPv6, number][]): boolean {
  if (networks.length === 0) return false;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  } catch {
    return false;
  }
  return networks.some(
    ([range, bits]) => range.kind() === parsed.kind() && parsed.match(range, bits),
  );
}

/** A compiled `AddressPolicy`: `check` throws `BlockedAddressError` for a refused address. */
export interface AddressGuard {
  readonly allowPrivateNetworks: boolean;
  check(hostname: string, address: string): void;
}

/** Compiles `policy` once, so the CIDRs are not parsed per connection. */
export function createAddressGuard(policy: AddressPolicy): AddressGuard {
  const networks = parseNetworks(policy.allowedNetworks ?? []);
  return {
    allowPrivateNetworks: policy.allowPrivateNetworks,
    check(hostname, address) {
      if (policy.allowPrivateNetworks) return;
      const rule = refusalRule(address);
      if (rule !== undefined && !inNetworks(address, networks)) {
        throw new BlockedAddressError(hostname, address, rule);
      }
    },
  };
}

/**
 * A `lookup` for `http.request` / `net.connect` that resolves with `resolver`
 * and fails with `BlockedAddressError` when any of the addresses is refused:
 * a host with one public and one private address is refused as a whole, so the
 * connection cannot be steered by the order of the answers.
 */
export function guardedLookup(resolver: HostResolver, guard: AddressGuard): LookupFunction {
  return (hostname, options, callback) => {
    // Node passes IP literals straight to connect; a resolver is only asked for names.
    const literal = isIP(hostname);
    const resolved: Promise<ResolvedAddress[]> =
      literal !== 0
        ? Promise.resolve([{ address: hostname, family: literal === 6 ? 6 : 4 }])
        : resolver(hostname);
    resolved.then(
      (addresses) => {
        const wanted =
          options.family === 4 || options.family === 6
            ? addresses.filter((a) => a.family === options.family)
            : addresses;
        if (wanted.length === 0) {
          const error: NodeJS.ErrnoException = new Error(`no address found for ${hostname}`);
          error.code = 'ENOTFOUND';
          callback(error, '', 0);
          return;
        }
        try {
          for (const a of wanted) guard.check(hostname, a.address);
        } catch (error) {
          callback(error as NodeJS.ErrnoException, '', 0);
          return;
        }
        if (options.all) {
          (callback as unknown as (e: null, a: ResolvedAddress[]) => void)(null, wanted);
        } else {
          const first = wanted[0] as ResolvedAddress;
          callback(null, first.address, first.family);
        }
      },
      (error: unknown) => callback(error as NodeJS.ErrnoException, '', 0),
    );
  };
}
