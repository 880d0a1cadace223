import net from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ADMIN, buy, putEvent, testApp, type Answer } from './helpers/app';
import { tempDir } from './helpers/services';

const PAYER = 'test-payment-token';
const STOCK = 300;

interface Stats {
  readonly stock: number;
  readonly remaining: number;
  readonly buyers: number;
  readonly payments: { readonly due: number; readonly paid: number; readonly expired: number };
}

async function stats(base: string, event: string): Promise<Stats | string> {
  const res = await fetch(`${base}/admin/events/${event}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  return res.status === 200 ? ((await res.json()) as Stats) : `${res.status} ${await res.text()}`;
}

async function pay(base: string, event: string, order: number): Promise<number> {
  const res = await fetch(`${base}/events/${event}/orders/${order}/paid`, { method: 'POST', headers: { authorization: `Bearer ${PAYER}` } });
  return ((await res.json()) as { c: number }).c;
}

/**
 * A unix socket in front of Redis that passes what its clients send on in
 * slices of a few bytes, one per event-loop turn, as a network delivers a
 * burst in segments: commands a client wrote together reach Redis apart,
 * and other connections' commands run in between.
 */
async function segmentingLink(t: Test, redisSocket: string): Promise<string> {
  const socket = path.join(tempDir(t), 'link.sock');
  const server = net.createServer((client) => {
    const upstream = net.connect(redisSocket);
    upstream.pipe(client);
    const pending: Buffer[] = [];
    let sending = false;
    const next = (): void => {
      const chunk = pending.shift();
      if (chunk === undefined || upstream.destroyed) return void (sending = false);
      upstream.write(chunk.subarray(0, 16));
      if (chunk.length > 16) pending.unshift(chunk.subarray(16));
      setImmediate(next);
    };
    client.on('data', (d: Buffer) => {
      pending.push(d);
      if (!sending) (sending = true), next();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return socket;
}

/**
 * Every unit is in exactly one place: on sale, held by an order due, or
 * paid (buy-8 moves one from stock to due, payOrder-7 from due to paid,
 * expireDue-6 and a late payOrder-7 from due back to stock); and every
 * buyer holds one unless their order expired. One stats answer is one
 * moment: both sums are the stock in every read, whatever sells, pays and
 * expires meanwhile.
 */
t.test('admin stats are read at one moment: remaining + due + paid == stock under concurrent buys, payments and expiries', async (t) => {
  const other = await testApp(t, { paymentToken: PAYER, eventRefreshMs: 50 });
  // The server whose stats are read reaches Redis over a link that delivers its commands in pieces;
  // the other's buys, payments and expiries come over its own connection, in between.
  // (Its commands take many event-loop turns of this busy process to pass: a longer command timeout.)
  const link = await segmentingLink(t, other.redisSocket);
  const app = await testApp(t, { paymentToken: PAYER, redisUrl: link, redisTimeoutMs: 5_000, queueTimeoutMs: 10_000 });
  t.equal((await putEvent(other.base, 'inv', { stock: STOCK, payWithin: 1 })).status, 201);
  await app.catalog.refresh();

  let selling = true;
  const reads: Stats[] = [];
  const failed: string[] = [];
  const reader = async (): Promise<void> => {
    while (selling) {
      const s = await stats(app.base, 'inv');
      if (typeof s === 'string') failed.push(s);
      else reads.push(s);
    }
  };
  const buyer = async (base: string, user: string): Promise<Answer> => {
    for (;;) {
      const a = await buy(base, 'inv', user);
      if (![5, 6, 10].includes(a.c)) return a;
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const sell = async (): Promise<void> => {
    // Waves of buyers; two winners in three pay at once, the rest let the order expire (1 s) and its unit sell again.
    for (let wave = 0; wave < 10; wave++) {
      const answers = await Promise.all(Array.from({ length: 150 }, (_, i) => buyer(other.base, `w${wave}u${i}`)));
      await Promise.all(answers.flatMap((a, i) => (a.c === 0 && a.o !== undefined && i % 3 !== 0 ? [pay(other.base, 'inv', a.o)] : [])));
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const readers = Array.from({ length: 4 }, reader);
  await sell();
  selling = false;
  await Promise.all(readers);

  t.same(failed, [], 'every stats read answered');
  const last = reads[reads.length - 1];
  // Enough reads to land among the buys, payments and expiries (a loaded machine makes fewer: the balance below is what counts).
  t.ok(reads.length >= 20, `${reads.length} stats reads during the sale`);
  t.ok(last !== undefined && last.payments.paid > 0 && last.payments.expired > 0, 'orders were paid and expired meanwhile');
  const unbalanced = reads
    .filter((s) => s.remaining + s.payments.due + s.payments.paid !== s.stock)
    .map((s) => `${s.remaining} + ${s.payments.due} + ${s.payments.paid}`);
  const unheld = reads
    .filter((s) => s.remaining + s.buyers - s.payments.expired !== s.stock)
    .map((s) => `${s.remaining} + ${s.buyers} - ${s.payments.expired}`);
  t.same(unbalanced.slice(0, 5), [], `remaining + due + paid == ${STOCK} in every read (${unbalanced.length} of ${reads.length} were not)`);
  t.same(unheld.slice(0, 5), [], `remaining + buyers - expired == ${STOCK} in every read (${unheld.length} of ${reads.length} were not)`);
});
