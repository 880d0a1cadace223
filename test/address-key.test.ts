import t from 'tap';
import { addressKey } from '../src/admission/address-key';

t.test('the address key: proxy-addr over the peer and X-Forwarded-For, normalised', async (t) => {
  const none = addressKey([]);
  t.equal(none.readsForwardedFor, false, 'no trusted proxy: the header need not be read');
  t.equal(none.of('127.0.0.1', '203.0.113.7'), '127.0.0.1', 'no trusted proxy: the peer, whatever the header says');
  t.equal(none.of('0000:0000:0000:0000:0000:ffff:7f00:0001', ''), '127.0.0.1', 'an IPv4-mapped peer (a server on ::) is its IPv4 address');
  t.equal(none.of('2001:0db8:0001:02ff:0000:0000:0000:0001', ''), '2001:db8:1:200::/56', 'an IPv6 peer counts by its /56');
  t.equal(none.of('2001:db8:1:2aa::99', ''), none.of('2001:db8:1:2ff::1', ''), 'the same /56, the same key');
  t.not(none.of('2001:db8:1:300::1', ''), none.of('2001:db8:1:2ff::1', ''), 'another /56, another key');

  const local = addressKey(['127.0.0.1']);
  t.equal(local.readsForwardedFor, true);
  t.equal(local.of('127.0.0.1', '203.0.113.7'), '203.0.113.7', 'a trusted peer: the address it forwards for');
  t.equal(local.of('127.0.0.1', '6.6.6.6, 203.0.113.7'), '203.0.113.7', 'what the client wrote left of its proxy is not believed');
  t.equal(local.of('127.0.0.1', '203.0.113.7, 127.0.0.1'), '203.0.113.7', 'through two trusted hops');
  t.equal(local.of('127.0.0.2', '203.0.113.7'), '127.0.0.2', 'an untrusted peer: itself');
  t.equal(local.of('127.0.0.1', ''), '127.0.0.1', 'a trusted peer without the header: itself');
  t.equal(local.of('127.0.0.1', 'not-an-address'), '127.0.0.1', 'an answer that is no address counts under the proxy that sent it');
  t.equal(local.of('127.0.0.1', '::ffff:203.0.113.7'), '203.0.113.7', 'an IPv4-mapped client is its IPv4 address');
  t.equal(addressKey(['loopback', '10.0.0.0/8']).of('127.0.0.1', '198.51.100.4, 10.1.2.3'), '198.51.100.4', 'several trusted ranges, by name and CIDR');
});
