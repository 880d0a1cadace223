/**
 * What one worker ↔ primary message costs on this machine, whatever its
 * size: a parent and a forked child (the same IPC as the worker pool,
 * "advanced" serialization) pass one `decided`-sized message back and forth
 * N times, one at a time, so each side sleeps and is woken for every one.
 * CPU per round trip of each side, from process.cpuUsage().
 *
 *   node dist/bench/ipc-pingpong.js [N]
 */
import { fork } from 'node:child_process';

export interface PingPong {
  readonly roundTrips: number;
  readonly wallUs: number;
  /** CPU µs per round trip: the parent's, the child's. */
  readonly parentUs: number;
  readonly childUs: number;
}

const MESSAGE = { t: 'decided', ids: [1, 2, 3, 4, 5, 6, 7], codes: [0, 0, 0, 0, 0, 0, 0], orders: [1, 2, 3, 4, 5, 6, 7], stages: [3, 3, 3, 3, 3, 3, 3], remaining: [['e', 9]], winners: [] };

export function pingPong(n: number): Promise<PingPong> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--child'], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('error', reject);
    let i = 0;
    let t0 = 0;
    let c0 = process.cpuUsage();
    child.on('message', (m: { cpu?: NodeJS.CpuUsage; ready?: true }) => {
      if (m.ready === true) {
        t0 = performance.now();
        c0 = process.cpuUsage();
        child.send(MESSAGE);
        return;
      }
      if (m.cpu !== undefined) {
        const wall = performance.now() - t0;
        const mine = process.cpuUsage(c0);
        resolve({
          roundTrips: n,
          wallUs: +((wall * 1000) / n).toFixed(1),
          parentUs: +((mine.user + mine.system) / n).toFixed(1),
          childUs: +((m.cpu.user + m.cpu.system) / n).toFixed(1),
        });
        return;
      }
      if (++i < n) child.send(MESSAGE);
      else child.send('end');
    });
  });
}

if (process.argv.includes('--child')) {
  let c0 = process.cpuUsage();
  let first = true;
  process.on('message', (m: unknown) => {
    if (first) {
      first = false;
      c0 = process.cpuUsage();
    }
    if (m === 'end') process.send?.({ cpu: process.cpuUsage(c0) }, () => process.exit(0));
    else process.send?.(m);
  });
  process.send?.({ ready: true });
} else if (require.main === module) {
  void pingPong(Number(process.argv[2] ?? 20_000)).then((r) => process.stdout.write(`${JSON.stringify(r)}\n`));
}
