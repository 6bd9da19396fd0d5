/** How often the event loop is sampled: often enough to catch a stall of a few frames (33 ms at 30 fps). */
const SAMPLE_INTERVAL_MS = 100;

/**
 * The event loop's delay, measured the way every runtime allows: how late
 * a timer fires. A timer due every SAMPLE_INTERVAL_MS that fires 40 ms late
 * means some task held the loop for about that long, and every viewer's
 * packets waited with it. (prom-client's collector needs Node's
 * monitorEventLoopDelay, which Bun and Deno do not implement faithfully.)
 */
export class EventLoopDelaySampler {
  readonly #timer: ReturnType<typeof setInterval>;
  #last = performance.now();

  /** `onSample`: each sample's delay in ms (0 when on time). */
  constructor(onSample: (delayMs: number) => void, intervalMs = SAMPLE_INTERVAL_MS) {
    this.#timer = setInterval(() => {
      const now = performance.now();
      onSample(Math.max(0, now - this.#last - intervalMs));
      this.#last = now;
    }, intervalMs);
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
