import { PTS_WRAP } from "../accessUnit.ts";

const UINT32 = 2 ** 32;
/** PTS given to the session's first packet: room for reordered packets and a later-starting track. */
const BASE_PTS = 90_000 * 10;

/**
 * Maps the RTP timestamps of a WHIP session's tracks to one 90 kHz PTS
 * timeline. Each track's clock is anchored by the wall-clock time its first
 * packet arrived, relative to the session's first packet, so audio and video
 * line up to within network jitter. (RTCP sender reports would be exact;
 * browsers start both tracks together, which keeps this close.)
 */
export class SessionClock {
  #originMs: number | undefined;
  readonly #now: () => number;

  constructor(now: () => number = performance.now.bind(performance)) {
    this.#now = now;
  }

  track(clockRate: number): TrackClock {
    return new TrackClock(clockRate, () => {
      const now = this.#now();
      this.#originMs ??= now;
      return BASE_PTS + Math.round((now - this.#originMs) * 90);
    });
  }
}

export class TrackClock {
  #first: { rtp: number; pts: number } | undefined;
  #last = 0;
  #cycles = 0;

  constructor(
    readonly clockRate: number,
    readonly anchor: () => number,
  ) {}

  /** 90 kHz, 33-bit PTS for a 32-bit RTP timestamp of this track. */
  pts(rtpTimestamp: number): number {
    const extended = this.#unwrap(rtpTimestamp);
    this.#first ??= { rtp: extended, pts: this.anchor() };
    const ticks = Math.round(((extended - this.#first.rtp) * 90_000) / this.clockRate);
    return (((this.#first.pts + ticks) % PTS_WRAP) + PTS_WRAP) % PTS_WRAP;
  }

  /** Continuous RTP timestamp across the 32-bit wrap; small steps back are reordering. */
  #unwrap(ts: number): number {
    if (this.#first !== undefined) {
      const delta = ts - this.#last;
      if (delta < -UINT32 / 2) this.#cycles++;
      else if (delta > UINT32 / 2) this.#cycles--;
    }
    this.#last = ts;
    return ts + this.#cycles * UINT32;
  }
}
