import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { eventKeys, REFUSED_KEY } from '../src/redis/keys';
import { readScripts, SCRIPT_KEYS, type ScriptName, withIncludes } from '../src/redis/scripts';

/** In process: each Lua script's key order (file name, header, SCRIPT_KEYS) agrees, and the design doc's tables with the code. */

t.test('every script in lua/ has its keys in SCRIPT_KEYS, in the order its header lists them', async (t) => {
  const scripts = readScripts();
  t.same(scripts.map((s) => s.name).sort(), Object.keys(SCRIPT_KEYS).sort(), 'the same scripts in lua/ and in SCRIPT_KEYS');
  const keys = eventKeys('E');
  for (const s of scripts) {
    const table = SCRIPT_KEYS[s.name as ScriptName] as readonly (keyof typeof keys)[] | undefined;
    if (table === undefined) continue;
    t.equal(table.length, s.numberOfKeys, `${s.name}: the file name's key count is SCRIPT_KEYS'`);
    // The header: "KEYS[i] <field> <pattern> <what>", in a comment block before the code.
    const header = s.lua.slice(0, s.lua.indexOf(']]'));
    const listed = [...header.matchAll(/^\s*KEYS\[(\d+)\]\s+(\w+)\s+(\S+)/gm)];
    t.same(
      listed.map((m) => Number(m[1])),
      table.map((_, i) => i + 1),
      `${s.name}: the header lists KEYS[1..${table.length}], in order`,
    );
    t.same(
      listed.map((m) => m[2]),
      [...table],
      `${s.name}: the header names the keys SCRIPT_KEYS passes, in its order`,
    );
    t.same(
      listed.map((m) => m[3]),
      table.map((k) => keys[k]),
      `${s.name}: each key's pattern in the header is the one src/redis/keys.ts builds`,
    );
  }
});

t.test("docs/ARCHITECTURE.md's key table and script list are the code's", async (t) => {
  const doc = fs.readFileSync(path.join(__dirname, '..', 'docs', 'ARCHITECTURE.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Redis keys'), doc.indexOf('## Outcome codes'));
  t.ok(section.length > 100, 'the Redis keys section was found');
  const rows = [...section.matchAll(/^\| `(sk:[^`]+)` \|/gm)].map((m) => m[1]);
  const built = [...Object.values(eventKeys('E')), REFUSED_KEY];
  t.same([...rows].sort(), [...built].sort(), 'one row per key src/redis/keys.ts builds, and no other');
  const listed = new Set([...section.matchAll(/`([a-z][A-Za-z]*-\d+\.lua)`/g)].map((m) => m[1]));
  const files = readScripts().map((s) => `${s.name}-${s.numberOfKeys}.lua`);
  t.same(files.filter((f) => !listed.has(f)), [], 'every script in lua/ is described');
  t.same([...listed].filter((f) => f === undefined || !files.includes(f)), [], 'and only scripts that exist');
});

t.test("Redis' clock and the restore lease are read through lua/include/clock.lua alone", async (t) => {
  const dir = path.join(__dirname, '..', 'lua');
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.lua'))) {
    const raw = fs.readFileSync(path.join(dir, file), 'utf8');
    t.notMatch(raw, /'TIME'/, `${file}: no TIME of its own`);
  }
  const scripts = readScripts();
  const users = scripts.filter((s) => s.lua.includes('local function redisClock()'));
  t.same(
    users.map((s) => s.name).sort(),
    ['buy', 'buyLots', 'drawDecide', 'drawEnter', 'expireDue', 'pauseEvent', 'payOrder', 'putEvent', 'resetEvent', 'restoreBegin', 'restoreChunk'],
    'the scripts that read the clock include it, expanded when loaded',
  );
  for (const s of scripts) t.notMatch(s.lua, /#include/, `${s.name}: no include line left unexpanded`);
  t.throws(() => withIncludes('-- #include nosuch.lua\n', dir, 'x-0.lua'), /lua\/include\/nosuch\.lua, which does not exist/);
});
