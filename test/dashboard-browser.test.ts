import fs from 'node:fs';
import t from 'tap';
import type { Page } from 'playwright-core';
import { ADMIN, buy, count, openEvent, testApp } from './helpers/app';
import { CHROMIUM, launchBrowser } from './helpers/browser';

// The dashboard in a real headless chromium (Debian's; .ci/run installs it).
if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (or set CHROMIUM_PATH)`);

const card = (page: Page, event: string): ReturnType<Page['locator']> => page.locator(`article.event[data-event="${event}"]`);

t.test('a sale as the dashboard shows it', async (t) => {
  const app = await testApp(t);
  const browser = await launchBrowser();
  t.teardown(() => browser.closeAll());
  const streams: number[] = [];

  const page = await browser.newPage();
  page.on('response', (r) => {
    if (r.url().endsWith('/admin/stream')) streams.push(r.status());
  });
  await page.goto(`${app.base}/admin/#token=${encodeURIComponent(ADMIN)}`);
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
  await flash.locator('.remaining', { hasText: /^20$/ }).waitFor();
  t.equal(await flash.locator('.state').textContent(), 'open');
  t.match(await flash.locator('.countdown').textContent(), /^closes in (00:59:\d\d|01:00:00)$/);
  t.match(await flash.locator('.remaining-sub').textContent(), /of 20 · sold 0 · Redis/);

  // The sale: 30 buyers over HTTP for 20 units.
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => buy(app.base, 'flash', `b${i}`)));
  t.equal(count(answers, (a) => a.c === 0), 20);
  await flash.locator('.remaining', { hasText: /^0$/ }).waitFor();
  await flash.locator('.state', { hasText: 'sold out' }).waitFor();
  t.match(await flash.locator('.state').getAttribute('class'), /state-soldout/);
  t.match(await flash.locator('.remaining-sub').textContent(), /of 20 · sold 20/);
  t.equal(await flash.locator('.unpersisted').textContent(), '20', 'MYSQL_URL=none: all 20 orders wait in the stream');
  // The answer mix: drawn as stacked areas, one per outcome seen, with a legend.
  await flash.locator('.legend', { hasText: 'won' }).waitFor();
  t.match(await flash.locator('.legend').textContent(), /sold out/);
  t.ok((await flash.locator('svg.mix polygon.stack').count()) >= 2, 'won and sold out stacked');
  t.equal(await flash.locator('svg.drain polyline.drain-line').count(), 1, 'the draining line');
  t.equal(await flash.locator('.alert-row').count(), 3, 'busy, timeout, unavailable');
  t.equal(await page.locator('#q-capacity').textContent(), app.config.queueCapacity.toLocaleString('en-US'));
});

t.test('a wrong token shows the login state and no sale data; the right one opens the dashboard', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'secretsale', 5);
  const browser = await launchBrowser();
  t.teardown(() => browser.closeAll());

  const page = await browser.newPage();
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

t.test('create an event from the page, with the API errors shown', async (t) => {
  const app = await testApp(t);
  const browser = await launchBrowser();
  t.teardown(() => browser.closeAll());
  const page = await browser.newPage();
  await page.goto(`${app.base}/admin/#token=${encodeURIComponent(ADMIN)}`);
  await page.locator('#dash').waitFor({ state: 'visible' });

  // The form starts with a window from a minute from now, for an hour.
  await page.locator('#c-id').fill('autumn');
  await page.locator('#c-stock').fill('42');
  await page.locator('#c-name').fill('Autumn <b>sale</b>');
  await page.locator('#create button').click();
  await page.locator('#c-result', { hasText: '201 created' }).waitFor();
  t.match(await page.locator('#c-result').getAttribute('class'), /ok/);
  const autumn = card(page, 'autumn');
  await autumn.waitFor();
  t.equal(await autumn.locator('.state').textContent(), 'scheduled');
  t.match(await autumn.locator('.countdown').textContent(), /^opens in 00:0[01]:\d\d$/);
  t.equal(await autumn.locator('.event-name').textContent(), 'Autumn <b>sale</b>', 'a name is shown as text, never as markup');
  t.equal(await autumn.locator('.remaining').textContent(), '42');
  const stored = await (await fetch(`${app.base}/admin/events/autumn`, { headers: { authorization: `Bearer ${ADMIN}` } })).json();
  t.match(stored, { stock: 42, name: 'Autumn <b>sale</b>', state: 'scheduled' }, 'the API has it');

  // End before start: the API's 400 and its message.
  await page.locator('#c-id').fill('broken');
  await page.locator('#c-end').fill('2020-01-01T00:00');
  await page.locator('#create button').click();
  await page.locator('#c-result', { hasText: '400 end must be after start (code 9)' }).waitFor();
  t.match(await page.locator('#c-result').getAttribute('class'), /error/);
  t.equal((await fetch(`${app.base}/admin/events/broken`, { headers: { authorization: `Bearer ${ADMIN}` } })).status, 404, 'nothing made');

  // A started sale cannot be changed: the API's 409.
  await openEvent(t, app.base, 'running', 3);
  await page.locator('#c-id').fill('running');
  await page.locator('#c-stock').fill('4');
  const now = new Date(Date.now() - 60_000);
  const local = (d: Date): string => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  await page.locator('#c-start').fill(local(now));
  await page.locator('#c-end').fill(local(new Date(now.getTime() + 3_600_000)));
  await page.locator('#create button').click();
  await page.locator('#c-result', { hasText: '409' }).waitFor();
  t.match(await page.locator('#c-result').textContent(), /409 refused: the sale has started/);

  // A bad id: the API's own refusal, shown.
  await page.locator('#c-id').fill('no spaces');
  await page.locator('#create button').click();
  await page.locator('#c-result', { hasText: '400 event id must match' }).waitFor();
});
