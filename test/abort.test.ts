import t from 'tap';
import { buy, openEvent, testApp, token } from './helpers/app';
import { buyRequest, connect } from './helpers/raw';
import { nothingLeftBehind } from './helpers/left-behind';
import { until } from './helpers/wait';

t.test('clients that leave while parked: no crash, queue drains, counts exact', async (t) => {
  // One token a second: after the first, every request stays parked.
  const app = await testApp(t, { queueRate: 1, queueBurst: 1, queueTimeoutMs: 10_000 });
  await openEvent(t, app.base, 'flaky', 1000);
  const event = app.catalog.get('flaky')!;
  t.same(await buy(app.base, 'flaky', 'early'), { status: 200, c: 0, o: 1 }, 'takes the only token');

  const sockets = await Promise.all(Array.from({ length: 200 }, () => connect(app.port)));
  sockets.forEach((s, i) => {
    s.on('error', () => {});
    // Users gone0..gone9 click twice: their second request follows the first.
    s.write(buyRequest('flaky', token(`gone${i % 190}`)));
  });
  await until(() => app.queue.live === 200, '200 requests parked');
  t.equal(app.queue.followers, 10, 'ten repeat clicks follow their first');
  for (const s of sockets) s.destroy();
  const buyers = await nothingLeftBehind(t, app, event, 2, 'a token a second: at most one sent before the clients left');
  t.equal(Number(await app.redis.get(event.keys.stock)) + buyers, 1000, 'remaining + buyers = stock');
  t.equal(event.available, 1000 - buyers, 'local estimate back in step');

  t.same(await buy(app.base, 'flaky', 'stay'), { status: 200, c: 0, o: buyers + 1 }, 'the server still sells');
});
