/** Something with frames to send: one viewer. */
export interface Pump {
  /** Sends the next waiting frame; returns its packets sent (0: nothing was waiting). */
  sendNextFrame(): number;
  /** Whether frames are still waiting. */
  readonly hasPending: boolean;
  /** sendNextFrame() threw: the pump is not served again until woken, and should end itself. */
  failed(error: unknown): void;
}

export interface SendSchedulerOptions {
  /**
   * Packets sent per event-loop turn before I/O gets a turn: ~1-2 ms of work
   * (at 3-5 us a packet), so one frame for many viewers never holds the loop
   * for longer than that.
   */
  packetsPerSlice?: number;
  /** Defers a slice to the next turn; setImmediate (after I/O) by default. */
  defer?: (run: () => void) => void;
}

const DEFAULT_PACKETS_PER_SLICE = 384;

/**
 * Spreads the sending of frames to many viewers over event-loop turns. A
 * viewer with frames waiting is woken here; slices serve the waiting viewers
 * round robin, a frame each, until the slice's packet budget is spent, then
 * yield so that sockets, timers and HTTP requests run before the next slice.
 * A frame for 200 viewers thus goes out in a few slices with I/O in between,
 * and which viewer goes first rotates from frame to frame.
 */
export class SendScheduler {
  readonly #packetsPerSlice: number;
  readonly #defer: (run: () => void) => void;
  #ready: Pump[] = [];
  readonly #waiting = new Set<Pump>();
  #scheduled = false;

  constructor(options: SendSchedulerOptions = {}) {
    this.#packetsPerSlice = options.packetsPerSlice ?? DEFAULT_PACKETS_PER_SLICE;
    this.#defer = options.defer ?? ((run) => void setImmediate(run));
  }

  get waitingCount(): number {
    return this.#waiting.size;
  }

  /** The pump has frames: it gets a turn in the next slice. Idempotent. */
  wake(pump: Pump): void {
    if (this.#waiting.has(pump)) return;
    this.#waiting.add(pump);
    this.#ready.push(pump);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#defer(() => this.#runSlice());
  }

  #runSlice(): void {
    this.#scheduled = false;
    let budget = this.#packetsPerSlice;
    const round = this.#ready;
    this.#ready = [];
    let i = 0;
    for (; i < round.length && budget > 0; i++) {
      const pump = round[i]!;
      this.#waiting.delete(pump);
      const sent = this.#serve(pump);
      budget -= Math.max(1, sent ?? 0);
      if (sent !== undefined && pump.hasPending) this.wake(pump); // back of the line: one frame per turn keeps it fair
    }
    // Not served in this slice: first in the next one.
    if (i < round.length) this.#ready = round.slice(i).concat(this.#ready);
    if (this.#ready.length > 0) this.#schedule();
  }

  /**
   * One frame of one pump. A pump that throws is told so and left out, never
   * the slice: the viewers after it in this round would otherwise be dropped
   * from the queue while still marked waiting, and never be woken again.
   */
  #serve(pump: Pump): number | undefined {
    try {
      return pump.sendNextFrame();
    } catch (error) {
      pump.failed(error);
      return undefined;
    }
  }
}
