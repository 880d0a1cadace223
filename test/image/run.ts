/**
 * `npm run test:image`: builds docker/Dockerfile with podman and runs the
 * image as a user would, through its published port:
 *   1. build the image (on a stand-in base where no registry is reachable);
 *   2. run it with a named volume;
 *   3. sell through the published port;
 *   4. check the HEALTHCHECK command;
 *   5. `podman stop`: a graceful exit;
 *   6. start it again on the same volume and find the order.
 * Prints a line per step and ends with one summary line. Exit status: 0
 * passed, 1 failed, 77 (SKIPPED) where the machine cannot run containers at
 * all (not Linux, not root, no podman to be had, or a container cannot
 * start). `.ci/run` runs it after `npm test`. Runs as root; takes about 3
 * minutes the first time (the stand-in base and the image are built), about
 * a minute after (both reused).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { DEFAULT_CONFIG } from '../../src/config';
import { buildImage, IMAGE } from './build';
import { freePort, leftBehind, NAME, removeAll, removeAllSync, startContainer, stopContainer, VOLUME, waitReady, type Container } from './container';
import { Log, podman, podmanOk, reason } from './podman';
import { cannotRunContainers } from './preflight';
import { buy, confirmedOrder, expect, putEvent, stats, STOCK, type Secrets } from './sale';
import { ensureBase } from './stand-in-base';

export const SKIPPED = 77;

interface Step {
  readonly name: string;
  readonly timeoutMs: number;
  readonly run: () => Promise<string>;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no end within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function steps(log: Log, workDir: string): Step[] {
  const secrets: Secrets = { jwtSecret: crypto.randomBytes(24).toString('hex'), adminToken: crypto.randomBytes(24).toString('hex') };
  const env = { SECKILL_JWT_SECRET: secrets.jwtSecret, SECKILL_ADMIN_TOKEN: secrets.adminToken };
  let c: Container | undefined;
  const running = (): Container => {
    if (c === undefined) throw new Error('no container running');
    return c;
  };
  const stopGracefully = async (): Promise<string> => {
    const { status, ms } = await stopContainer(log, running());
    const deadline = DEFAULT_CONFIG.stopTimeoutMs;
    if (status !== 0) throw new Error(`exit status ${status} after podman stop (0 is a graceful stop; 137 is SIGKILL)`);
    if (!running().output().includes('"msg":"stopped"')) throw new Error('exit 0, but the server never logged "stopped"');
    if (ms >= deadline) throw new Error(`the stop took ${ms} ms, not under the server's deadline (${deadline} ms)`);
    if (await leftBehind(log)) throw new Error(`container ${NAME} still there after its stop (--rm)`);
    return `exit 0 in ${(ms / 1000).toFixed(1)} s`;
  };
  return [
    {
      name: 'build the image',
      timeoutMs: 1_800_000,
      run: async () => {
        const base = await ensureBase(log, workDir);
        const { sizeMB, baseMB } = await buildImage(log);
        return `${IMAGE}: ${sizeMB} MB, ${sizeMB - baseMB} MB over its base; one uWS binary; ${base}`;
      },
    },
    {
      name: 'run it with a named volume',
      timeoutMs: 180_000,
      run: async () => {
        await podmanOk(log, ['volume', 'create', VOLUME]);
        c = startContainer(log, env, await freePort());
        await waitReady(c, 150_000);
        const user = await podmanOk(log, ['exec', NAME, 'id', '-un']);
        if (user !== 'seckill') throw new Error(`the server runs as ${user}, not seckill`);
        const data = await podmanOk(log, ['exec', NAME, 'ls', '-A', '/data']);
        if (data === '') throw new Error('nothing on the /data volume');
        return `ready at ${c.base}, as user seckill, data on ${VOLUME}: ${data.split('\n').join(' ')}`;
      },
    },
    {
      name: 'sell through the published port',
      timeoutMs: 60_000,
      run: async () => {
        const base = running().base;
        expect('PUT the event', await putEvent(base, secrets), { status: 201, body: { result: 'created', stock: STOCK } });
        expect('alice buys', await buy(base, secrets, 'alice'), { status: 200, body: { c: 0, o: 1 } });
        expect('alice again', await buy(base, secrets, 'alice'), { status: 200, body: { c: 2, o: 1 } });
        expect('bob buys', await buy(base, secrets, 'bob'), { status: 200, body: { c: 0, o: 2 } });
        expect('carol: sold out', await buy(base, secrets, 'carol'), { status: 200, body: { c: 1 } });
        expect("alice's order, in MySQL", await confirmedOrder(base, secrets, 'alice'), { status: 200, body: { c: 0, o: 1, s: 'confirmed' } });
        return `${STOCK} units sold, the third buyer told sold out, alice's order confirmed`;
      },
    },
    {
      name: 'check the HEALTHCHECK command',
      timeoutMs: 60_000,
      run: async () => {
        const health = await podman(log, ['healthcheck', 'run', NAME]);
        if (health.status !== 0) throw new Error(`podman healthcheck run: ${health.stdout.trim()} ${reason(health)}`);
        const test = JSON.parse(await podmanOk(log, ['inspect', '--format', '{{json .Config.Healthcheck.Test}}', NAME])) as string[];
        const command = test[0] === 'CMD-SHELL' ? test[1] : undefined;
        if (command === undefined) throw new Error(`not a shell command: ${JSON.stringify(test)}`);
        // The same command with $PORT where nothing listens must fail, or it checks nothing.
        const elsewhere = await podman(log, ['exec', '--env', 'PORT=1', NAME, 'sh', '-c', command]);
        if (elsewhere.status === 0) throw new Error(`"${command}" passes with PORT=1: it does not check the server`);
        return `healthy; "${command}" fails with PORT=1 (exit ${elsewhere.status})`;
      },
    },
    {
      name: 'podman stop: a graceful exit',
      timeoutMs: 90_000,
      run: async () => {
        const init = await podmanOk(log, ['exec', NAME, 'cat', '/proc/1/cmdline']);
        if (!init.includes('tini')) throw new Error(`PID 1 is not tini: ${init.replace(/\0/g, ' ')}`);
        return `through tini (PID 1): ${await stopGracefully()}`;
      },
    },
    {
      name: 'start it again on the same volume and find the order',
      timeoutMs: 240_000,
      run: async () => {
        c = startContainer(log, env, await freePort());
        await waitReady(c, 150_000);
        const base = c.base;
        expect("alice's order after the restart", await confirmedOrder(base, secrets, 'alice'), {
          status: 200,
          body: { c: 0, o: 1, s: 'confirmed' },
        });
        expect('the stats', await stats(base, secrets), { status: 200, body: { stock: STOCK, sold: STOCK, remaining: 0 } });
        expect('alice buys again', await buy(base, secrets, 'alice'), { status: 200, body: { c: 2, o: 1 } });
        expect('dave: sold out', await buy(base, secrets, 'dave'), { status: 200, body: { c: 1 } });
        return `order 1 confirmed, ${STOCK} of ${STOCK} sold, alice told she has bought; stopped again: ${await stopGracefully()}`;
      },
    },
  ];
}

async function main(): Promise<number> {
  const started = Date.now();
  // On the disk, not a tmpfs: the stand-in base's Debian root is built here.
  const workDir = fs.mkdtempSync('/var/tmp/seckill-image-test-');
  const log = new Log(`${workDir}/podman.log`);
  const interrupted = (): void => {
    removeAllSync();
    console.log(`image test: interrupted; log in ${log.file}`);
    process.exit(130);
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);

  const skip = await cannotRunContainers(log);
  if (skip !== undefined) {
    console.log(`image test: SKIPPED: this machine cannot run containers: ${skip}`);
    fs.rmSync(workDir, { recursive: true, force: true });
    return SKIPPED;
  }
  console.log(`image test: docker/Dockerfile built and run with podman (log: ${log.file})`);
  await removeAll(log);
  const all = steps(log, workDir);
  let failure: string | undefined;
  for (const [i, step] of all.entries()) {
    const t0 = Date.now();
    try {
      const detail = await withTimeout(step.run(), step.timeoutMs, step.name);
      console.log(`ok ${i + 1} - ${step.name} (${Math.round((Date.now() - t0) / 1000)} s): ${detail}`);
    } catch (err) {
      failure = `step ${i + 1} of ${all.length} (${step.name}): ${err instanceof Error ? err.message : String(err)}`;
      console.log(`not ok ${i + 1} - ${step.name}: ${err instanceof Error ? err.message : String(err)}`);
      console.log(log.tail().replace(/^/gm, '    '));
      break;
    }
  }
  await removeAll(log);
  if (failure === undefined && (await leftBehind(log))) failure = `container ${NAME} left behind`;
  const seconds = Math.round((Date.now() - started) / 1000);
  if (failure !== undefined) {
    console.log(`image test: FAILED at ${failure}; ${seconds} s; log kept in ${log.file}`);
    return 1;
  }
  fs.rmSync(workDir, { recursive: true, force: true });
  console.log(`image test: passed, ${all.length} of ${all.length} steps in ${seconds} s`);
  return 0;
}

main().then(
  (status) => process.exit(status),
  (err: unknown) => {
    removeAllSync();
    console.log(`image test: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
