import { Cluster, Redis } from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import t, { type Test } from 'tap';
import { connectMysql } from '../src/orders/mysql';
import type { ClusterShard, LocalCluster } from '../src/services/redis-cluster';
import { ADMIN, buy, count, openEvent, testApp, type TestApp } from './helpers/app';
import { scrape } from './helpers/metrics';
import { testCluster, testMysql } from './helpers/services';
import { until } from './helpers/wait';

/**
 * seckill on a real three-master Redis Cluster started by the test
 * (src/services/redis-cluster.ts): events spread over the shards, each
 * event in one slot; a shard that stops takes only its own events away;
 * a shard that loses its data is restored from MySQL.
 */

/** The master owning an event's slot, as the cluster's slot table says. */
async function ownerOf(app: TestApp, event: string): Promise<string> {
  const redis = app.redis as Cluster;
  const slot = Number(await redis.cluster('KEYSLOT', `sk:{${event}}:meta`));
  return (redis.slots[slot] ?? [])[0] ?? '';
}

/** Three event ids (from `prefix` + a letter) whose slots are on three different masters. */
async function spread(app: TestApp, prefix: string): Promise<Map<string, string>> {
  const byOwner = new Map<string, string>();
  for (const c of 'abcdefghijklmnopqrstuvwxyz') {
    const owner = await ownerOf(app, prefix + c);
    if (!byOwner.has(owner)) byOwner.set(owner, prefix + c);
    if (byOwner.size === 3) break;
  }
  return new Map([...byOwner].map(([owner, event]) => [event, owner]));
}

function shardOf(cluster: LocalCluster, address: string): ClusterShard {
  const s = cluster.shards.find((x) => x.address === address);
  if (s === undefined) throw new Error(`no shard ${address}`);
  return s;
}

async function health(app: TestApp): Promise<{ redis: boolean; redisCluster: { state: string; masters: Record<string, boolean> } }> {
  return (await (await fetch(`${app.base}/healthz`)).json()) as never;
}

t.test('a sale over three events on three shards: exact stock, one unit per user, MySQL equal', async (t) => {
  const cluster = await testCluster(t);
  const db = await testMysql(t);
  const app = await testApp(t, { redisClusterNodes: cluster.nodes, mysqlUrl: db.url, persistWaitMs: 10 });
  const events = await spread(app, 'spread-');
  t.equal(new Set(events.values()).size, 3, `three events on three masters: ${JSON.stringify([...events])}`);
  const stock = 60;
  for (const e of events.keys()) await openEvent(t, app.base, e, stock);

  // 300 users, each clicking every event twice at once.
  const clicks: Promise<{ event: string; user: string; c: number; o?: number }>[] = [];
  for (let i = 0; i < 300; i++) {
    for (const e of events.keys()) for (let k = 0; k < 2; k++) clicks.push(buy(app.base, e, `u${i}`).then((a) => ({ event: e, user: `u${i}`, ...a })));
  }
  const answers = await Promise.all(clicks);
  t.equal(count(answers, (a) => a.c === 10 || a.c === 5 || a.c === 6), 0, 'every click decided (no 5, 6 or 10)');

  const pool = await connectMysql({ url: db.url });
  t.teardown(() => pool.end());
  for (const e of events.keys()) {
    const wins = answers.filter((a) => a.event === e && a.c === 0);
    t.equal(wins.length, stock, `${e}: exactly the stock is sold`);
    t.equal(new Set(wins.map((w) => w.user)).size, stock, `${e}: one unit per user`);
    t.same(wins.map((w) => w.o).sort((a, b) => (a ?? 0) - (b ?? 0)), Array.from({ length: stock }, (_, i) => i + 1), `${e}: order numbers 1..${stock}`);
    const k = app.catalog.get(e)!.keys;
    t.equal(await app.redis.get(k.stock), '0', `${e}: Redis remaining 0`);
    await until(async () => (await app.redis.xlen(k.orders)) === 0, `${e}: the persister drained the stream`, 30_000, 20);
    const [rows] = await pool.query<RowDataPacket[]>('SELECT user_id, order_no FROM orders WHERE event_id = ?', [e]);
    const stored = new Map(rows.map((r) => [String(r.user_id), Number(r.order_no)]));
    t.same(stored, new Map(wins.map((w) => [w.user, w.o])), `${e}: MySQL holds exactly the winners with their order numbers`);
    t.same(await app.redis.hgetall(k.buyers), Object.fromEntries(wins.map((w) => [w.user, String(w.o)])), `${e}: Redis buyers equal`);
  }
  const h = await health(app);
  t.equal(h.redis, true, '/healthz: every master answers');
  t.equal(h.redisCluster.state, 'ok', '/healthz: cluster state ok');
  t.same(Object.keys(h.redisCluster.masters).sort(), cluster.shards.map((s) => s.address).sort(), '/healthz lists the three masters');
});

t.test('a sell-out on one instance reaches another through each shard\'s sharded pub/sub; it answers "sold out" from memory', async (t) => {
  const cluster = await testCluster(t);
  // The periodic refresh is an hour: only the news (SPUBLISH on each event's own shard) can tell b.
  const a = await testApp(t, { redisClusterNodes: cluster.nodes, eventRefreshMs: 3_600_000 });
  const b = await testApp(t, { redisClusterNodes: cluster.nodes, eventRefreshMs: 3_600_000 });
  const events = await spread(a, 'news-');
  t.equal(new Set(events.values()).size, 3, 'three events on three masters');
  for (const e of events.keys()) await openEvent(t, a.base, e, 20);
  for (const e of events.keys()) await until(() => b.catalog.get(e)?.remaining === 20, `b learns of ${e} from the news ("changed")`, 5_000, 5);
  for (const e of events.keys()) {
    const sold = await Promise.all(Array.from({ length: 20 }, (_, i) => buy(a.base, e, `${e}-${i}`)));
    const soldAt = Date.now();
    t.equal(count(sold, (x) => x.c === 0), 20, `a sold ${e} out`);
    await until(() => b.catalog.get(e)?.remaining === 0, `b learns ${e} sold out`, 5_000, 1);
    t.comment(`${e} (${events.get(e)}): the sell-out reached b in ${Date.now() - soldAt} ms`);
    // b must know a's winners before it says "sold out" from memory: it reads them, and meanwhile asks Redis.
    const late = await Promise.all(Array.from({ length: 10 }, (_, i) => buy(b.base, e, `late-${e}-${i}`)));
    t.ok(late.every((x) => x.c === 1), `b answers "sold out" for ${e}`);
    await until(() => b.catalog.get(e)!.winnersComplete, `b knows every winner of ${e}`);
  }
  const asked = (await scrape(b.base, ADMIN))('seckill_decisions_total', { channel: 'http', stage: 'redis', outcome: 'sold_out' }) ?? 0;
  for (const e of events.keys()) {
    const later = await Promise.all(Array.from({ length: 10 }, (_, i) => buy(b.base, e, `later-${e}-${i}`)));
    t.ok(later.every((x) => x.c === 1), `b answers "sold out" for ${e} again`);
  }
  const m = await scrape(b.base, ADMIN);
  t.equal(m('seckill_decisions_total', { channel: 'http', stage: 'prefilter', outcome: 'sold_out' }), 60 - asked, 'once it knows the winners, b answers from memory');
  t.equal(m('seckill_decisions_total', { channel: 'http', stage: 'redis', outcome: 'sold_out' }), asked, 'none of the later ones asked Redis');
});

t.test('one shard stopped mid-sale: its event answers 10, the others keep selling; back when it is', async (t) => {
  const cluster = await testCluster(t);
  const app = await testApp(t, { redisClusterNodes: cluster.nodes });
  const events = await spread(app, 'down-');
  for (const e of events.keys()) await openEvent(t, app.base, e, 1000);
  const [lost, ...others] = [...events.keys()] as [string, string, string];
  for (const e of events.keys()) t.equal((await buy(app.base, e, 'before')).c, 0, `${e} sells before`);

  const shard = shardOf(cluster, events.get(lost)!);
  await shard.stop();
  const during = await Promise.all(Array.from({ length: 20 }, (_, i) => buy(app.base, lost, `d${i}`)));
  t.ok(during.every((a) => a.c === 10 && a.status === 503), `${lost} (its shard down): every buy answers 10, 503`);
  for (const e of others) {
    const sold = await Promise.all(Array.from({ length: 20 }, (_, i) => buy(app.base, e, `o${i}`)));
    t.ok(sold.every((a) => a.c === 0), `${e} (another shard): all 20 buys win while ${lost}'s shard is down`);
  }
  const ready = await fetch(`${app.base}/readyz`);
  t.equal(ready.status, 200, '/readyz stays 200: most events can still be decided');
  // /healthz reports the last background check (twice per command timeout): wait for one after the stop.
  await until(async () => (await health(app)).redis === false, '/healthz: a master is down', 5_000, 20);
  const h = await health(app);
  t.equal(h.redis, false, '/healthz: not every master answers');
  t.equal(h.redisCluster.masters[shard.address], false, '/healthz names the master that is down');
  t.equal(Object.values(h.redisCluster.masters).filter(Boolean).length, 2, '/healthz: the two others answer');
  // Their fate is unknown (the calls may have reached the shard): the reservations stay until the buyers hash answers.
  t.equal(app.catalog.get(lost)!.reserved, 20, 'the reservations of the unanswered batch are kept while its shard is down');

  await shard.start();
  await until(() => app.catalog.get(lost)!.reserved === 0, 'released once the shard answers: none of them was granted');
  await until(async () => (await buy(app.base, lost, 'after')).c === 0, `${lost} sells again once its shard is back`, 30_000, 100);
  t.equal(Number(await app.redis.get(app.catalog.get(lost)!.keys.stock)), 1000 - 2, `${lost}: only 'before' and 'after' bought: nothing sold while it was down`);
  await until(async () => (await health(app)).redis, '/healthz: every master answers again', 30_000, 100);
});

t.test('FLUSHALL on one shard: its event is restored from MySQL under Cluster, the others never stop', async (t: Test) => {
  const cluster = await testCluster(t);
  const db = await testMysql(t);
  const app = await testApp(t, { redisClusterNodes: cluster.nodes, mysqlUrl: db.url, persistWaitMs: 10, eventRefreshMs: 200 });
  const events = await spread(app, 'flush-');
  for (const e of events.keys()) await openEvent(t, app.base, e, 100);
  const [lost, other] = [...events.keys()] as [string, string, string];
  const first = await Promise.all(Array.from({ length: 40 }, (_, i) => buy(app.base, lost, `f${i}`)));
  t.equal(count(first, (a) => a.c === 0), 40, '40 sold before the loss');
  const k = app.catalog.get(lost)!.keys;
  await until(async () => (await app.redis.xlen(k.orders)) === 0, 'those 40 are in MySQL', 30_000, 20);

  const shard = shardOf(cluster, events.get(lost)!);
  const direct = new Redis({ host: '127.0.0.1', port: shard.port });
  t.teardown(() => direct.disconnect());
  await direct.flushall();
  t.equal(await direct.exists(k.meta), 0, `${lost}'s shard is empty`);
  t.equal((await buy(app.base, other, 'meanwhile')).c, 0, 'an event on another shard sells on');

  await until(async () => (await app.redis.hget(k.meta, 'stock')) === '100' && (await app.redis.hexists(k.meta, 'lease')) === 0, `${lost} restored from MySQL`, 30_000, 50);
  t.equal(await app.redis.get(k.stock), '60', 'remaining = 100 - the 40 stored orders');
  t.equal(await app.redis.hlen(k.buyers), 40, 'the 40 buyers are back');
  t.same(await buy(app.base, lost, 'f7'), { status: 200, c: 2, o: first[7]!.o }, 'an earlier winner still hears "already bought" with the same order');
  const rest = await Promise.all(Array.from({ length: 100 }, (_, i) => buy(app.base, lost, `r${i}`)));
  const won = rest.filter((a) => a.c === 0);
  t.equal(won.length, 60, 'the 60 left sell, not one more');
  t.same(won.map((a) => a.o).sort((a, b) => (a ?? 0) - (b ?? 0)), Array.from({ length: 60 }, (_, i) => i + 41), 'new order numbers continue at 41');
});
