import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * The small-link case: a network namespace whose veth egress (the server's
 * answers) is shaped to 3 Mbit/s with tbf, addressed from 198.18.0.0/15 (the
 * range reserved for benchmarks). The bench creates it, runs servers inside
 * it, and deletes it; the load only ever targets this namespace.
 */
export const RATE = '3mbit';
const HOST_ADDR = '198.18.0.1';
export const SERVER_ADDR = '198.18.0.2';

export interface ShapedLink {
  readonly netns: string;
  readonly serverAddr: string;
  /** Bytes and packets the shaped qdisc has sent so far (the server's answers, on the wire). */
  sent(): { bytes: number; packets: number };
  /** Bytes through the host end of the veth, both ways, link-layer headers included: rx = server → host, tx = host → server. */
  hostBytes(): { rx: number; tx: number };
  close(): void;
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why this machine cannot run link3m, or undefined when it can. */
export function cannotShape(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (it creates a network namespace, a veth pair and a tc qdisc)';
  for (const tool of ['ip', 'tc']) {
    try {
      run(tool, ['-V']);
    } catch {
      return `needs \`${tool}\` (apt-get install -y iproute2)`;
    }
  }
  return undefined;
}

export function createShapedLink(): ShapedLink {
  const id = process.pid % 100_000;
  const netns = `skbench${id}`;
  const host = `skh${id}`;
  const peer = `skn${id}`;
  const inNs = (args: string[]): string => run('ip', ['netns', 'exec', netns, ...args]);
  const close = (): void => {
    try {
      run('ip', ['netns', 'del', netns]); // takes the veth pair with it
    } catch {
      // already gone
    }
  };
  process.stdout.write(`  link3m creates network namespace ${netns}, veth pair ${host}/${peer} (198.18.0.0/30) and a tbf qdisc on ${peer}; it removes them when the section ends, on exit and on Ctrl-C\n`);
  const onSignal = (signal: NodeJS.Signals): void => {
    close();
    process.stdout.write(`\n  link3m: removed ${netns} (${signal})\n`);
    process.exit(130);
  };
  process.once('exit', close);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    run('ip', ['netns', 'add', netns]);
    run('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
    run('ip', ['link', 'set', peer, 'netns', netns]);
    run('ip', ['addr', 'add', `${HOST_ADDR}/30`, 'dev', host]);
    run('ip', ['link', 'set', host, 'up']);
    inNs(['ip', 'addr', 'add', `${SERVER_ADDR}/30`, 'dev', peer]);
    inNs(['ip', 'link', 'set', peer, 'up']);
    inNs(['ip', 'link', 'set', 'lo', 'up']);
    inNs(['tc', 'qdisc', 'add', 'dev', peer, 'root', 'tbf', 'rate', RATE, 'burst', '32kbit', 'latency', '400ms']);
  } catch (err) {
    close();
    try {
      run('ip', ['link', 'del', host]);
    } catch {
      // not created
    }
    throw err;
  }
  return {
    netns,
    serverAddr: SERVER_ADDR,
    sent() {
      const out = inNs(['tc', '-s', 'qdisc', 'show', 'dev', peer]);
      const m = /Sent (\d+) bytes (\d+) pkt/.exec(out);
      return { bytes: Number(m?.[1] ?? 0), packets: Number(m?.[2] ?? 0) };
    },
    hostBytes() {
      const stat = (name: string): number => Number(fs.readFileSync(`/sys/class/net/${host}/statistics/${name}`, 'utf8').trim());
      return { rx: stat('rx_bytes'), tx: stat('tx_bytes') };
    },
    close() {
      close();
      process.off('exit', close);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.stdout.write(`  link3m: removed ${netns} and its veth pair and qdisc\n`);
    },
  };
}
