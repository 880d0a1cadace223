import ipaddr from 'ipaddr.js';
import proxyaddr from 'proxy-addr';
import type { IncomingMessage } from 'node:http';

/** The client address a request is counted under by SECKILL_IP_RATE. */
export interface AddressKey {
  /** Some proxy is trusted, so X-Forwarded-For matters; false: a transport need not read it. */
  readonly readsForwardedFor: boolean;
  /** From the peer's address (as uWS gives it) and the request's X-Forwarded-For (every line of it, joined by ", "). */
  of(peer: string, forwardedFor: string): string;
}

/** IPv6 clients are counted by network: one is usually given a /56 or a /64, and could change address at will within it. */
export const IPV6_PREFIX = 56;

/**
 * Builds the key function once, at start, from SECKILL_TRUSTED_PROXIES'
 * entries (checked by trustedProxyList in src/config.ts).
 *
 * - **Who the client is** is proxy-addr's answer, as Express gives it for
 *   `trust proxy`: walking X-Forwarded-For from the peer leftwards, the
 *   first address that is not a trusted proxy. A client can write what it
 *   likes into the header, but only to the left of what the trusted proxies
 *   append, so an untrusted peer's header changes nothing. With no trusted
 *   proxy the answer is the peer, whatever the header says: the header is
 *   then not parsed at all (proxy-addr would parse it, then ignore it).
 * - **The key** is that address normalised: an IPv4-mapped IPv6 address
 *   (a server listening on `::`) counts as its IPv4 address, the long forms
 *   uWS writes as the short ones, and an IPv6 address as its /56. An answer
 *   that is not an IP at all (a trusted proxy passed on whatever its client
 *   sent) is counted under the peer, the proxy that sent it.
 */
export function addressKey(trusted: readonly string[]): AddressKey {
  if (trusted.length === 0) return { readsForwardedFor: false, of: (peer) => keyOf(peer) ?? peer };
  const trust = proxyaddr.compile([...trusted]);
  return {
    readsForwardedFor: true,
    of(peer, forwardedFor) {
      // proxy-addr reads only these two fields of a Node request (through the `forwarded` package).
      const req = { headers: { 'x-forwarded-for': forwardedFor }, socket: { remoteAddress: peer } } as unknown as IncomingMessage;
      return keyOf(proxyaddr(req, trust)) ?? keyOf(peer) ?? peer;
    },
  };
}

/** An address as its key; undefined when it is not an IP address. */
function keyOf(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return undefined;
  const ip = ipaddr.process(address);
  if (ip.kind() === 'ipv4') return ip.toString();
  const net = (ip as ipaddr.IPv6).parts.map((part, i) => {
    const bits = Math.min(16, Math.max(0, IPV6_PREFIX - 16 * i));
    return part & ((0xffff << (16 - bits)) & 0xffff);
  });
  return `${new ipaddr.IPv6(net).toString()}/${IPV6_PREFIX}`;
}
