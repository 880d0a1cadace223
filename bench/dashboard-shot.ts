/**
 * npm run docs:dashboard
 *
 * Takes docs/dashboard.png: the live dashboard during a bench-like sale. It
 * starts seckill as the bench does (its own redis-server and mariadbd), with
 * a queue (60) smaller than the 100 connections so that busy answers
 * appear and are highlighted, opens /admin/ in headless
 * chromium with the admin token in the URL fragment, drives buys with
 * autocannon (100 connections, one JWT per user), and shoots the page while
 * the stock drains. A second event, opening later, shows the countdown.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser } from '../test/helpers/browser';
import { load, mintTokens } from './load';
import { BENCH_ADMIN, startServer } from './servers';

const STOCK = 20_000;
const USERS = 60_000;
const OUT = path.resolve(__dirname, '..', '..', 'docs', 'dashboard.png');

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sk-shot-'));
  const started = await startServer('seckill', {
    event: 'spring',
    stock: STOCK,
    dataDir: dir,
    env: { SECKILL_QUEUE_RATE: '2000', SECKILL_QUEUE_CAPACITY: '60', SECKILL_QUEUE_BURST: '50', SECKILL_QUEUE_TIMEOUT_MS: '400', SECKILL_REDIS_TIMEOUT_MS: '300' },
  });
  const base = `http://127.0.0.1:${started.proc.port}`;
  const browser = await launchBrowser({ width: 1360, height: 1240 });
  try {
    const later = Date.now() + 25 * 60_000;
    await fetch(`${base}/admin/events/summer`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${BENCH_ADMIN}` },
      body: JSON.stringify({ stock: 5_000, start: later, end: later + 3_600_000, name: 'Summer sale' }),
    });
    const page = await browser.newPage();
    await page.goto(`${base}/admin/#token=${encodeURIComponent(BENCH_ADMIN)}`);
    await page.locator('[data-event="spring"]').waitFor();
    const tokens = mintTokens(USERS, 'shot');
    let shot: Promise<unknown> | undefined;
    const running = load({
      url: base,
      event: 'spring',
      tokens,
      connections: 100,
      durationS: 14,
      repeatEvery: 20,
      label: 'dashboard shot',
      onTick: () => {
        if (shot !== undefined) return;
        void page
          .locator('[data-event="spring"] .remaining')
          .textContent()
          .then((text) => {
            const left = Number((text ?? '').replace(/,/g, ''));
            // Mid-drain: the chart shows the slope and the answer mix has settled.
            if (shot === undefined && left > 0 && left < STOCK * 0.45) shot = page.screenshot({ path: OUT, fullPage: true });
          });
      },
    });
    const result = await running;
    if (shot === undefined) shot = page.screenshot({ path: OUT, fullPage: true });
    await shot;
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
