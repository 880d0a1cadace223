import { execFile, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { tempDir } from './helpers/services';

const SCRIPT = path.join(__dirname, '..', 'bench', 'wrk', 'buy.lua');
const hasWrk = spawnSync('wrk', ['-v']).error === undefined;

/** A server that answers every buy with code 0 or 1 (alternating) and records the tokens it saw, in order. */
async function recordingServer(t: Test): Promise<{ url: string; seen: string[]; answers: Record<string, number> }> {
  const seen: string[] = [];
  const answers: Record<string, number> = { '0': 0, '1': 0 };
  const server = http.createServer((req, res) => {
    seen.push((req.headers.authorization ?? '').slice(7));
    const code = seen.length % 2;
    answers[String(code)]!++;
    res.end(`{"c":${code}}`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, answers };
}

function wrk(url: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('wrk', ['-t1', '-c1', '-d1s', '-s', SCRIPT, url, '--', ...args], (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

t.test('buy.lua prints its outcome counts and a JSON summary, and walks the token orders it promises', { skip: hasWrk ? false : 'wrk is not installed' }, async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'tokens.txt');
  const tokens = Array.from({ length: 50 }, (_, i) => `tok${i}`);
  fs.writeFileSync(file, tokens.join('\n') + '\n');

  t.test('cycle', async (t) => {
    const s = await recordingServer(t);
    const out = await wrk(s.url, ['e1', file, 'cycle']);
    const line = /^outcomes: (.*)$/m.exec(out);
    t.ok(line, 'the outcome line is printed (it crashed before: outcomes was a local)');
    const json = JSON.parse(/^wrkjson (.*)$/m.exec(out)?.[1] ?? 'null') as { requests: number; outcomes: Record<string, number>; latencyUs: { p99: number } } | null;
    t.ok(json, 'the JSON summary is printed');
    const counted = (json?.outcomes['0'] ?? 0) + (json?.outcomes['1'] ?? 0);
    t.ok(counted > 100, `it counted answers (${counted})`);
    t.equal(counted, json?.requests, 'every answer counted under its code');
    t.match(line?.[1] ?? '', new RegExp(`c0=${json?.outcomes['0']}`), 'the text line agrees');
    t.ok(Math.abs((json?.outcomes['0'] ?? 0) - (json?.outcomes['1'] ?? 0)) <= 1, 'codes as the server alternated them');
    t.ok(json !== null && json.latencyUs.p99 > 0, 'latency percentiles');
    // The server saw tokens in order from where wrk's one thread started.
    const first = s.seen[0]!;
    const start = tokens.indexOf(first);
    t.ok(start >= 0, 'tokens from the file');
    t.same(s.seen.slice(0, 120), Array.from({ length: 120 }, (_, i) => tokens[(start + i) % 50]), 'in order, wrapping round');
  });

  t.test('crowd: each user 1 to 3 times per pass, shuffled', async (t) => {
    const s = await recordingServer(t);
    await wrk(s.url, ['e1', file, 'crowd:7']);
    const counts = new Map<string, number>();
    // One pass is between 50 and 150 clicks; count the first 50 (inside the first pass whatever its length).
    for (const tok of s.seen.slice(0, 50)) counts.set(tok, (counts.get(tok) ?? 0) + 1);
    t.ok([...counts.values()].every((n) => n <= 3), 'nobody more than 3 times');
    t.not(s.seen.slice(0, 50).join(), tokens.join(), 'not in file order');
    const all = new Map<string, number>();
    for (const tok of s.seen) all.set(tok, (all.get(tok) ?? 0) + 1);
    t.equal(all.size, 50, 'every user clicks');
  });

  t.test('hot:5: every 5th click is one of the first 1 % of users', async (t) => {
    const s = await recordingServer(t);
    await wrk(s.url, ['e1', file, 'hot:5']);
    // Click n: a repeat by tok0 (the 1 % of 50) when n % 5 == 4, else the next user in order.
    const expected = Array.from({ length: 300 }, (_, n) => (n % 5 === 4 ? 'tok0' : tokens[(n - Math.floor((n + 1) / 5)) % 50]!));
    // wrk asks for one request before the run starts (to see whether requests vary), so the run may start at click 1.
    const offset = [0, 1, 2].find((o) => expected.slice(o, o + 100).join() === s.seen.slice(0, 100).join());
    t.ok(offset !== undefined, `the clicks follow the pattern (${s.seen.slice(0, 12).join(' ')})`);
  });

  t.test('a bad order is refused by name', async (t) => {
    const s = await recordingServer(t);
    await t.rejects(wrk(s.url, ['e1', file, 'sideways']), /order must be cycle, hot:K or crowd:SEED/);
  });
});
