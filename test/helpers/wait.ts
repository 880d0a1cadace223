/**
 * Waits until `condition` holds, checking after every turn of the event loop
 * and at most every `everyMs`. For server state that has no event to await
 * (how many requests are parked); fails after `timeoutMs`.
 */
export async function until(condition: () => boolean, what: string, timeoutMs = 10_000, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
