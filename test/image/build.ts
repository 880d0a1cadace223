import path from 'node:path';
import { LIMITS, podman, podmanOk, type Log } from './podman';
import { BASE } from './stand-in-base';

const ROOT = path.join(__dirname, '..', '..', '..');
export const IMAGE = 'localhost/seckill-image-test:latest';
/** The build stage, tagged too, so that a rebuild replaces it instead of leaving it behind untagged. */
const BUILD_STAGE = 'localhost/seckill-image-test:build';

async function imageId(log: Log, ref: string): Promise<string | undefined> {
  const r = await podman(log, ['image', 'inspect', '--format', '{{.Id}}', ref]);
  return r.status === 0 ? r.stdout.trim() : undefined;
}

async function build(log: Log, tag: string, extra: readonly string[]): Promise<void> {
  const before = await imageId(log, tag);
  await podmanOk(
    log,
    [
      'build',
      ...extra,
      ...LIMITS,
      // The base is local (built by the test where no registry is reachable).
      '--pull=never',
      // The OCI format has no HEALTHCHECK: podman would drop it.
      '--format',
      'docker',
      '-f',
      path.join(ROOT, 'docker', 'Dockerfile'),
      '-t',
      tag,
      ROOT,
    ],
    1_500_000,
  );
  const after = await imageId(log, tag);
  // The previous build of this tag, and the layers only it used: a rerun keeps one image, not one more each time.
  if (before !== undefined && before !== after) await podman(log, ['rmi', before]);
}

export interface Built {
  readonly sizeMB: number;
  readonly baseMB: number;
}

async function sizeMB(log: Log, ref: string): Promise<number> {
  return Math.round(Number(await podmanOk(log, ['image', 'inspect', '--format', '{{.Size}}', ref])) / 1e6);
}

/** Builds docker/Dockerfile as the user would (plus the runtime flags this machine needs), and checks what it ships. */
export async function buildImage(log: Log): Promise<Built> {
  await build(log, BUILD_STAGE, ['--target', 'build']);
  await build(log, IMAGE, []);
  const health = await podmanOk(log, ['image', 'inspect', '--format', '{{json .HealthCheck}}', IMAGE]);
  if (!health.includes('/healthz')) throw new Error(`the image has no HEALTHCHECK on /healthz (${health})`);
  const found = await podmanOk(log, ['run', '--rm', ...LIMITS, '--network', 'none', '--entrypoint', 'find', IMAGE, '/app', '-name', 'uws_*.node']);
  const binaries = found.split('\n').filter((l) => l !== '');
  const loaded = `/app/node_modules/uWebSockets.js/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  if (binaries.length !== 1 || binaries[0] !== loaded) {
    const some = binaries.slice(0, 3).map((b) => path.basename(b));
    throw new Error(`the image should ship the one uWS binary it loads (${loaded}); it ships ${binaries.length}: ${some.join(', ')}…`);
  }
  return { sizeMB: await sizeMB(log, IMAGE), baseMB: await sizeMB(log, BASE) };
}
