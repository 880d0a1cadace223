import { Packr, unpack } from 'msgpackr';
import t from 'tap';
import { putEvent, testApp, token } from './helpers/app';
import { exchange } from './helpers/raw';
import { readFrame, answerFrame, requestFrame, isRequest, frameFits } from '../src/ws/frames';
import { parseBuyQuery } from '../src/http/buy-query';
import { parseDefinition } from '../src/events/definition';
import { parseSkus } from '../src/cli/event-put';
import { buyLot, type LotAnswer } from './helpers/lots';

/** Events sold in lots (issue 23): a limit of units per user, quantities, SKUs; the answers and their counts. */

t.test('a limit of 3 and two SKUs: q units a buy, all or nothing, the limit over every order', async (t) => {
  const app = await testApp(t);
  t.equal((await putEvent(app.base, 'lot', { limit: 3, skus: { red: 3, blue: 2 } } as never)).status, 201, 'created with stock the sum');
  t.same(await buyLot(app.base, 'lot', 'a', '?q=2&sku=red'), { status: 200, c: 0, o: 1, q: 2 }, 'a wins 2 red: one order, its q');
  t.same(await buyLot(app.base, 'lot', 'a', '?q=2&sku=blue'), { status: 200, c: 13, k: 1 }, 'a asks 2 more: over the limit, 1 left to buy');
  t.same(await buyLot(app.base, 'lot', 'b', '?q=2&sku=red'), { status: 200, c: 14, n: 1 }, 'b asks 2 red, 1 is left: short, nothing bought');
  t.same(await buyLot(app.base, 'lot', 'a', '?sku=blue'), { status: 200, c: 0, o: 2 }, 'a buys 1 blue: q 1 is not written');
  t.same(await buyLot(app.base, 'lot', 'a', '?sku=red'), { status: 200, c: 2, o: 2 }, 'a holds 3: already bought, their last order');
  t.same(await buyLot(app.base, 'lot', 'b', '?q=1&sku=red'), { status: 200, c: 0, o: 3 }, 'b buys the last red');
  t.same(await buyLot(app.base, 'lot', 'c', '?sku=red'), { status: 200, c: 1 }, 'c: red is sold out');
  t.same(await buyLot(app.base, 'lot', 'c', '?q=1&sku=blue'), { status: 200, c: 0, o: 4 }, 'c buys blue, still on sale');
  t.same(await buyLot(app.base, 'lot', 'c', ''), { status: 400, c: 9 }, 'no SKU on an event with SKUs: 9');
  t.same(await buyLot(app.base, 'lot', 'c', '?sku=green'), { status: 400, c: 9 }, 'a SKU it does not have: 9');
  t.same(await buyLot(app.base, 'lot', 'c', '?q=4&sku=blue'), { status: 400, c: 9 }, 'q above the limit: 9');
  t.same(await buyLot(app.base, 'lot', 'c', '?q=0&sku=blue'), { status: 400, c: 9 }, 'q 0: 9');
  const event = app.catalog.get('lot');
  t.same([event?.remaining, event?.skuRemaining(0), event?.skuRemaining(1)], [0, 0, 0], 'every unit sold');
});

t.test('a plain event refuses a SKU and a q above 1, takes q=1', async (t) => {
  const app = await testApp(t);
  t.equal((await putEvent(app.base, 'plain', { stock: 5 })).status, 201);
  t.same(await buyLot(app.base, 'plain', 'a', '?sku=red'), { status: 400, c: 9 });
  t.same(await buyLot(app.base, 'plain', 'a', '?q=2'), { status: 400, c: 9 });
  t.same(await buyLot(app.base, 'plain', 'a', '?q=1'), { status: 200, c: 0, o: 1 });
  t.same(await buyLot(app.base, 'plain', 'a', ''), { status: 200, c: 2, o: 1 });
});

t.test('a won answer with q 9 and an order number under a million is at most 100 bytes on the wire; 13 and 14 too', async (t) => {
  const app = await testApp(t);
  t.equal((await putEvent(app.base, 'wire', { limit: 100, skus: { a: 2_000_000, b: 5 } } as never)).status, 201);
  // The counter just below a million (and a buyer, as a counter above 0 has): the next win is order 999999.
  await app.redis.set('sk:{wire}:seq', '999998');
  await app.redis.hset('sk:{wire}:buyers', 'seed', '1;999998,1,a');
  const request = (user: string, query: string, extra = ''): string =>
    `POST /events/wire/buy${query} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token(user)}\r\ncontent-length: 0\r\n${extra}\r\n`;
  const sizes: Record<string, number> = {};
  for (const [what, user, query, body] of [
    ['won q 9', 'w', '?q=9&sku=a', { c: 0, o: 999999, q: 9 }],
    ['over limit', 'w', '?q=100&sku=a', { c: 13, k: 91 }],
    ['short', 'v', '?q=9&sku=b', { c: 14, n: 5 }],
  ] as const) {
    const raw = await exchange(app.port, request(user, query));
    const text = raw.toString();
    t.same(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)), body, `${what}: the body`);
    t.ok(raw.length <= 100, `${what}: ${raw.length} bytes`);
    sizes[what] = raw.length;
  }
  const packed = await exchange(app.port, request('m', '?q=9&sku=a', 'accept: application/msgpack\r\n'));
  t.same(unpack(packed.subarray(packed.indexOf('\r\n\r\n') + 4)), { c: 0, o: 1000000, q: 9 }, 'MessagePack: the same map');
  t.comment(`bytes: ${JSON.stringify(sizes)}`);
});

t.test('the order query lists every order of a lots event; a plain event answers as before', async (t) => {
  const app = await testApp(t);
  t.equal((await putEvent(app.base, 'list', { limit: 3, skus: { red: 5, blue: 5 } } as never)).status, 201);
  const orders = async (user: string): Promise<unknown> =>
    (await fetch(`${app.base}/events/list/order`, { headers: { authorization: `Bearer ${token(user)}` } })).json();
  t.same(await orders('a'), { c: 11 }, 'none yet: 11');
  await buyLot(app.base, 'list', 'a', '?q=2&sku=red');
  await buyLot(app.base, 'list', 'a', '?sku=blue');
  t.same(await orders('a'), {
    c: 0,
    orders: [
      { o: 1, q: 2, sku: 'red', s: 'pending' },
      { o: 2, q: 1, sku: 'blue', s: 'pending' },
    ],
  }, 'both orders, oldest first (no MySQL here: pending)');
  const stats = (await (await fetch(`${app.base}/admin/events/list`, { headers: { authorization: 'Bearer test-admin-token' } })).json()) as Record<string, unknown>;
  t.match(stats, { limit: 3, skus: { red: 5, blue: 5 }, remaining: 7, sold: 3, bySku: { red: { stock: 5, remaining: 3, sold: 2, orders: 1 }, blue: { stock: 5, remaining: 4, sold: 1, orders: 1 } } }, 'admin stats per SKU');
});

t.test('the WebSocket frame carries q and sku; the answer its count', async (t) => {
  const packr = new Packr({ useRecords: false });
  const read = (v: unknown[]): ReturnType<typeof readFrame> => {
    const packed = packr.pack(v);
    return readFrame(packed.buffer.slice(packed.byteOffset, packed.byteOffset + packed.length) as ArrayBuffer, true);
  };
  t.same(read([1, 'e']), { id: 1, event: 'e', token: undefined, q: 1, sku: '' }, 'a plain buy');
  t.same(read([1, 'e', { q: 2, sku: 'red' }]), { id: 1, event: 'e', token: undefined, q: 2, sku: 'red' }, 'q and sku');
  t.same(read([1, 'e', 'tok', { q: 3 }]), { id: 1, event: 'e', token: 'tok', q: 3, sku: '' }, 'with a token');
  t.same(read([1, 'e', { q: 0 }]), { id: 1, event: 'e', token: undefined, q: 0, sku: '' }, 'q 0: malformed, answered 9');
  t.notOk(isRequest(read([1, 'e', { colour: 'red' }])), 'another key: unreadable');
  t.notOk(isRequest(read([0, 'e', { q: 2 }])), 'a subscription takes no map');
  t.notOk(isRequest(read([1, 'e', 'a', 'b', 'c'])), 'three strings after the event: unreadable');
  t.same(read([1, 'e', 'tok', 'sol', { q: 2 }]), { id: 1, event: 'e', token: 'tok', solution: 'sol', q: 2, sku: '' }, 'token, solved challenge, then the map');
  t.same(read([1, 'e', null, 'sol', { sku: 'red' }]), { id: 1, event: 'e', token: undefined, solution: 'sol', q: 1, sku: 'red' }, 'no token, a solution and the map');
  t.notOk(isRequest(read([1, 'e', 'tok', 7, { q: 2 }])), 'a solution that is no text: unreadable');
  t.same(unpack(answerFrame(1, 0, 7, 2)), [1, 0, 7, 2], 'a win of 2: its q');
  t.same(unpack(answerFrame(1, 0, 7, 1)), [1, 0, 7], 'a win of 1: as before');
  t.same(unpack(answerFrame(1, 13, 0, 1)), [1, 13, 0, 1], '13 with k');
  t.same(unpack(requestFrame(1, 'e', undefined, { q: 2, sku: 'red' })), [1, 'e', { q: 2, sku: 'red' }], 'the client frame');
  t.same(unpack(requestFrame(1, 'e', undefined, 'sol', { q: 2 })), [1, 'e', null, 'sol', { q: 2 }], 'the client frame with a solution');
  const fits = (b: Buffer): boolean => frameFits(b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer);
  const solution = 'A'.repeat(2000);
  t.ok(fits(requestFrame(1, 'e', undefined, solution, { q: 2 })), 'a solved challenge of 2 KB and the map: within the size of a frame with a solution');
  t.ok(fits(requestFrame(1, 'e', undefined, solution)), 'without the map too');
  t.notOk(fits(packr.pack([1, 'e', null, solution, { q: 2 }, 'x'])), 'six elements that long: too big');
  t.notOk(fits(packr.pack([1, 'e', 'x'.repeat(600)])), 'no solution (a token that long): the plain size');
});

t.test('the query and the definition: what is refused', async (t) => {
  t.same(parseBuyQuery('q=2&sku=red'), { q: 2, sku: 'red' });
  t.same(parseBuyQuery('sku=red'), { q: 1, sku: 'red' });
  t.same(parseBuyQuery('_=1712345&q=2&Q=5'), { q: 2, sku: '' }, 'other parameters (a cache-buster, Q) are left alone');
  for (const bad of ['q=0', 'q=101', 'q=1.5', 'q=', 'q=2&q=3', 'sku=a&sku=b', 'q=02']) t.equal(parseBuyQuery(bad).q, 0, `${bad}: q 0 (answered 9)`);
  t.equal(parseBuyQuery('sku=r%20d').sku, '\u0000', 'a SKU id that cannot be one: matches none');
  const now = Date.now();
  const def = (o: Record<string, unknown>): unknown => parseDefinition({ start: now, end: now + 60_000, ...o }, now);
  t.same(def({ skus: { red: 2, blue: 3 } }), { stock: 5, start: now, end: now + 60_000, name: '', payWithin: 0, drawMs: 0, skus: { red: 2, blue: 3 } }, 'stock: their sum');
  t.same(def({ stock: 4, limit: 1 }), { stock: 4, start: now, end: now + 60_000, name: '', payWithin: 0, drawMs: 0 }, 'limit 1: the plain event, no field kept');
  t.match(def({ stock: 4, skus: { red: 2, blue: 3 } }), /must equal the sum/);
  t.match(def({ stock: 4, limit: 101 }), /limit must be/);
  t.match(def({ skus: { 'r d': 2 } }), /must match/);
  t.match(def({ skus: {} }), /skus must be/);
  t.match(def({ skus: { red: 0 } }), /SKU red: stock/);
  t.same(parseSkus('red=500, blue=300'), { red: 500, blue: 300 }, 'seckill event put --skus');
  t.throws(() => parseSkus('red:500'), /--skus: expected id=stock/);
});
