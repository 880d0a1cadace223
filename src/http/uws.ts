import uws from 'uWebSockets.js';

/**
 * The uWebSockets.js package we install (an unofficial build on the npm
 * registry) quietly falls back to a slow pure-JS server when its native
 * binding does not load. A seckill server on that fallback is a different
 * product, so refuse to start instead.
 */
export function assertNativeUws(): void {
  const native =
    typeof uws.getParts === 'function' && /\[native code\]/.test(Function.prototype.toString.call(uws.App));
  if (!native) {
    throw new Error(
      `uWebSockets.js native binding did not load (platform ${process.platform}-${process.arch}, ` +
        `node ABI ${process.versions.modules}); refusing to run on its slow JS fallback. ` +
        'Use Node 20 on linux-x64/arm64 or darwin, and unset UWS_USE_FALLBACK.',
    );
  }
  // Drops the "uWebSockets: 20" header from every response: 17 bytes of
  // every answer on the wire, and nothing HTTP needs.
  uws._cfg('silent');
}

export { uws };
