/**
 * At most `max` swaps within a sliding `windowMs` (go-livepeer: 2 in 3
 * minutes): a pipeline that keeps failing stops being restarted and falls
 * back instead of flapping forever.
 */
export class SwapBudget {
  readonly #taken: number[] = [];

  constructor(
    readonly max: number,
    readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** Takes one swap if the window has room; false when the budget is spent. */
  take(): boolean {
    const now = this.now();
    while (this.#taken.length > 0 && now - this.#taken[0]! >= this.windowMs) this.#taken.shift();
    if (this.#taken.length >= this.max) return false;
    this.#taken.push(now);
    return true;
  }
}
