/**
 * Resolves once `condition()` holds, checking after each event-loop turn
 * (setImmediate, no fixed sleep), for state that has no event of its own to
 * await; fails naming `what` after `timeoutMs`.
 */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
