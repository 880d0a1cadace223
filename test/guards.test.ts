import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parseBlocklist } from '../src/admission/blocklist';
import { Throttle } from '../src/admission/throttle';
import { buy, count, openEvent, testApp } from './helpers/app';
import { scrape } from './helpers/metrics';
import { tempDir } from './helpers/services';
import { until } from './helpers/wait';

t.test('throttle: a fixed one-second window per user', async (t) => {
  const th = new Throttle(3);
  const at = (ms: number): boolean[] => [th.allow('bot', ms), th.allow('bot', ms), th.allow('bot', ms), th.allow('bot', ms)];
  t.same(at(10_000), [true, true, true, false], 'the fourth in a second is refused');
  t.ok(th.allow('person', 10_100), 'another user has a count of their own');
  t.same(at(10_999), [false, false, false, false], 'still the same window');
  t.same(at(11_000), [true, true, true, false], 'a new window');
});

t.test('throttle over HTTP: a bot clicking 50 times gets 5, the sale is untouched', async (t) => {
  const app = await testApp(t, { userRate: 5 });
  await openEvent(t, app.base, 'th', 10);
  const event = app.catalog.get('th')!;
  // Decided by the prefilter before its window can turn: all in one burst.
  const clicks = await Promise.all(Array.from({ length: 50 }, () => buy(app.base, 'th', 'bot')));
  const busy = clicks.filter((a) => a.c === 5);
  t.ok(busy.length >= 40, `most of 50 clicks refused (${busy.length}; 45 when all land in one second)`);
  t.ok(busy.every((a) => a.status === 429), 'as 429');
  t.equal(count(clicks, (a) => a.c === 0), 1, 'the bot still wins one unit, once');
  t.equal(await app.redis.hlen(event.keys.buyers), 1);
  t.equal((await buy(app.base, 'th', 'person')).c, 0, 'a person is not slowed by the bot');
  t.equal(event.answers.total(5), busy.length, 'counted under the event');
});

t.test('blocklist: parsing', async (t) => {
  t.same([...parseBlocklist('a\n# comment\n\n  b  \r\nc # why\n')], ['a', 'b', 'c']);
});

t.test('blocklist: blocked users get 8 and change nothing; the file is reloaded on change', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'blocked.txt');
  fs.writeFileSync(file, '# bots\nbot1\nbot2\n');
  const app = await testApp(t, { blocklist: file, metricsToken: 'm' });
  await openEvent(t, app.base, 'bl', 5);
  const event = app.catalog.get('bl')!;

  t.same(await buy(app.base, 'bl', 'bot1'), { status: 401, c: 8 });
  t.same(await buy(app.base, 'bl', 'bot2'), { status: 401, c: 8 });
  t.same(await buy(app.base, 'bl', 'person'), { status: 200, c: 0, o: 1 });
  t.equal(await app.redis.hlen(event.keys.buyers), 1, 'only the allowed user bought');
  t.equal((await scrape(app.base, 'm'))('seckill_decisions_total', { stage: 'http', outcome: 'unauthorized' }), 2);

  // Replaced by rename, as editors and config management write it.
  fs.writeFileSync(file + '.new', 'bot2\nbot3\n');
  fs.renameSync(file + '.new', file);
  await until(async () => (await buy(app.base, 'bl', 'bot1')).c === 0, 'bot1 unblocked', 10_000, 100);
  t.same(await buy(app.base, 'bl', 'bot3'), { status: 401, c: 8 }, 'bot3 blocked');
  t.same(await buy(app.base, 'bl', 'bot2'), { status: 401, c: 8 }, 'bot2 still blocked');

  // A file that vanishes keeps the last list.
  fs.rmSync(file);
  await new Promise((r) => setTimeout(r, 1_500)); // no event tells that a poll found nothing to load
  t.same(await buy(app.base, 'bl', 'bot3'), { status: 401, c: 8 }, 'still blocked after the file went away');
});

t.test('a missing blocklist file stops the start with a message naming the setting', async (t) => {
  await t.rejects(testApp(t, { blocklist: '/nonexistent/blocked.txt' }), /SECKILL_BLOCKLIST: cannot read \/nonexistent\/blocked.txt/);
});
