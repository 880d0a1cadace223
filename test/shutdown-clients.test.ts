import http from 'node:http';
import t from 'tap';
import { ADMIN, putEvent, SECRET, token } from './helpers/app';
import { spawnServer } from './helpers/process';
import { buyRequest, connect } from './helpers/raw';
import { tempDir, testRedis } from './helpers/services';

/**
 * Fault injection (Redis loss): SIGTERM while several kinds of
 * keep-alive client are busy: undici fetch (buys), node http.Agent
 * keepAlive (buys), undici fetch polling the public event route (GET), and
 * a raw socket pipelining two buys per write. Counted: requests that got no
 * answer on a connection the server had accepted (reset / hang up / closed
 * with requests outstanding). ECONNREFUSED (a new connection after the
 * listener closed) is fine.
 */
/**
 * The request never left the client: a new connection refused (the listener
 * had closed), or reset while connecting (it was in the listen backlog of a
 * worker that closed its listener: the server never read it).
 */
function neverSent(err: { code?: string; syscall?: string } | undefined): boolean {
  return err?.code === 'ECONNREFUSED' || err?.syscall === 'connect';
}

t.test('SIGTERM under mixed keep-alive clients', async (t) => {
  const redis = await testRedis(t);
  const s = await spawnServer(t, { SECKILL_DATA_DIR: tempDir(t), SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, REDIS_URL: redis.socket, MYSQL_URL: 'none' });
  t.equal((await putEvent(s.base, 'mix', { stock: 1_000_000 })).status, 201);
  let answered = 0;
  let getsClosed = 0;
  let signalled = false;
  let stop = false;
  const bad: Record<string, string[]> = { fetchBuy: [], agentBuy: [], fetchGet: [], pipelined: [] };
  const signalSoon = (): void => {
    if (answered >= 1500 && !signalled) {
      signalled = true;
      s.child.kill('SIGTERM');
    }
  };
  const fetchBuy = async (n: number): Promise<void> => {
    for (let i = 0; !stop; i++) {
      try {
        const res = await fetch(`${s.base}/events/mix/buy`, { method: 'POST', headers: { authorization: `Bearer ${token(`f${n}-${i}`)}` } });
        await res.arrayBuffer();
        answered++;
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string; syscall?: string } }).cause;
        if (neverSent(cause)) return;
        bad.fetchBuy?.push(`${cause?.code ?? ''} ${cause?.message ?? String(err)}`);
        return;
      }
      signalSoon();
    }
  };
  const fetchGet = async (): Promise<void> => {
    while (!stop) {
      try {
        const res = await fetch(`${s.base}/events/mix`);
        if (res.headers.get('connection') === 'close') getsClosed++;
        await res.arrayBuffer();
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string; syscall?: string } }).cause;
        if (neverSent(cause)) return;
        bad.fetchGet?.push(`${cause?.code ?? ''} ${cause?.message ?? String(err)}`);
        return;
      }
    }
  };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  t.teardown(() => agent.destroy());
  const agentBuy = (user: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: s.port, path: '/events/mix/buy', method: 'POST', agent, headers: { authorization: `Bearer ${token(user)}`, 'content-length': 0 } }, (res) => {
        res.resume();
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  const agentLoop = async (n: number): Promise<void> => {
    for (let i = 0; !stop; i++) {
      try {
        await agentBuy(`a${n}-${i}`);
        answered++;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (neverSent(err as { code?: string; syscall?: string })) return;
        bad.agentBuy?.push(`${code ?? ''} ${(err as Error).message}`);
        return;
      }
    }
  };
  const pipelined = async (n: number): Promise<void> => {
    for (let i = 0; !stop; i++) {
      let sock;
      try {
        sock = await connect(s.port);
      } catch {
        return; // refused: the listener is closed
      }
      // Up to 20 exchanges on one connection, two requests per write.
      for (let j = 0; j < 20 && !stop; j++) {
        const outcome = await new Promise<string>((resolve) => {
          let got = '';
          const onData = (d: Buffer): void => {
            got += d.toString();
            if ((got.match(/HTTP\/1\.1 /g) ?? []).length >= 2 && /\}$/.test(got)) finish('ok');
          };
          const finish = (why: string): void => {
            sock.off('data', onData);
            sock.off('close', onClose);
            sock.off('error', onErr);
            resolve(why === 'ok' ? 'ok' : `${why}: ${(got.match(/HTTP\/1\.1 /g) ?? []).length} of 2 answers, closeHeader=${/connection: close/i.test(got)}`);
          };
          const onClose = (): void => finish('closed');
          const onErr = (e: Error): void => finish(`error ${(e as { code?: string }).code ?? e.message}`);
          sock.on('data', onData);
          sock.on('close', onClose);
          sock.on('error', onErr);
          sock.write(buyRequest('mix', token(`p${n}-${i}-${j}a`)) + buyRequest('mix', token(`p${n}-${i}-${j}b`)));
        });
        if (outcome !== 'ok') {
          // Closed after answering both (Connection: close) is fine only when both answers came.
          bad.pipelined?.push(outcome);
          break;
        }
        answered += 2;
      }
      sock.destroy();
    }
  };
  const runs = [
    ...Array.from({ length: 8 }, (_, n) => fetchBuy(n)),
    ...Array.from({ length: 4 }, (_, n) => agentLoop(n)),
    ...Array.from({ length: 2 }, () => fetchGet()),
    ...Array.from({ length: 4 }, (_, n) => pipelined(n)),
  ];
  const exited = s.exited.then(() => (stop = true));
  await Promise.all(runs);
  await exited;
  t.ok(signalled, 'SIGTERM sent');
  // Not only buys: every route's answer tells its keep-alive client to close once the server drains.
  t.ok(getsClosed >= 1, `GET answers while draining carried Connection: close (${getsClosed})`);
  for (const [k, v] of Object.entries(bad)) t.comment(`${k}: ${v.length} unanswered: ${[...new Set(v)].slice(0, 4).join(' | ')}`);
  // Pipelined buys fail with or without a shutdown (uWS closes a connection that pipelines a request behind an open response: documented in the README): not counted here.
  t.same([...(bad.fetchBuy ?? []), ...(bad.agentBuy ?? []), ...(bad.fetchGet ?? [])], [], 'no request the server received went unanswered');
});
