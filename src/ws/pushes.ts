import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import type { SaleEvent } from '../events/sale-event';
import { Outcome } from '../outcome';
import { pushFrame } from './frames';

/** The uWS topic a connection subscribes to for one event's pushes. */
export function topicOf(eventId: string): string {
  return `e/${eventId}`;
}

/** What a connection should be told about this event now: sold out, ended, or nothing. */
function stateOf(event: SaleEvent, now: number): Outcome.SoldOut | Outcome.Ended | undefined {
  if (now >= event.end) return Outcome.Ended;
  return event.remaining <= 0 ? Outcome.SoldOut : undefined;
}

/**
 * "Sold out" and "ended" pushed to every connection that bought from or
 * subscribed to an event, with one uWS publish per change. `check` is
 * called wherever this process learns an event changed (the consumer's
 * sell-out, the catalog's watchers, a worker's event update); an end is
 * found by a timer armed when the first connection subscribes. Each state
 * is published once; if units come back (an order expired unpaid) the next
 * sell-out is published again.
 */
export class SalePushes {
  private readonly told = new Map<string, Outcome>();
  private readonly endTimers = new Map<string, { readonly at: number; readonly timer: NodeJS.Timeout }>();

  constructor(private readonly app: TemplatedApp) {}

  /** Publishes the event's state if it became sold out or ended since the last push. */
  check(event: SaleEvent): void {
    const code = stateOf(event, Date.now());
    if (code === undefined) {
      this.told.delete(event.id);
      if (this.endTimers.has(event.id)) this.armEnd(event);
      return;
    }
    if (this.told.get(event.id) === code) return;
    this.told.set(event.id, code);
    this.app.publish(topicOf(event.id), pushFrame(event.id, code), true);
  }

  /** A connection bought from or subscribed to the event: it gets its pushes, and the current one at once. */
  subscribe<T>(ws: WebSocket<T>, event: SaleEvent): void {
    if (!ws.subscribe(topicOf(event.id))) return;
    const code = stateOf(event, Date.now());
    if (code !== undefined) ws.send(pushFrame(event.id, code), true);
    else this.armEnd(event);
  }

  close(): void {
    for (const { timer } of this.endTimers.values()) clearTimeout(timer);
    this.endTimers.clear();
  }

  private armEnd(event: SaleEvent): void {
    const armed = this.endTimers.get(event.id);
    if (armed !== undefined && armed.at === event.end) return;
    if (armed !== undefined) clearTimeout(armed.timer);
    // setTimeout holds at most 2^31-1 ms; a later end re-arms when the timer fires.
    const wait = Math.min(2 ** 31 - 1, Math.max(0, event.end - Date.now()));
    const timer = setTimeout(() => {
      this.endTimers.delete(event.id);
      if (Date.now() < event.end) this.armEnd(event);
      else this.check(event);
    }, wait);
    timer.unref();
    this.endTimers.set(event.id, { at: event.end, timer });
  }
}
