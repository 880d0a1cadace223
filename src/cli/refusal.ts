/**
 * What a server's refusal says, in one line: the `error` of an error body
 * (`{"c":9,"error":"end must be after start"}`), the `result` of a refused
 * put (`{"result":"refused: the sale has started …"}`), or the text itself.
 * `seckill event put` fails with it like with any other error (src/cli/fatal.ts):
 * stdout carries only what succeeded.
 */
export function refusalOf(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; result?: unknown };
    if (typeof body.error === 'string') return body.error;
    if (typeof body.result === 'string') return body.result;
  } catch {
    // not JSON: the text itself
  }
  const line = text.trim().split('\n')[0] ?? '';
  return line === '' ? 'the server refused, and said nothing' : line.slice(0, 200);
}
