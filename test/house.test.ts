import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';

/** In process: rules of the house that reading the sources can check. */

const SRC = path.join(__dirname, '..', 'src');

function sources(dir = SRC): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const file = path.join(dir, d.name);
    return d.isDirectory() ? sources(file) : d.name.endsWith('.ts') ? [file] : [];
  });
}

t.test('one module touches a uWS response: src/http/exchange.ts', async (t) => {
  const files = sources();
  t.ok(files.length > 50, `the sources were found (${files.length} files)`);
  const touching = files
    .filter((f) => /\bHttpResponse\b|\.onAborted\(/.test(fs.readFileSync(f, 'utf8')))
    .map((f) => path.relative(SRC, f));
  t.same(touching, ['http/exchange.ts'], 'HttpResponse and onAborted appear in exchange.ts alone');
});
