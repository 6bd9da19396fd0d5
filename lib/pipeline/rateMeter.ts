/** Bitrate over a sliding window, from byte counts added as they arrive. */
export class RateMeter {
  static readonly WINDOW_MS = 5_000;
  readonly #now: () => number;
  #samples: Array<{ at: number; bytes: number }> = [];

  constructor(now: () => number) {
    this.#now = now;
  }

  add(bytes: number): void {
    const at = this.#now();
    const last = this.#samples.at(-1);
    // Merge samples within 100 ms so a high chunk rate keeps the array short.
    if (last && at - last.at < 100) last.bytes += bytes;
    else this.#samples.push({ at, bytes });
    this.#trim(at);
  }

  bitsPerSecond(): number {
    const now = this.#now();
    this.#trim(now);
    const first = this.#samples[0];
    if (!first) return 0;
    const spanMs = Math.max(now - first.at, 1_000);
    const bytes = this.#samples.reduce((sum, s) => sum + s.bytes, 0);
    return Math.round((bytes * 8 * 1000) / spanMs);
  }

  #trim(now: number): void {
    while (this.#samples.length > 0 && now - this.#samples[0]!.at > RateMeter.WINDOW_MS) this.#samples.shift();
  }
}
