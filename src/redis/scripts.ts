import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { NO_DRAW, NOT_PAUSED, powText, skuText, type DrawState, type EventDefinition, type ExpiredOrder, type PauseState, type PutEventResult } from '../sale';
import type { EventKeys } from './keys';

/**
 * The Lua scripts in lua/, one per operation, named `<camelName>-<numKeys>.lua`
 * (the loader reads the key count from the name, as bullmq does). Each is
 * registered once per connection with ioredis `defineCommand`, which sends
 * EVALSHA and falls back to EVAL on NOSCRIPT; nothing calls SCRIPT LOAD per
 * request. One typed wrapper per script below; each passes its keys through
 * `run`, from SCRIPT_KEYS.
 *
 * SCRIPT_KEYS is the one place a script's keys are written in TypeScript:
 * each script's KEYS, in order, as the EventKeys field that names them.
 * test/lua-headers.test.ts checks it against every Lua file's name (the key
 * count) and its header (the `KEYS[i] <field>` lines).
 */
export const SCRIPT_KEYS = {
  buy: ['meta', 'stock', 'buyers', 'orders', 'seq', 'due', 'owners', 'expired'],
  buyLots: ['meta', 'stock', 'buyers', 'orders', 'seq', 'due', 'owners', 'expired'],
  putEvent: ['meta', 'stock', 'buyers', 'seq'],
  resetEvent: ['meta', 'stock', 'buyers', 'orders', 'seq', 'due', 'owners', 'paid', 'expired'],
  restoreBegin: ['meta', 'stock', 'buyers', 'seq'],
  restoreChunk: ['meta', 'buyers', 'seq', 'due', 'owners', 'paid', 'expired'],
  restoreEnd: ['meta', 'stock', 'buyers', 'seq', 'orders', 'expired', 'due', 'owners', 'paid'],
  payOrder: ['meta', 'stock', 'due', 'owners', 'paid', 'expired', 'orders'],
  expireDue: ['meta', 'stock', 'due', 'owners', 'expired', 'orders'],
  ackOrders: ['orders', 'meta'],
  dropIdleConsumers: ['orders'],
  pauseEvent: ['meta', 'seq'],
  drawEnter: ['meta', 'buyers', 'draw', 'entrants'],
  drawDecide: ['meta', 'stock', 'buyers', 'orders', 'seq', 'due', 'owners', 'draw', 'entrants'],
} as const satisfies Record<string, readonly (keyof EventKeys)[]>;

export type ScriptName = keyof typeof SCRIPT_KEYS;

/** A command defineScripts added: keys, then arguments. */
type ScriptCommand = (...keysAndArgs: (string | number)[]) => Promise<unknown>;

/** Runs script `name` on `keys` (its KEYS, from SCRIPT_KEYS) with `args`; the wrapper decodes what it returns. */
function run(redis: RedisClient, name: ScriptName, keys: EventKeys, args: readonly (string | number)[]): Promise<unknown> {
  // defineCommand adds the method at run time; ioredis' types cannot know it.
  const command = (redis as unknown as Record<ScriptName, ScriptCommand>)[name];
  return command.call(redis, ...SCRIPT_KEYS[name].map((k) => keys[k]), ...args);
}

/** lua/ at the project root, found from here whether running from src/ or dist/src/. */
function findLuaDir(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'lua');
    if (fs.existsSync(path.join(candidate, 'buy-8.lua'))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`lua/ not found above ${__dirname}`);
  }
}

export const LUA_DIR = findLuaDir();

export interface ScriptFile {
  readonly name: string;
  readonly numberOfKeys: number;
  readonly lua: string;
}

export function readScripts(dir: string = LUA_DIR): ScriptFile[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.lua'))
    .map((file) => {
      const m = /^([a-z][A-Za-z0-9]*)-(\d+)\.lua$/.exec(file);
      if (!m?.[1] || !m[2]) throw new Error(`lua/${file}: name must be <camelName>-<numKeys>.lua`);
      return { name: m[1], numberOfKeys: Number(m[2]), lua: withIncludes(fs.readFileSync(path.join(dir, file), 'utf8'), dir, file) };
    });
}

/**
 * A line `-- #include <file>.lua` is replaced by lua/include/<file>.lua, so that the
 * snippets several scripts need (Redis' clock, the restore lease) are written once
 * and every script Redis runs is still whole. An include includes nothing.
 */
export function withIncludes(lua: string, dir: string, file: string): string {
  return lua.replace(/^-- #include ([a-z][a-z0-9-]*\.lua)$/gm, (_, name: string) => {
    const included = path.join(dir, 'include', name);
    if (!fs.existsSync(included)) throw new Error(`lua/${file}: includes lua/include/${name}, which does not exist`);
    return fs.readFileSync(included, 'utf8').trimEnd();
  });
}

const scripts = readScripts();

/** A single Redis or a Redis Cluster: every script passes all its keys in KEYS. */
export type RedisClient = Redis | Cluster;

/** Registers every script on a connection; call once right after creating it. */
export function defineScripts(redis: RedisClient): void {
  for (const s of scripts) redis.defineCommand(s.name, { numberOfKeys: s.numberOfKeys, lua: s.lua });
}

/** Result of one buy batch: remaining units, then (code, order) per user. */
export interface BuyResult {
  /** -1 when the event is absent from Redis or being restored: not a count to re-sync to. */
  readonly remaining: number;
  /** codes[i] and orders[i] answer users[i]. */
  readonly codes: Int32Array;
  readonly orders: Float64Array;
  /** Redis' buyers after the batch (-1 with remaining -1). */
  readonly buyers: number;
}

export async function buy(redis: RedisClient, keys: EventKeys, users: string[]): Promise<BuyResult> {
  const raw = (await run(redis, 'buy', keys, users)) as number[];
  const n = users.length;
  const codes = new Int32Array(n);
  const orders = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    codes[i] = raw[2 * i + 1] ?? 10;
    orders[i] = raw[2 * i + 2] ?? 0;
  }
  return { remaining: raw[0] ?? -1, codes, orders, buyers: raw[2 * n + 1] ?? -1 };
}


/** Result of one batch of an event sold in lots: as BuyResult, with a count per request and each SKU's units left. */
export interface BuyLotsResult extends BuyResult {
  /** q for a win, the units the user may still buy for 13, the SKU's units left for 14; else 0. */
  readonly counts: Int32Array;
  /** Units left per SKU, in the definition's order (empty with remaining -1). */
  readonly skuLeft: number[];
}

/** One batch of an event sold in lots (lua/buyLots-8.lua): `asks` holds user, q and SKU id ('' for none) per request. */
export async function buyLots(redis: RedisClient, keys: EventKeys, asks: (string | number)[]): Promise<BuyLotsResult> {
  const raw = (await run(redis, 'buyLots', keys, asks)) as number[];
  const n = asks.length / 3;
  const codes = new Int32Array(n);
  const orders = new Float64Array(n);
  const counts = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    codes[i] = raw[3 * i + 1] ?? 10;
    orders[i] = raw[3 * i + 2] ?? 0;
    counts[i] = raw[3 * i + 3] ?? 0;
  }
  return { remaining: raw[0] ?? -1, codes, orders, counts, buyers: raw[3 * n + 1] ?? -1, skuLeft: raw.slice(3 * n + 2) };
}

/** The definition's lots as the scripts take them (ARGV): the limit, and the SKUs as skuText writes them. */
function lotsArgs(def: EventDefinition): [string, string] {
  return [String(def.limit ?? 1), skuText(def)];
}

/**
 * Creates or changes an event (lua/putEvent-4.lua). `seed` is a new draw seed, taken only when the event has none
 * or its decided draw revealed it; `seed` in the answer is the one the event holds after the call.
 */
export async function putEvent(
  redis: RedisClient,
  keys: EventKeys,
  def: EventDefinition,
  seed: string = randomBytes(32).toString('hex'),
  /** Taken instead when a change resets a decided draw (its seed is public): never MySQL's copy of the old one. */
  fresh: string = randomBytes(32).toString('hex'),
): Promise<{ result: PutEventResult; remaining: number; seed: string }> {
  const [result, remaining, held] = (await run(redis, 'putEvent', keys, [
    String(def.stock),
    String(def.start),
    String(def.end),
    def.name,
    String(def.payWithin ?? 0),
    powText(def.pow),
    String(def.drawMs ?? 0),
    seed,
    fresh,
    ...lotsArgs(def),
  ])) as [number, number, string];
  return { result: result as PutEventResult, remaining, seed: String(held ?? '') };
}

export enum ResetEventResult {
  /** The event was absent or its sale had ended: it now holds the new definition and nothing sold. */
  Reset = 1,
  /** Refused: the sale has not ended. */
  Open = 2,
  /** Refused: a restore from MySQL is under way (retry). */
  Restoring = 3,
}

/** Starts an ended (or absent) event afresh: all of its keys replaced by the new definition in one step (lua/resetEvent-9.lua). */
export async function resetEvent(
  redis: RedisClient,
  keys: EventKeys,
  def: EventDefinition,
): Promise<{ result: ResetEventResult; remaining: number }> {
  const [result, remaining] = (await run(redis, 'resetEvent', keys, [
    String(def.stock), String(def.start), String(def.end), def.name, String(def.payWithin ?? 0), powText(def.pow), ...lotsArgs(def),
  ])) as [number, number];
  return { result: result as ResetEventResult, remaining };
}

export enum RestoreBegin {
  /** Redis has the event and no restore is under way. */
  Present = 0,
  Started = 1,
  /** Another restorer holds a live lease. */
  Busy = 2,
}

export function restoreBegin(
  redis: RedisClient,
  keys: EventKeys,
  def: EventDefinition,
  token: string,
  leaseMs: number,
  pause: PauseState = NOT_PAUSED,
  draw: DrawState = NO_DRAW,
): Promise<RestoreBegin> {
  return run(redis, 'restoreBegin', keys, [
    String(def.stock), String(def.start), String(def.end), def.name, token, String(leaseMs), String(def.payWithin ?? 0),
    String(pause.since), String(pause.pausedMs), String(pause.pauses), powText(def.pow),
    String(def.drawMs ?? 0), draw.seed, String(draw.decided), String(draw.entrants), String(draw.stock), ...lotsArgs(def),
  ]) as Promise<RestoreBegin>;
}

/**
 * Writes stored orders back, four values each: user, order number, payment
 * deadline (ms, 0: none) and state ('p' paid, 'x' expired, '' neither); six
 * for an event sold in lots, its units and SKU id ('' for none) following.
 * False when the token lost the restore.
 */
export async function restoreChunk(redis: RedisClient, keys: EventKeys, token: string, leaseMs: number, quads: (string | number)[]): Promise<boolean> {
  return (await run(redis, 'restoreChunk', keys, [token, String(leaseMs), ...quads])) === 1;
}

/** Opens the restored sale; the units remaining, or -1 when the token lost the restore. */
export function restoreEnd(redis: RedisClient, keys: EventKeys, token: string): Promise<number> {
  return run(redis, 'restoreEnd', keys, [token]) as Promise<number>;
}

/** What payOrder-7.lua decided; codes are Outcome values (0 paid, 12 expired, 11, 7, 10). */
export interface PayResult {
  readonly code: number;
  /** Units remaining when this call expired the order (its unit went back), else -1. */
  readonly remaining: number;
  /** The order's user when this call paid or expired it, else ''. */
  readonly user: string;
}

export async function payOrder(redis: RedisClient, keys: EventKeys, order: number): Promise<PayResult> {
  const [code, remaining, user] = (await run(redis, 'payOrder', keys, [String(order)])) as [number, number, string];
  return { code, remaining, user };
}


/** What one expireDue-6.lua call did: -1 remaining when the event is absent or restoring. */
export interface ExpiryResult {
  readonly remaining: number;
  readonly expired: ExpiredOrder[];
}

export async function expireDue(redis: RedisClient, keys: EventKeys, limit: number): Promise<ExpiryResult> {
  const raw = (await run(redis, 'expireDue', keys, [String(limit)])) as (number | string)[];
  const expired: ExpiredOrder[] = [];
  for (let i = 1; i + 1 < raw.length; i += 2) expired.push({ order: Number(raw[i]), user: String(raw[i + 1]) });
  return { remaining: Number(raw[0] ?? -1), expired };
}

export enum PauseResult {
  Done = 0,
  /** Already paused, or not paused: nothing changed. */
  AlreadySo = 1,
  /** No such event in Redis. */
  Unknown = 7,
}

/** What pauseEvent-2.lua did, and the switch's state after it. */
export interface PauseOutcome extends PauseState {
  readonly result: PauseResult;
  /** The last order number granted when the call ran (no order above it is decided while paused). */
  readonly orders: number;
  /** A resume: how long the pause it ended lasted (ms); else 0. */
  readonly lastMs: number;
}

/** Pauses (`on`) or resumes an event's sale (lua/pauseEvent-2.lua). */
export async function pauseEvent(redis: RedisClient, keys: EventKeys, on: boolean): Promise<PauseOutcome> {
  const [result, since, pausedMs, pauses, orders, lastMs] = (await run(redis, 'pauseEvent', keys, [on ? '1' : '0'])) as number[];
  return { result: (result ?? PauseResult.Unknown) as PauseResult, since: since ?? 0, pausedMs: pausedMs ?? 0, pauses: pauses ?? 0, orders: orders ?? 0, lastMs: lastMs ?? 0 };
}

/** One stream entry to acknowledge: its id and how many won orders it holds (0: a settlement). */
export interface AckedEntry {
  readonly id: string;
  readonly orders: number;
}

/** XACK + XDEL of entries committed to MySQL, their orders taken off `unpersisted`; returns how many were acknowledged. */
export function ackOrders(redis: RedisClient, keys: EventKeys, group: string, entries: readonly AckedEntry[]): Promise<number> {
  return run(redis, 'ackOrders', keys, [group, ...entries.flatMap((e) => [e.id, String(e.orders)])]) as Promise<number>;
}

/** Deletes the group's consumers that hold nothing and were idle for `idleMs`; returns how many. */
export function dropIdleConsumers(redis: RedisClient, keys: EventKeys, group: string, idleMs: number, self: string): Promise<number> {
  return run(redis, 'dropIdleConsumers', keys, [group, String(idleMs), self]) as Promise<number>;
}

/** One user entering a draw: their id, entrant key (SHA-256 hex of the id), score (HMAC-SHA256 hex) and the units asked. */
export interface DrawEntry {
  readonly user: string;
  readonly key: string;
  readonly score: string;
  readonly q: number;
}

/** drawEnter-4.lua's per-user code for "entered (now or before)"; the others are 2 (a buyer already) and 13 (lots: over the limit). */
export const DRAW_ENTERED = 100;
/** Status (and per-user code) for "not in the draw: go the normal way": no draw, its window closed, or it is decided. */
export const DRAW_CLOSED = 101;
/** Status: the caller computed its scores with a seed the event no longer holds (re-read the event). */
export const DRAW_STALE = 9;

/** A draw call's status, then a code, an order number and a count (as buyLots-8.lua's) per user. */
export interface DrawAnswer {
  /** drawEnter: 0 looked at, else every user's code; drawDecide: 0 decided now, 1 decided before, 2 not yet, else as its header. */
  readonly status: number;
  /** drawDecide: the units remaining (status 0 and 1), or the ms until the close (status 2); drawEnter: 0. */
  readonly x: number;
  readonly entrants: number;
  /** drawDecide: HLEN buyers (-1 when not answered). */
  readonly buyers: number;
  readonly codes: Int32Array;
  readonly orders: Float64Array;
  /** 0's units won, 13's units the user may still buy, 14's units left; else 0. */
  readonly counts: Int32Array;
}

function drawAnswer(raw: number[], head: number, n: number, fields: (raw: number[]) => Pick<DrawAnswer, 'x' | 'entrants' | 'buyers'>): DrawAnswer {
  const codes = new Int32Array(n);
  const orders = new Float64Array(n);
  const counts = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    codes[i] = raw[head + 3 * i] ?? 10;
    orders[i] = raw[head + 3 * i + 1] ?? 0;
    counts[i] = raw[head + 3 * i + 2] ?? 0;
  }
  return { status: raw[0] ?? 10, ...fields(raw), codes, orders, counts };
}

/** Enters users into the event's draw while its window is open by Redis' clock (lua/drawEnter-4.lua). */
export async function drawEnter(redis: RedisClient, keys: EventKeys, seed: string, entries: readonly DrawEntry[]): Promise<DrawAnswer> {
  const args: (string | number)[] = [seed];
  for (const e of entries) args.push(e.user, e.key, e.score, e.q);
  const raw = (await run(redis, 'drawEnter', keys, args)) as number[];
  return drawAnswer(raw, 2, entries.length, (r) => ({ x: 0, entrants: r[1] ?? 0, buyers: -1 }));
}

/** Decides the draw once its window closed (the first call does), then answers `users` (lua/drawDecide-9.lua). */
export async function drawDecide(redis: RedisClient, keys: EventKeys, seed: string, users: readonly { user: string; key: string }[]): Promise<DrawAnswer> {
  const args: string[] = [seed];
  for (const u of users) args.push(u.user, u.key);
  const raw = (await run(redis, 'drawDecide', keys, args)) as number[];
  return drawAnswer(raw, 4, users.length, (r) => ({ x: r[1] ?? -1, entrants: r[2] ?? 0, buyers: r[3] ?? -1 }));
}
