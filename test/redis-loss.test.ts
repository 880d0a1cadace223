import t from 'tap';
import { checkSale, openOn, stack } from './helpers/redis-loss';
import { crowd } from './helpers/crowd';

/**
 * Redis loses data mid-sale while two server processes sell on it (one
 * redis-server, one mariadbd, real HTTP clients). Whatever the loss, no unit
 * is sold twice, no order number is granted twice, and every user told
 * "won" after the loss has that order in MySQL.
 */

t.test('two servers selling, FLUSHALL, one restarted: exact stock, no number twice, every later winner stored', async (t) => {
  const s = await stack(t);
  const a = await s.start('a');
  const b = await s.start('b');
  await openOn(t, [a, b], 'flash', 3000);
  const bases = [a.base, b.base];
  let lostAt = Number.POSITIVE_INFINITY;
  let fault: Promise<void> | undefined;
  const told = await crowd(bases, 'flash', Array.from({ length: 5000 }, (_, i) => `f${i}`), {
    concurrency: 40,
    timeoutMs: 90_000,
    onAnswer: (_x, sold) => {
      if (fault !== undefined || sold < 800) return;
      fault = (async () => {
        await s.redis.flushall();
        lostAt = Date.now();
        bases[0] = '';
        a.child.kill('SIGTERM');
        await a.exited;
        const again = await s.start('a');
        bases[0] = again.base;
      })();
    },
  });
  await fault;
  t.ok(Number.isFinite(lostAt), 'Redis was flushed mid-sale');
  await checkSale(t, s, 'flash', 3000, told, lostAt);
});

t.test('two servers selling, FLUSHALL with no restart: the sale resumes once restored and sells out', async (t) => {
  const s = await stack(t);
  const a = await s.start('a');
  const b = await s.start('b');
  await openOn(t, [a, b], 'nore', 3000);
  let lostAt = Number.POSITIVE_INFINITY;
  let flushed: Promise<unknown> | undefined;
  const told = await crowd([a.base, b.base], 'nore', Array.from({ length: 5000 }, (_, i) => `n${i}`), {
    concurrency: 40,
    timeoutMs: 90_000,
    onAnswer: (_x, sold) => {
      if (flushed === undefined && sold >= 1000) {
        lostAt = Date.now();
        flushed = s.redis.flushall();
      }
    },
  });
  await flushed;
  const soldOutEarly = told.filter((x) => x.code === 1 && x.at > lostAt).length;
  t.comment(`sold-out answers after the loss: ${soldOutEarly}`);
  t.ok(told.some((x) => x.code === 10 && x.at >= lostAt), 'buys were answered 10 (retry) while the event was restored');
  await checkSale(t, s, 'nore', 3000, told, lostAt);
});
