import type { HttpRequest } from 'uWebSockets.js';
import type { AddressKey } from '../admission/address-key';
import type { Exchange } from './exchange';

/**
 * The client address key of a request (SECKILL_IP_RATE on), read inside
 * the uWS handler: the peer's address, and, when some proxy is trusted,
 * every X-Forwarded-For line joined by ", " as Node joins them. uWS's
 * getHeader gives the first line only, and a proxy that adds a line of
 * its own (HAProxy's `option forwardfor`) puts it after the client's:
 * reading the first would let the client name itself.
 */
export function clientAddress(keys: AddressKey, x: Exchange, req: HttpRequest): string {
  if (!keys.readsForwardedFor) return keys.of(x.remoteAddress(), '');
  let forwardedFor = '';
  req.forEach((name, value) => {
    if (name === 'x-forwarded-for') forwardedFor = forwardedFor === '' ? value : `${forwardedFor}, ${value}`;
  });
  return keys.of(x.remoteAddress(), forwardedFor);
}
