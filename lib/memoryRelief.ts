/** How long a burst of released peer connections may go on before the allocator is asked to give memory back. */
const SHRINK_DELAY_MS = 5000;

let pending: ReturnType<typeof setTimeout> | undefined;

/**
 * Asks JavaScriptCore, once a burst of released werift connections has
 * passed, to give unused memory back to the system (`Bun.shrink()`: done
 * when the engine is next idle, it blocks nothing). Without it the pages of
 * the DTLS handshakes' garbage stay in the process: measured with
 * bench/viewerMemory.ts, ~330 KB of RSS per viewer with it against
 * 550-600 KB without, one-time costs included. One timer for the process,
 * unref'd so it keeps nothing alive.
 */
export function releaseMemorySoon(): void {
  if (pending) return;
  pending = setTimeout(() => {
    pending = undefined;
    // Deprecated in Bun's types but present in the pinned 1.4.5; skipped if a later Bun drops it.
    (Bun as unknown as { shrink?: () => void }).shrink?.();
  }, SHRINK_DELAY_MS);
  pending.unref();
}
