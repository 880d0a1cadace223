import type { EventDefinition } from '../sale';

export const MAX_STOCK = 10_000_000;
export const MAX_NAME = 200;
/** The longest payment deadline: 7 days, in seconds. */
export const MAX_PAY_WITHIN = 7 * 24 * 3600;

/** ISO-8601 text or epoch milliseconds → epoch milliseconds, or undefined. */
export function parseTime(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string' || value === '') return undefined;
  if (/^\d+$/.test(value)) return parseTime(Number(value));
  // Date.parse accepts more than ISO-8601; require its shape.
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Validates an event definition (the admin PUT body, the CLI's flags).
 * Returns the definition, or a message saying what is wrong.
 */
export function parseDefinition(input: unknown): EventDefinition | string {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'body must be a JSON object';
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['stock', 'start', 'end', 'name', 'payWithin'].includes(k)) return `unknown field "${k}"`;
  }
  const stock = o.stock;
  if (typeof stock !== 'number' || !Number.isInteger(stock) || stock < 1 || stock > MAX_STOCK) {
    return `stock must be a whole number from 1 to ${MAX_STOCK}`;
  }
  const start = parseTime(o.start);
  if (start === undefined) return 'start must be an ISO-8601 time or epoch milliseconds';
  const end = parseTime(o.end);
  if (end === undefined) return 'end must be an ISO-8601 time or epoch milliseconds';
  if (end <= start) return 'end must be after start';
  const name = o.name ?? '';
  if (typeof name !== 'string' || name.length > MAX_NAME) return `name must be text of at most ${MAX_NAME} characters`;
  const payWithin = o.payWithin ?? 0;
  if (typeof payWithin !== 'number' || !Number.isInteger(payWithin) || payWithin < 0 || payWithin > MAX_PAY_WITHIN) {
    return `payWithin must be a whole number of seconds from 0 to ${MAX_PAY_WITHIN} (0: a win is final)`;
  }
  return { stock, start, end, name, payWithin };
}
