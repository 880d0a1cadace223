/**
 * npm run docs:dashboard
 *
 * Takes docs/dashboard.png: the dashboard reloaded after a sale, drawn from
 * the history the server kept. It starts seckill as the bench does (its own
 * redis-server and mariadbd), with a buy rate of 300 a second and a queue of
 * 10, so a crowd of 20 connections sells 2,000 units in about 7 s while
 * most answers are refusals (sold out, busy): the wins and the refusals on
 * their scales. A short sale sold and ended before shows folded; a later
 * one, the countdown. About 12 s of light load (autocannon, 20 connections).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser } from '../test/helpers/browser';
import { load, mintTokens } from './load';
import { BENCH_ADMIN, startServer } from './servers';

const STOCK = 2_000;
const USERS = 60_000;
const OUT = path.resolve(__dirname, '..', '..', 'docs', 'dashboard.png');

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sk-shot-'));
  const started = await startServer('seckill', {
    event: 'spring',
    stock: STOCK,
    dataDir: dir,
    env: { SECKILL_QUEUE_RATE: '300', SECKILL_QUEUE_CAPACITY: '10', SECKILL_QUEUE_BURST: '10', SECKILL_QUEUE_TIMEOUT_MS: '1000', SECKILL_WORKERS: '1' },
  });
  const base = `http://127.0.0.1:${started.proc.port}`;
  const put = (id: string, def: Record<string, unknown>): Promise<Response> =>
    fetch(`${base}/admin/events/${id}`, { method: 'PUT', headers: { authorization: `Bearer ${BENCH_ADMIN}` }, body: JSON.stringify(def) });
  const browser = await launchBrowser({ width: 1360, height: 1100 }, 'Asia/Shanghai');
  try {
    const now = Date.now();
    await put('summer', { stock: 5_000, start: now + 25 * 60_000, end: now + 85 * 60_000, name: 'Summer sale', payWithin: 900 });
    await put('preview', { stock: 50, start: now - 1000, end: now + 3000, name: 'Preview' });
    // Ten at a time: the queue holds 10.
    const preview = mintTokens(80, 'preview');
    for (let i = 0; i < preview.length; i += 10) {
      await Promise.all(preview.slice(i, i + 10).map((token) => fetch(`${base}/events/preview/buy`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }).then((r) => r.arrayBuffer())));
    }
    const result = await load({ url: base, event: 'spring', tokens: mintTokens(USERS, 'shot'), connections: 20, durationS: 12, repeatEvery: 20, label: 'dashboard shot' });
    const page = await browser.newPage();
    // Opened after the sale: everything drawn comes from the server's history.
    await page.goto(`${base}/admin/#token=${encodeURIComponent(BENCH_ADMIN)}`);
    await page.locator('[data-event="spring"] svg.wins polygon').waitFor();
    await page.locator('[data-event="spring"] .t-selltime', { hasText: 'sold out within' }).waitFor();
    await page.screenshot({ path: OUT, fullPage: true });
    process.stdout.write(`${result.requests} requests, outcomes ${JSON.stringify(result.outcomes)}; wrote ${OUT}\n`);
  } finally {
    await browser.closeAll();
    await started.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
