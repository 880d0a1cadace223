import t from 'tap';
import { putEvent, testApp, token } from './helpers/app';

/** Events sold in lots (issue 23): a limit of units per user, quantities, SKUs; the answers and their counts. */

interface LotAnswer {
  readonly status: number;
  readonly c: number;
  readonly o?: number;
  readonly q?: number;
  readonly k?: number;
  readonly n?: number;
}

async function buyLot(base: string, event: string, user: string, query = ''): Promise<LotAnswer> {
  const res = await fetch(`${base}/events/${event}/buy${query}`, { method: 'POST', headers: { authorization: `Bearer ${token(user)}` } });
  return { status: res.status, ...((await res.json()) as Omit<LotAnswer, 'status'>) };
}

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
