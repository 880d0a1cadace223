import { ConfigError } from '../config';
import type { AdminApi } from './admin-api';

/** One row of GET /admin/events. */
export interface EventRow {
  readonly event: string;
  readonly name: string;
  readonly state: 'scheduled' | 'open' | 'ended';
  readonly soldOut: boolean;
  readonly stock: number;
  readonly remaining: number | null;
  readonly start: string;
  readonly end: string;
  readonly payWithin: number;
}

/** The state as a person says it: an open sale with nothing left is "sold out". */
export function stateWord(row: EventRow): string {
  return row.state === 'open' && row.soldOut ? 'sold out' : row.state;
}

/** The events as a table, one line each, in the server's order (by start). */
export function formatEvents(rows: readonly EventRow[]): string {
  if (rows.length === 0) return 'no events (create one: seckill event put ID --stock N --start T --end T)';
  const table = [
    ['EVENT', 'STATE', 'STOCK', 'LEFT', 'START', 'END', 'NAME'],
    ...rows.map((r) => [r.event, stateWord(r), String(r.stock), r.remaining === null ? '?' : String(r.remaining), r.start, r.end, r.name]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)));
  return table.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** `seckill event list`: every event the server knows, with its state; `json`: the API's answer as it came. */
export async function eventList(api: AdminApi, json: boolean): Promise<string> {
  const res = await api.call('/admin/events');
  if (!res.ok) throw new ConfigError(`GET /admin/events: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { events: EventRow[] };
  return json ? JSON.stringify(body, null, 2) : formatEvents(body.events);
}

/** `seckill event pause ID` / `resume ID` (POST /admin/events/{id}/pause or /resume): one line saying what holds now. */
export async function eventPause(api: AdminApi, id: string, on: boolean): Promise<string> {
  const action = on ? 'pause' : 'resume';
  const res = await api.call(`/admin/events/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
  if (res.status === 404) {
    await res.arrayBuffer();
    throw new ConfigError(`no such event "${id}" (seckill event list shows them)`);
  }
  if (!res.ok) throw new ConfigError(`POST /admin/events/${id}/${action}: ${res.status} ${await res.text()}`);
  const b = (await res.json()) as { result: string; paused: boolean; orders: number; pauses: number; pausedMs: number; lastPausedMs?: number };
  const again = b.result === 'unchanged' ? ' (it already was)' : '';
  if (b.paused) return `${id}: paused${again}; no unit is decided until it is resumed (orders so far: ${b.orders})`;
  const lasted = b.lastPausedMs === undefined ? '' : `; that pause lasted ${(b.lastPausedMs / 1000).toFixed(1)} s`;
  return `${id}: selling${again}${lasted} (paused ${b.pauses} time(s), ${(b.pausedMs / 1000).toFixed(1)} s in all)`;
}

/** `seckill event get ID`: the event's stats (GET /admin/events/{id}), indented; no such event is an error. */
export async function eventGet(api: AdminApi, id: string): Promise<string> {
  const stats = await api.event(id);
  if (stats === undefined) throw new ConfigError(`no such event "${id}" (seckill event list shows them)`);
  return JSON.stringify(stats, null, 2);
}
