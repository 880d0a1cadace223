import fs from 'node:fs';
import t from 'tap';
import type { Locator, Page } from 'playwright-core';
import { ADMIN, buy, count, openEvent, putEvent, testApp } from './helpers/app';
import { CHROMIUM, browserPage } from './helpers/browser';
import { testMysql } from './helpers/services';
import { until } from './helpers/wait';

// The dashboard in a real headless chromium (Debian's; .ci/run installs it).
if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (or set CHROMIUM_PATH)`);

const card = (page: Page, event: string): Locator => page.locator(`article.event[data-event="${event}"]`);
const TALL = 62;
const open = (page: Page, base: string): Promise<unknown> => page.goto(`${base}/admin/#token=${encodeURIComponent(ADMIN)}`);

/**
 * The lowest y (the highest point) a chart's shapes reach, in its 0..100
 * viewBox; 100 when flat. A scale is the peak rounded up to 1, 2 or 5 times
 * a power of ten, so a chart's own peak reaches at least 40% of it: y ≤ 61.6.
 */
async function peakY(chart: Locator): Promise<number> {
  return chart.evaluate((svg) => {
    let top = 100;
    for (const shape of svg.querySelectorAll('polygon, polyline')) {
      for (const pair of (shape.getAttribute('points') ?? '').trim().split(/\s+/)) top = Math.min(top, Number(pair.split(',')[1]));
    }
    return top;
  });
}

t.test('a sale as the dashboard shows it, and again after a reload', async (t) => {
  const app = await testApp(t);
  const streams: number[] = [];

  const page = await browserPage(t);
  page.on('response', (r) => {
    if (r.url().endsWith('/admin/stream')) streams.push(r.status());
  });
  await open(page, app.base);
  await page.locator('#dash').waitFor({ state: 'visible' });
  t.equal(await page.locator('#login').isVisible(), false, 'no login form once the token is accepted');
  t.equal(new URL(page.url()).hash, '', 'the token is taken out of the address bar');
  t.equal(await page.evaluate('sessionStorage.getItem("seckill.adminToken")'), ADMIN, 'kept in sessionStorage');
  t.same(streams, [200]);
  await page.locator('#no-events').waitFor({ state: 'visible' });
  t.match(await page.locator('#process').textContent(), new RegExp(`process ${process.pid} on .*summed over every process of every server \\(1 live.*Redis`), 'which process, and what is summed');

  // An event appears within a tick of being put.
  await openEvent(t, app.base, 'flash', 20);
  const flash = card(page, 'flash');
  await flash.waitFor();
  t.equal(await flash.locator('.event-id').textContent(), 'flash');
  await flash.locator('.left-big', { hasText: /^20$/ }).waitFor();
  t.equal(await flash.locator('.state').textContent(), 'open');
  t.equal(await flash.locator('details').getAttribute('open'), '', 'an open sale is shown open');
  t.match(await flash.locator('.countdown').textContent(), /^closes in (00:59:\d\d|01:00:00)$/);
  t.match(await flash.locator('.left-sub').textContent(), /of 20 · sold 0 · Redis/);

  // The sale: 30 buyers over HTTP for 20 units.
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => buy(app.base, 'flash', `b${i}`)));
  t.equal(count(answers, (a) => a.c === 0), 20);
  await flash.locator('.left-big', { hasText: /^0$/ }).waitFor();
  await flash.locator('.state', { hasText: 'sold out' }).waitFor();
  t.match(await flash.locator('.state').getAttribute('class'), /state-soldout/);
  t.match(await flash.locator('.left-sub').textContent(), /of 20 · sold 20/);
  t.equal(await flash.locator('.lag-big').textContent(), '20', 'MYSQL_URL=none: all 20 orders wait in the stream');
  t.notMatch(await flash.locator('.lag-big').getAttribute('class'), /warn/, 'no amber where no persister runs');
  t.equal(await flash.locator('.tile.lag .label').textContent(), 'orders in Redis only');
  t.equal(await flash.locator('.tile.pay').isVisible(), false, 'no payment deadline: no payment tile');
  t.equal(await flash.locator('.alert-row').count(), 3, 'busy, timeout, unavailable');
  t.equal(await page.locator('#q-capacity').textContent(), app.config.queueCapacity.toLocaleString('en-US'));

  const shown = async (what: string): Promise<void> => {
    // Totals: every process's answers, and the buyers Redis holds.
    await flash.locator('.t-won', { hasText: /^20$/ }).waitFor();
    await flash.locator('.t-soldout', { hasText: /^10$/ }).waitFor();
    t.equal(await flash.locator('.t-requests').textContent(), '30', `${what}: requests`);
    t.equal(await flash.locator('.t-buyers').textContent(), '20', `${what}: distinct buyers`);
    await flash.locator('.t-selltime', { hasText: /^sold out within \d+ s of the start$/ }).waitFor();
    // The charts, drawn from the history: the stock drained to 0, the wins and the refusals on their own scales.
    await flash.locator('.legend .key[data-outcome="sold_out"]', { hasText: 'sold out 10' }).waitFor();
    t.match(await flash.locator('.legend').textContent(), /won 20/, `${what}: the legend counts the sale`);
    await flash.locator('.history-note', { hasText: /^one sample every 1 s/ }).waitFor();
    t.equal(await flash.locator('svg.drain polyline.drain-line').count(), 1, `${what}: the draining line`);
    const drain = (await flash.locator('svg.drain polyline').getAttribute('points')) ?? '';
    t.equal(Number(drain.trim().split(/\s+/).pop()?.split(',')[1]), 100, `${what}: drained to 0`);
    // The samples follow each process's publication (about a second).
    await until(async () => (await peakY(flash.locator('svg.wins'))) < TALL, `${what}: the wins reach up their own chart`, 20_000);
    await until(async () => (await peakY(flash.locator('svg.mix'))) < TALL, `${what}: and the refusals theirs`);
    t.match(await flash.locator('.chart-wins .scale').textContent(), /^scale 0–\d+\/s$/);
  };
  await shown('live');

  // A reload: everything the page had is gone, and comes back from the server's history.
  await page.reload();
  await flash.waitFor();
  await shown('after a reload');
});

t.test('after the sale: ended sales collapse to their totals, open ones come first; a page opened later draws the whole sale', async (t) => {
  const app = await testApp(t);
  const now = Date.now();
  // A short sale, sold out and over before the page is opened.
  t.equal((await putEvent(app.base, 'brief', { stock: 3, start: now - 1000, end: now + 2500, name: 'Brief sale' })).status, 201);
  const answers = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((u) => buy(app.base, 'brief', u)));
  t.equal(count(answers, (a) => a.c === 0), 3);
  t.equal((await putEvent(app.base, 'later', { stock: 9, start: now + 3_600_000, end: now + 7_200_000 })).status, 201);
  await openEvent(t, app.base, 'now', 4);
  const page = await browserPage(t);
  // The public route says when it has ended.
  await until(async () => ((await (await fetch(`${app.base}/events/brief`)).json()) as { state: string }).state === 'ended', 'the brief sale ended', 10_000, 100);
  await open(page, app.base);
  const brief = card(page, 'brief');
  await brief.locator('.state', { hasText: 'ended · sold out' }).waitFor();
  const order = await Promise.all((await page.locator('article.event').all()).map((c) => c.getAttribute('data-event')));
  t.same(order, ['now', 'later', 'brief'], 'open, then upcoming, then ended');
  t.equal(await brief.locator('details').getAttribute('open'), null, 'the ended sale is collapsed');
  t.equal(await brief.locator('svg.wins').isVisible(), false, 'its charts folded away');
  t.equal(await brief.locator('.t-won').textContent(), '3', 'its totals show');
  t.equal(await brief.locator('.t-soldout').textContent(), '2');
  t.equal(await brief.locator('.t-requests').textContent(), '5');
  t.equal(await brief.locator('.t-buyers').textContent(), '3');
  await brief.locator('.t-selltime', { hasText: /^sold out within \d s of the start$/ }).waitFor();
  t.match(await brief.locator('.countdown').textContent(), /^ended 00:00:0\d ago$/);

  // Opened, it draws the sale from the history the server kept.
  await brief.locator('summary').click();
  await brief.locator('svg.wins polygon.stack').waitFor();
  t.ok((await peakY(brief.locator('svg.wins'))) < TALL, 'the wins');
  t.ok((await peakY(brief.locator('svg.mix'))) < TALL, 'the refusals');
  t.match(await brief.locator('.legend').textContent(), /won 3.*sold out 2/);
  // Chosen by hand, it stays open across the next snapshots (the countdown moves on).
  const ago = (await brief.locator('.countdown').textContent()) ?? '';
  await brief.locator('.countdown', { hasText: /^ended / }).filter({ hasNotText: ago }).waitFor();
  t.equal(await brief.locator('details').getAttribute('open'), '', 'stays open');
});

t.test('wins and refusals on their own scales; times with their zone; 400 px wide', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'crowd', 5);
  // 5 wins and a crowd of refusals in the same seconds.
  const answers = await Promise.all(Array.from({ length: 400 }, (_, i) => buy(app.base, 'crowd', `c${i}`)));
  t.equal(count(answers, (a) => a.c === 0), 5);
  const page = await browserPage(t, { width: 400, height: 900 }, 'Asia/Shanghai');
  await open(page, app.base);
  const crowd = card(page, 'crowd');
  await crowd.locator('.t-requests', { hasText: /^400$/ }).waitFor();
  await crowd.locator('.legend .key[data-outcome="sold_out"]').waitFor();
  await crowd.locator('svg.wins polygon.stack').waitFor();
  const scale = async (chart: string): Promise<number> => Number(((await crowd.locator(`.chart-${chart} .scale`).textContent()) ?? '').replace(/^scale 0–|\/s$|,/g, ''));
  await until(async () => (await scale('mix')) >= 50 && (await scale('wins')) >= 1, 'the samples with the crowd in them');
  const wins = await scale('wins');
  const others = await scale('mix');
  t.ok(wins >= 1 && wins <= 5, `wins on a scale of their own (0–${wins}/s)`);
  t.ok(others >= 50, `refusals on theirs (0–${others}/s)`);
  t.ok((await peakY(crowd.locator('svg.wins'))) < TALL, 'a handful of wins reaches up its chart beside hundreds of refusals');

  // Times say their zone (the browser's, here Asia/Shanghai).
  t.match(await crowd.locator('.range').textContent(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d → .* (GMT\+8|CST)$/, 'the window with its zone');
  t.match(await crowd.locator('.chart-wins .x1').textContent(), /(GMT\+8|CST)$/, 'the charts too');
  t.match(await page.locator('#c-zone').textContent(), /Asia\/Shanghai/, 'the form says which zone its times are in');

  // 400 px: one column, nothing wider than the screen.
  const widest = Number(await page.evaluate('document.documentElement.scrollWidth'));
  t.ok(widest <= 400, `no horizontal scrolling at 400 px (${widest})`);
  const right = await crowd.evaluate((c) => c.getBoundingClientRect().right);
  t.ok(right <= 400, 'the card fits');
  const charts = await crowd.locator('.chart').evaluateAll((figs) => figs.map((f) => f.getBoundingClientRect().left));
  t.ok(charts.length === 3 && charts.every((x) => x === charts[0]), 'the charts stacked in one column');
});

t.test('the amber "waiting for MySQL" shows where a persister is expected', async (t) => {
  const mysql = await testMysql(t);
  // MySQL configured, the persister run apart (SECKILL_PERSISTER=false) and not started: orders wait.
  const app = await testApp(t, { mysqlUrl: mysql.url, persister: false });
  await openEvent(t, app.base, 'slow', 2);
  const answers = await Promise.all(['x', 'y'].map((u) => buy(app.base, 'slow', u)));
  t.equal(count(answers, (a) => a.c === 0), 2);
  const page = await browserPage(t);
  await open(page, app.base);
  const slow = card(page, 'slow');
  await slow.locator('.lag-big', { hasText: /^2$/ }).waitFor();
  t.match(await slow.locator('.lag-big').getAttribute('class'), /warn/, 'amber');
  t.equal(await slow.locator('.tile.lag .label').textContent(), 'orders waiting for MySQL');
});

t.test('the pause button: pauses the sale (buys answer 16), shows it, and resumes it', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'held', 5);
  const page = await browserPage(t);
  await open(page, app.base);
  const held = card(page, 'held');
  await held.locator('button.pause', { hasText: 'pause' }).click();
  await held.locator('.state', { hasText: 'paused' }).waitFor();
  t.equal((await buy(app.base, 'held', 'u1')).c, 16, 'paused from the page: a buy answers 16');
  t.ok(await held.locator('details').evaluate((d) => (d as unknown as { open: boolean }).open), 'the click did not fold the card');
  await held.locator('button.pause', { hasText: 'resume' }).click();
  await held.locator('.state', { hasText: 'open' }).waitFor();
  t.equal((await buy(app.base, 'held', 'u1')).c, 0, 'resumed from the page: it sells');
});

t.test('a wrong token shows the login state and no sale data; the right one opens the dashboard', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'secretsale', 5);

  const page = await browserPage(t);
  const streams: number[] = [];
  page.on('response', (r) => {
    if (r.url().endsWith('/admin/stream')) streams.push(r.status());
  });
  await page.goto(`${app.base}/admin/#token=not-the-token`);
  await page.locator('#login-error', { hasText: '401' }).waitFor();
  t.same(streams, [401], 'the stream refused it');
  t.equal(await page.locator('#login').isVisible(), true);
  t.equal(await page.locator('#dash').isVisible(), false);
  t.equal(await page.evaluate('sessionStorage.getItem("seckill.adminToken")'), null, 'a refused token is forgotten');
  t.notMatch(await page.content(), /secretsale/, 'no event id anywhere in the document');
  t.equal(await page.locator('article.event').count(), 0);

  // Typing the right token opens it.
  await page.locator('#token').fill(ADMIN);
  await page.locator('#login-form button').click();
  await card(page, 'secretsale').waitFor();
  t.equal(await page.locator('#login').isVisible(), false);

  // Logging out clears everything the page had.
  await page.locator('#logout').click();
  await page.locator('#login').waitFor({ state: 'visible' });
  t.equal(await page.locator('article.event').count(), 0);
  t.notMatch(await page.content(), /secretsale/);
  t.equal(await page.evaluate('sessionStorage.getItem("seckill.adminToken")'), null);
});

t.test('create an event from the page: default times taken at the press, payWithin, the API errors shown', async (t) => {
  const app = await testApp(t);
  const page = await browserPage(t);
  // The page is opened "ten minutes ago": a default computed at load would be ten minutes stale at the press.
  await page.clock.setFixedTime(Date.now() - 600_000);
  await open(page, app.base);
  await page.locator('#dash').waitFor({ state: 'visible' });
  t.equal(await page.locator('#c-start').inputValue(), '', 'no start baked in at load');
  t.equal(await page.locator('#c-end').inputValue(), '');
  await page.clock.setFixedTime(Date.now());

  await page.locator('#c-id').fill('autumn');
  await page.locator('#c-stock').fill('42');
  await page.locator('#c-name').fill('Autumn <b>sale</b>');
  await page.locator('#c-pay').fill('15m');
  const pressed = Date.now();
  await page.locator('#create button').click();
  await page.locator('#c-result', { hasText: '201 created' }).waitFor();
  t.match(await page.locator('#c-result').getAttribute('class'), /ok/);
  t.match(await page.locator('#c-result').textContent(), /pay within 15 min/);
  const stored = (await (await fetch(`${app.base}/admin/events/autumn`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as Record<string, unknown>;
  t.match(stored, { stock: 42, name: 'Autumn <b>sale</b>', state: 'scheduled', payWithin: 900 }, 'the API has it');
  const start = Date.parse(String(stored.start));
  t.ok(start >= pressed + 55_000 && start <= pressed + 65_000, 'a minute after the press, not after the page was opened');
  t.equal(Date.parse(String(stored.end)) - start, 3_600_000, 'for an hour');
  const autumn = card(page, 'autumn');
  await autumn.waitFor();
  t.equal(await autumn.locator('.state').textContent(), 'scheduled');
  t.match(await autumn.locator('.countdown').textContent(), /^opens in 00:0[01]:\d\d$/);
  t.equal(await autumn.locator('.event-name').textContent(), 'Autumn <b>sale</b>', 'a name is shown as text, never as markup');
  t.equal(await autumn.locator('.left-big').textContent(), '42');
  await autumn.locator('.pay-sub', { hasText: 'pay within 15 min' }).waitFor();
  t.equal(await autumn.locator('.pay-big').textContent(), '0 due');

  // A bare number is not a duration: refused in the page, nothing sent.
  await page.locator('#c-id').fill('bare');
  await page.locator('#c-pay').fill('900');
  await page.locator('#create button').click();
  await page.locator('#c-result', { hasText: 'give a unit' }).waitFor();
  t.equal((await fetch(`${app.base}/admin/events/bare`, { headers: { authorization: `Bearer ${ADMIN}` } })).status, 404, 'nothing made');
  await page.locator('#c-pay').fill('');

  // End before start: the API's 400 and its message.
  await page.locator('#c-id').fill('broken');
  await page.locator('#c-end').fill('2020-01-01T00:00');
  await page.locator('#create button').click();
  await page.locator('#c-result', { hasText: '400 end must be after start (code 9)' }).waitFor();
  t.match(await page.locator('#c-result').getAttribute('class'), /error/);
  t.equal((await fetch(`${app.base}/admin/events/broken`, { headers: { authorization: `Bearer ${ADMIN}` } })).status, 404, 'nothing made');
  await page.locator('#c-end').fill('');

  // A sale with buyers cannot be changed: the API's 409.
  await openEvent(t, app.base, 'running', 3);
  t.equal((await buy(app.base, 'running', 'first')).c, 0);
  await page.locator('#c-id').fill('running');
  await page.locator('#c-stock').fill('4');
  await page.locator('#create button').click();
  await page.locator('#c-result', { hasText: '409' }).waitFor();
  t.match(await page.locator('#c-result').textContent(), /409 refused: the sale has buyers/);

  // A bad id: the API's own refusal, shown.
  await page.locator('#c-id').fill('no spaces');
  await page.locator('#create button').click();
  await page.locator('#c-result', { hasText: '400 event id must match' }).waitFor();
});
