import fs from 'node:fs';
import path from 'node:path';
import { podman, podmanOk, reason, run, type Log } from './podman';

/**
 * The Dockerfile's base image, as a user's `docker build` names it. Where no
 * image registry is reachable (this machine), the test builds a stand-in
 * locally and tags it under this name, so the Dockerfile stays as a user runs
 * it: Debian bookworm (debootstrap, minbase), this machine's node and npm in
 * /usr/local as in the official image, a `node` user (uid 1000), and this
 * machine's CA bundle through NODE_EXTRA_CA_CERTS, so that `npm ci` and
 * apt-get inside the build reach their registries the way this machine does.
 */
export const BASE = 'docker.io/library/node:20-bookworm-slim';
const LABEL = 'org.seckill.stand-in';
const MIRROR = 'http://deb.debian.org/debian';
const CA_IN_IMAGE = '/usr/local/etc/host-ca-bundle.pem';

/** The stand-in's label: rebuilt when this machine's node changes. */
function standInLabel(): string {
  return `node ${process.version}`;
}

/** The base image in place: reused when present (the official one, or a stand-in of this node), else built. */
export async function ensureBase(log: Log, workDir: string): Promise<string> {
  let previous: string | undefined;
  if ((await podman(log, ['image', 'exists', BASE])).status === 0) {
    previous = await podmanOk(log, ['image', 'inspect', '--format', '{{.Id}}', BASE]);
    const labels = JSON.parse(await podmanOk(log, ['image', 'inspect', '--format', '{{json .Labels}}', BASE])) as Record<string, string> | null;
    const label = labels?.[LABEL];
    if (label === undefined) return 'on the official base image';
    if (label === standInLabel()) return `stand-in base reused (${label})`;
  }
  const started = Date.now();
  await buildStandIn(log, workDir);
  // The stand-in of an older node, unless images built on it still hold it (the build's own cleanup then takes it with them).
  if (previous !== undefined) await podman(log, ['rmi', previous]);
  return `stand-in base built in ${Math.round((Date.now() - started) / 1000)} s (${standInLabel()})`;
}

async function must(log: Log, command: string, args: readonly string[], timeoutMs?: number): Promise<void> {
  const r = await run(log, command, args, timeoutMs);
  if (r.status !== 0) throw new Error(`${command} ${args[0] ?? ''} failed: ${reason(r)}`);
}

async function buildStandIn(log: Log, workDir: string): Promise<void> {
  if (process.versions.node.split('.')[0] !== '20') {
    throw new Error(`the stand-in for node:20 copies this machine's node, which is ${process.version}, not 20`);
  }
  const npmDir = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm');
  if (!fs.existsSync(path.join(npmDir, 'bin', 'npm-cli.js'))) throw new Error(`npm not found next to node (${npmDir})`);
  // On the disk, not a tmpfs: a Debian root is a few hundred MB.
  const root = path.join(workDir, 'rootfs');
  const tarball = path.join(workDir, 'rootfs.tar');
  try {
    await must(log, 'debootstrap', ['--variant=minbase', 'bookworm', root, MIRROR], 900_000);
    fs.writeFileSync(
      path.join(root, 'etc/apt/sources.list'),
      `deb ${MIRROR} bookworm main\ndeb ${MIRROR} bookworm-updates main\ndeb ${MIRROR}-security bookworm-security main\n`,
    );
    for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
      for (const f of fs.readdirSync(path.join(root, dir))) {
        if (f !== 'partial' && f !== 'lock') fs.rmSync(path.join(root, dir, f), { recursive: true, force: true });
      }
    }
    const local = path.join(root, 'usr/local');
    fs.mkdirSync(path.join(local, 'lib/node_modules'), { recursive: true });
    fs.mkdirSync(path.join(local, 'etc'), { recursive: true });
    fs.copyFileSync(process.execPath, path.join(local, 'bin/node'));
    fs.chmodSync(path.join(local, 'bin/node'), 0o755);
    fs.cpSync(npmDir, path.join(local, 'lib/node_modules/npm'), { recursive: true, verbatimSymlinks: true });
    fs.symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', path.join(local, 'bin/npm'));
    fs.symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', path.join(local, 'bin/npx'));
    const changes = ['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'CMD ["node"]', `LABEL ${LABEL}="${standInLabel()}"`];
    const ca = [process.env.NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt'].find((f) => f !== undefined && f !== '' && fs.existsSync(f));
    if (ca !== undefined) {
      fs.copyFileSync(ca, path.join(root, CA_IN_IMAGE));
      changes.push(`ENV NODE_EXTRA_CA_CERTS=${CA_IN_IMAGE}`);
    }
    await must(log, 'chroot', [root, 'groupadd', '--gid', '1000', 'node']);
    await must(log, 'chroot', [root, 'useradd', '--uid', '1000', '--gid', 'node', '--shell', '/bin/bash', '--create-home', 'node']);
    await must(log, 'tar', ['--numeric-owner', '-C', root, '-cf', tarball, '.'], 300_000);
    await podmanOk(log, ['import', ...changes.flatMap((c) => ['--change', c]), tarball, BASE], 300_000);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(tarball, { force: true });
  }
}
