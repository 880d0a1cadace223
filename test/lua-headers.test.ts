import t from 'tap';
import { eventKeys } from '../src/redis/keys';
import { readScripts, SCRIPT_KEYS, type ScriptName } from '../src/redis/scripts';

/** In process: each Lua script's key order, written in its file name, its header and SCRIPT_KEYS, agrees. */

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
