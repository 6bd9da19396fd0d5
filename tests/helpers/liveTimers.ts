/**
 * Counts the timers this process has pending (setTimeout not yet fired or
 * cleared, setInterval not yet cleared), for leak checks: Bun has no
 * getActiveResourcesInfo() that lists them. Installed once, on first import,
 * by wrapping the global timer functions; the wrapped ones behave as before.
 */
const live = new Set<unknown>();

const original = { setTimeout, setInterval, clearTimeout, clearInterval };

function install(): void {
  const g = globalThis as unknown as Record<string, unknown>;
  g.setTimeout = Object.assign(
    (handler: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const timer = original.setTimeout(
        (...a: unknown[]) => {
          live.delete(timer);
          handler(...a);
        },
        ms,
        ...args,
      );
      live.add(timer);
      return timer;
    },
    original.setTimeout,
  );
  g.setInterval = Object.assign(
    (handler: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const timer = original.setInterval(handler, ms, ...args);
      live.add(timer);
      return timer;
    },
    original.setInterval,
  );
  const clear = (fn: (t: never) => void) => (timer: unknown) => {
    live.delete(timer);
    fn(timer as never);
  };
  g.clearTimeout = clear(original.clearTimeout);
  g.clearInterval = clear(original.clearInterval);
}

install();

/** Timers pending now. */
export function liveTimerCount(): number {
  return live.size;
}
