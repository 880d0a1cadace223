import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LIMITS, podman, reason, run, type Log } from './podman';

/** What the image test runs, and the Debian packages that bring it. */
const COMMANDS: ReadonlyArray<readonly [command: string, pkg: string]> = [
  ['podman', 'podman'],
  ['runc', 'runc'],
  ['debootstrap', 'debootstrap'],
  ['ldd', 'libc-bin'],
  ['tar', 'tar'],
];

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && fs.existsSync(path.join(dir, command)));
}

/** Installs what is missing with apt-get; the reason it could not, or undefined. */
async function install(log: Log): Promise<string | undefined> {
  const missing = COMMANDS.filter(([command]) => !onPath(command)).map(([, pkg]) => pkg);
  if (missing.length === 0) return undefined;
  if (!onPath('apt-get')) return `${missing.join(', ')} missing, and no apt-get to install them`;
  process.env.DEBIAN_FRONTEND = 'noninteractive';
  const args = ['install', '-y', '-qq', '--no-install-recommends', ...missing];
  let r = await run(log, 'apt-get', args, 600_000);
  if (r.status !== 0) {
    await run(log, 'apt-get', ['update', '-qq'], 300_000);
    r = await run(log, 'apt-get', args, 600_000);
  }
  return r.status === 0 ? undefined : `apt-get could not install ${missing.join(', ')}: ${reason(r)}`;
}

/**
 * Can this machine start a container at all? One made of /bin/true and the
 * libraries it loads answers without an image, a registry or a network.
 */
async function probe(log: Log): Promise<string | undefined> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'seckill-probe-'));
  try {
    const files = ['/bin/true'];
    const ldd = await run(log, 'ldd', ['/bin/true']);
    for (const m of ldd.stdout.matchAll(/(\/\S+) \(0x/g)) files.push(m[1]!);
    for (const file of files) {
      fs.mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
      fs.copyFileSync(file, path.join(root, file));
      fs.chmodSync(path.join(root, file), 0o755);
    }
    const r = await podman(log, ['run', '--rm', ...LIMITS, '--network', 'none', '--rootfs', root, '/bin/true'], 60_000);
    return r.status === 0 ? undefined : `a container cannot start: ${reason(r)}`;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Why this machine cannot run containers for the test, or undefined when it
 * can. Everything past this point that goes wrong is a failure, not a skip.
 */
export async function cannotRunContainers(log: Log): Promise<string | undefined> {
  if (process.platform !== 'linux') return `podman needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root (the test runs podman as root)';
  return (await install(log)) ?? (await probe(log));
}
