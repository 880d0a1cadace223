/**
 * A load's progress while it runs: on a terminal, one line rewritten each
 * second; otherwise (CI logs) a line every 10 seconds.
 */
export function progress(label: string, total?: number): (responses: number) => void {
  const started = Date.now();
  let ticks = 0;
  return (responses) => {
    const s = Math.round((Date.now() - started) / 1000);
    const text = `    ${label}: ${responses.toLocaleString('en')}${total === undefined ? '' : ` / ${total.toLocaleString('en')}`} responses, ${s} s`;
    if (process.stdout.isTTY) process.stdout.write(`\r${text}\x1b[K`);
    else if (++ticks % 10 === 0) process.stdout.write(text + '\n');
  };
}

/** Clears the progress line on a terminal. */
export function endProgress(): void {
  if (process.stdout.isTTY) process.stdout.write('\r\x1b[K');
}
