export interface EventuallyOptions {
  /** Give up after this long (default 5 s). */
  timeoutMs?: number;
  /** Wait this long between checks (default: none, the next event-loop turn), for a check that costs something. */
  intervalMs?: number;
}

/**
 * Resolves once `condition()` holds, for state that has no event of its own to await: checked after
 * each event-loop turn (setImmediate, no fixed sleep) or every `intervalMs`. Fails after `timeoutMs`
 * naming `what`, a string or a function read at that moment (to say the state it timed out in).
 */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string | (() => string),
  options: EventuallyOptions = {},
): Promise<void> {
  const { timeoutMs = 5000, intervalMs = 0 } = options;
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
    }
    await new Promise((resolve) => (intervalMs > 0 ? setTimeout(resolve, intervalMs) : setImmediate(resolve)));
  }
}
