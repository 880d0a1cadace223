/** Content-Length as a number; NaN when absent or not a plain number. (Bodies are read by Exchange.readBody.) */
export function contentLength(header: string): number {
  return header !== '' && /^\d{1,15}$/.test(header) ? Number(header) : Number.NaN;
}
