import { PTS_CLOCK_HZ, PTS_WRAP } from "../accessUnit.ts";

/** RTP timestamps are 32-bit (RFC 3550 5.1). */
const RTP_TIMESTAMP_WRAP = 2 ** 32;
/** A step of more than half the 32-bit range is a wrap (forward) or a late packet from before it. */
const HALF_RTP_RANGE = RTP_TIMESTAMP_WRAP / 2;
/** 90 kHz ticks per millisecond of wall-clock time: 90_000 / 1000. */
const PTS_TICKS_PER_MS = PTS_CLOCK_HZ / 1000;
/**
 * PTS given to a session's first packet: 10 s of the 90 kHz clock (10 * 90_000).
 * Packets from just before a track's first one (reordering) and a track whose
 * capture started a little earlier than its first packet arrived then still get
 * small positive PTS instead of values just below 2^33.
 */
export const SESSION_BASE_PTS = 10 * PTS_CLOCK_HZ;

/** x mod m in 0 .. m - 1, also for negative x. */
function modulo(x: number, m: number): number {
  return ((x % m) + m) % m;
}

/**
 * One track's RTP timestamps on the MPEG-TS clock: unwraps the 32-bit RTP
 * timestamp (RFC 3550 5.1) to a continuous count, scales it from the track's
 * clock rate (90 kHz H.264, RFC 6184 5.1; 48 kHz Opus, RFC 7587 4.1) to 90 kHz
 * and places the track's first packet at `anchor()` (called once, at the first
 * packet). Output is a 33-bit PTS (ISO/IEC 13818-1 2.4.3.7).
 */
export class RtpClock {
  readonly clockRate: number;
  readonly #anchor: () => number;
  #first: { rtp: number; pts: number } | undefined;
  #lastRaw: number | undefined;
  #cycles = 0;

  /** anchor(): the 90 kHz PTS of the first packet; by default 0. */
  constructor(clockRate: number, anchor: () => number = () => 0) {
    if (!Number.isSafeInteger(clockRate) || clockRate <= 0) {
      throw new RangeError(`RtpClock: clock rate must be a positive integer in Hz, got ${clockRate}`);
    }
    this.clockRate = clockRate;
    this.#anchor = anchor;
  }

  /** 90 kHz, 33-bit PTS for a 32-bit RTP timestamp of this track. */
  pts(rtpTimestamp: number): number {
    const extended = this.unwrap(rtpTimestamp);
    this.#first ??= { rtp: extended, pts: this.#anchor() };
    return modulo(this.#first.pts + this.#toPtsTicks(extended - this.#first.rtp), PTS_WRAP);
  }

  /**
   * Continuous RTP timestamp across the 32-bit wrap. Each value is placed
   * nearest to the previous one, so a small step back (a reordered packet,
   * also one from just before the wrap) is not mistaken for a wrap.
   */
  unwrap(rtpTimestamp: number): number {
    if (!Number.isInteger(rtpTimestamp) || rtpTimestamp < 0 || rtpTimestamp >= RTP_TIMESTAMP_WRAP) {
      throw new RangeError(`RtpClock: RTP timestamp must be a 32-bit unsigned integer, got ${rtpTimestamp}`);
    }
    if (this.#lastRaw !== undefined) {
      const delta = rtpTimestamp - this.#lastRaw;
      if (delta < -HALF_RTP_RANGE) this.#cycles++;
      else if (delta > HALF_RTP_RANGE) this.#cycles--;
    }
    this.#lastRaw = rtpTimestamp;
    return rtpTimestamp + this.#cycles * RTP_TIMESTAMP_WRAP;
  }

  /** Track-clock ticks -> 90 kHz ticks, split in whole seconds so days of media stay exact below 2^53. */
  #toPtsTicks(ticks: number): number {
    const seconds = Math.floor(ticks / this.clockRate);
    const rest = ticks - seconds * this.clockRate;
    return seconds * PTS_CLOCK_HZ + Math.round((rest * PTS_CLOCK_HZ) / this.clockRate);
  }
}

export interface SessionClockOptions {
  /** Wall clock in ms; default performance.now. Injected by tests. */
  now?: () => number;
  /** PTS of the session's first packet; default SESSION_BASE_PTS (10 s). */
  basePts?: number;
}

/**
 * One timeline for all tracks of a WHIP session. Each track's RTP clock starts
 * at a random offset (RFC 3550 5.1), so the tracks' timestamps cannot be
 * compared with each other. Here each track is anchored by the wall-clock time
 * its first packet arrived: pts = basePts + (wallMsAtFirst - sessionOriginMs) * 90
 * + (rtp - rtpFirst) * 90000 / clockRate, where sessionOriginMs is when the
 * session's first packet (of any track) arrived. Audio and video then line up
 * to within their difference in network delay and packetization (tens of ms).
 *
 * RTCP sender reports would be exact (RFC 3550 6.4.1: each SR pairs an NTP
 * wall-clock time with the RTP timestamp of the same instant, from one clock
 * for all of a sender's tracks), and would also follow clock drift. Browsers
 * send SRs; mapping them would need werift's receiver to surface them.
 */
export class SessionClock {
  readonly #now: () => number;
  readonly #basePts: number;
  #originMs: number | undefined;

  constructor(options: SessionClockOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#basePts = options.basePts ?? SESSION_BASE_PTS;
  }

  /** A clock for one track of the session, e.g. track(90_000) for H.264, track(48_000) for Opus. */
  track(clockRate: number): RtpClock {
    return new RtpClock(clockRate, () => {
      const now = this.#now();
      this.#originMs ??= now;
      return this.#basePts + Math.round((now - this.#originMs) * PTS_TICKS_PER_MS);
    });
  }
}
