import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { LoadResult } from './load';

/** Whether wrk is installed (the throughput sections use it; autocannon is the fallback). */
export const HAS_WRK = spawnSync('wrk', ['-v']).error === undefined;
const SCRIPT = path.resolve(__dirname, '..', '..', 'bench', 'wrk', 'buy.lua');

export interface WrkOptions {
  readonly url: string;
  readonly event: string;
  /** A file of tokens, one per line (writeTokens). */
  readonly tokensFile: string;
  /** buy.lua's order: cycle, hot:K or crowd:SEED. */
  readonly order: string;
  readonly connections: number;
  readonly durationS: number;
  readonly label: string;
  /** Queries the requests take in turn (`q=2&sku=a|q=2&sku=b`: an event sold in lots); absent: none, the plain buy. */
  readonly queries?: string;
}

/** Writes tokens one per line, for buy.lua. */
export function writeTokens(file: string, tokens: readonly string[]): string {
  fs.writeFileSync(file, tokens.join('\n') + '\n');
  return file;
}

interface WrkJson {
  requests: number;
  bytes: number;
  durationUs: number;
  errors: Record<'connect' | 'read' | 'write' | 'status' | 'timeout', number>;
  latencyUs: { p50: number; p90: number; p99: number; max: number; mean: number };
  outcomes: Record<string, number>;
}

/**
 * One wrk run (one thread: the machine has two cores and the servers need
 * them) with bench/wrk/buy.lua; its JSON line turned into a LoadResult.
 * wrk does not say which request an answer belongs to, so `winners` is
 * unknown (undefined): the checks then bound the wins by Redis instead.
 */
export async function loadWrk(o: WrkOptions): Promise<LoadResult> {
  const firstAt = Date.now();
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      'wrk',
      ['-t1', `-c${o.connections}`, `-d${o.durationS}s`, '--timeout', '10s', '-s', SCRIPT, o.url, '--', o.event, o.tokensFile, o.order, ...(o.queries === undefined ? [] : [o.queries])],
      { maxBuffer: 1 << 20 },
      (err, stdout, stderr) => (err ? reject(new Error(`wrk: ${err.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
  const line = /^wrkjson (.*)$/m.exec(out)?.[1];
  if (line === undefined) throw new Error(`wrk printed no summary:\n${out}`);
  const j = JSON.parse(line) as WrkJson;
  const outcomes: Record<number, number> = {};
  let non2xx = 0;
  for (const [code, n] of Object.entries(j.outcomes)) {
    if (/^\d+$/.test(code)) outcomes[Number(code)] = n;
    else non2xx += n;
  }
  const ms = (us: number): number => +(us / 1000).toFixed(2);
  return {
    label: o.label,
    requests: j.requests,
    rps: Math.round(j.requests / (j.durationUs / 1e6)),
    latency: { p50: ms(j.latencyUs.p50), p90: ms(j.latencyUs.p90), p99: ms(j.latencyUs.p99), max: ms(j.latencyUs.max), mean: ms(j.latencyUs.mean) },
    bytesPerResponse: j.requests === 0 ? 0 : Math.round(j.bytes / j.requests),
    outcomes,
    bytesByOutcome: {},
    errors: j.errors.connect + j.errors.read + j.errors.write,
    timeouts: j.errors.timeout,
    non2xx,
    winners: undefined,
    distinctUsers: 0,
    firstAt,
    lastAt: Date.now(),
  };
}
