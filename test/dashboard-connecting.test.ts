import fs from 'node:fs';
import t from 'tap';
import { ADMIN, testApp } from './helpers/app';
import { CHROMIUM, browserPage } from './helpers/browser';

// The dashboard opened with a token (the banner's link) while its stream cannot be had yet.
if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (or set CHROMIUM_PATH)`);

t.test('with a token in hand the page says it is connecting, not "paste a token", until the stream answers', async (t) => {
  const app = await testApp(t);
  const page = await browserPage(t);
  // The stream unreachable at first: the page retries it once a second.
  await page.route('**/admin/stream', (route) => route.abort());
  await page.goto(`${app.base}/admin/#token=${encodeURIComponent(ADMIN)}`);
  await page.locator('#conn', { hasText: 'reconnecting (cannot reach the server)' }).waitFor({ state: 'visible' });
  t.equal(await page.locator('#login').isVisible(), false, 'no login form while a token is being tried');
  t.equal(await page.locator('#dash').isVisible(), false, 'no dashboard before the stream accepts the token');

  await page.unroute('**/admin/stream');
  await page.locator('#dash').waitFor({ state: 'visible' });
  t.equal(await page.locator('#login').isVisible(), false, 'the dashboard once the stream answers');
});
