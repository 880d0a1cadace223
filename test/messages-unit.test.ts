import { fork } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { DEFAULT_CONFIG, loadConfig } from '../src/config';
import { unexpected, type ToPrimary, type ToWorker, type WorkerStart } from '../src/server/messages';

/**
 * In process (one tiny echo child besides): the messages between the
 * primary and its workers (src/server/messages.ts). They travel as
 * src/server/workers.ts sends them: node IPC from `fork` with its default
 * serialization, JSON, and the WorkerStart as JSON in the worker's
 * environment (SECKILL_WORKER). They are types with no decoder: a switch
 * on `t` in each process (worker.ts, workers.ts) ends in `unexpected`, which
 * the compiler makes exhaustive and which throws at run time.
 */

/** At least one sample of each kind: a kind added to a union without one is a type error here. */
type Samples<U extends { readonly t: string }> = { readonly [K in U['t']]: readonly Extract<U, { readonly t: K }>[] };

const TO_WORKER: Samples<ToWorker> = {
  close: [{ t: 'close' }],
  ping: [{ t: 'ping' }],
  restarts: [
    { t: 'restarts', count: 0 },
    { t: 'restarts', count: 17 },
  ],
  services: [
    { t: 'services', health: {} },
    { t: 'services', health: { 'redis-server': { up: true, restarts: 0 }, mariadbd: { up: false, restarts: 3 } } },
  ],
};

const TO_PRIMARY: Samples<ToPrimary> = {
  listening: [
    { t: 'listening', port: 8080 },
    { t: 'listening', port: 65535 },
  ],
  pong: [{ t: 'pong' }],
  failed: [{ t: 'failed', message: 'address in use: 127.0.0.1:8080' }],
};

function all<U extends { readonly t: string }>(samples: Samples<U>): U[] {
  return Object.values<readonly U[]>(samples).flat();
}

/** What node's IPC does with serialization 'json' (fork's default): a line of JSON.stringify, read back with JSON.parse. */
function overJson<T>(m: T): unknown {
  return JSON.parse(JSON.stringify(m));
}

t.test('every message kind round-trips through JSON unchanged', async (t) => {
  for (const [kind, samples] of [...Object.entries(TO_WORKER), ...Object.entries(TO_PRIMARY)]) {
    t.ok(samples.length > 0, `${kind}: sampled`);
    for (const m of samples) {
      t.equal(m.t, kind, `${kind}: the sample is of its kind`);
      t.strictSame(overJson(m), m, `${kind}: ${JSON.stringify(m)}`);
    }
  }
  t.same(Object.keys(TO_WORKER).sort(), ['close', 'ping', 'restarts', 'services'], 'primary → worker');
  t.same(Object.keys(TO_PRIMARY).sort(), ['failed', 'listening', 'pong'], 'worker → primary');
});

t.test('a WorkerStart round-trips through the environment as JSON, with each form of the MySQL target', async (t) => {
  const config = loadConfig({ SECKILL_WORKERS: '4', SECKILL_QUEUE_RATE: '50000', SECKILL_PERSISTER: 'false', SECKILL_CORS_ORIGINS: 'https://a.example' });
  const targets: WorkerStart['mysql'][] = [{ url: 'mysql://u:p@h:3306/d' }, { socket: '/tmp/x/mysqld.sock' }, undefined];
  for (const mysql of targets) {
    const start: WorkerStart = {
      index: 2,
      port: 8080,
      config,
      redisTarget: '/tmp/x/redis.sock',
      mysql,
      instance: 'host:1234',
      restarts: 1,
      services: { 'redis-server': { up: true, restarts: 0 } },
    };
    // As workers.ts puts it in the child's environment, and worker.ts reads it.
    const env: Record<string, string> = { SECKILL_WORKER: JSON.stringify(start) };
    const read = JSON.parse(env.SECKILL_WORKER ?? '') as WorkerStart;
    t.strictSame(read.config, config, `the whole config (${mysql === undefined ? 'no MySQL' : Object.keys(mysql)[0]})`);
    t.equal(read.mysql === undefined, mysql === undefined, 'no MySQL stays no MySQL (the key is left out)');
    const { mysql: _m, ...rest } = read;
    const { mysql: _s, ...sent } = start;
    t.strictSame(rest, sent, 'every other field');
    if (mysql !== undefined) t.strictSame(read.mysql, mysql, 'the MySQL target');
  }
  // Every setting is a plain number, string or boolean: nothing JSON would turn into null or drop.
  for (const [key, value] of Object.entries(DEFAULT_CONFIG)) {
    t.ok(
      (typeof value === 'number' && Number.isFinite(value)) || typeof value === 'string' || typeof value === 'boolean',
      `${key} travels as JSON`,
    );
  }
});

t.test('a message of no known kind is refused by `unexpected`: an Error naming it, thrown', async (t) => {
  // The switches end in unexpected(m) (m: never): a kind they do not handle is a compile error; at run time, this.
  const bogus = [{ t: 'bogus' }, { t: 'close ' }, { port: 1 }, {}, 'pong', 7];
  for (const m of bogus) {
    t.throws(() => unexpected(m as never), { message: `unexpected message ${JSON.stringify(m)}` }, `refused: ${JSON.stringify(m)}`);
  }
  t.throws(() => unexpected({ t: 'x' } as never), Error, 'an Error, which in either process is uncaught: it exits (exitOnUncaught)');
});

t.test('each message kind crosses a real IPC channel, as workers.ts forks a worker, and comes back unchanged', async (t) => {
  const dir = t.testdir({ 'echo.js': "process.on('message', (m) => process.send(m));\n" });
  // The channel as workers.ts opens it; a plain node (execArgv: [], not this test's loaders) starts in a few tens of ms.
  const child = fork(path.join(dir, 'echo.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  t.teardown(() => {
    if (child.connected) child.disconnect();
  });
  const messages: (ToWorker | ToPrimary)[] = [...all(TO_WORKER), ...all(TO_PRIMARY)];
  const back: unknown[] = [];
  const done = new Promise<void>((resolve, reject) => {
    child.on('message', (m) => {
      back.push(m);
      if (back.length === messages.length) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the echo child exited (${code}) before echoing everything`)));
  });
  for (const m of messages) child.send(m);
  await done;
  t.strictSame(back, messages, 'every message, in order, unchanged');
});
