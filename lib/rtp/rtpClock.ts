import { PTS_CLOCK_HZ, PTS_WRAP } from "../accessUnit.ts";
import { modulo, RTP_TIMESTAMP_WRAP } from "../wrapArithmetic.ts";

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
/** Sender reports that would move a track by more than this disagree with arrival too much to be trusted. */
export const MAX_SR_CORRECTION_MS = 250;
/**
 * A track's two latest reports must agree with its RTP clock to this much
 * (NTP elapsed against RTP elapsed) before they are used: werift, for one,
 * computes the NTP fraction wrongly and is off by up to a second (FACTS.md).
 */
const SR_CONSISTENCY_MS = 5;

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

  /** The first packet's 32-bit RTP timestamp and its PTS (before any wrap), once there was one. */
  get first(): { rtp: number; pts: number } | undefined {
    return this.#first && { rtp: modulo(this.#first.rtp, RTP_TIMESTAMP_WRAP), pts: this.#first.pts };
  }

  /** Moves this track's PTS from now on `ticks` (90 kHz) later: a one-off correction of its place on the timeline. */
  shift(ticks: number): void {
    if (this.#first) this.#first.pts += ticks;
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
 * Once every track has had an RTCP sender report (RFC 3550 6.4.1: each pairs
 * an NTP wall-clock time with the RTP timestamp of the same instant, on one
 * clock for all of a sender's tracks), the tracks are placed by the sender's
 * capture times instead: the arrival-time guess misses the difference in
 * encoding and packetization delay between audio and video. That correction
 * is made once, by moving tracks later only (a small gap, never timestamps
 * that go back), with reports that agree with their own RTP clock (two in a
 * row, SR_CONSISTENCY_MS), and not if they disagree with arrival by more
 * than MAX_SR_CORRECTION_MS.
 */
export class SessionClock {
  /** How much later sender reports placed each track than arrival did, in ms (applied unless over MAX_SR_CORRECTION_MS); set once. */
  srCorrectionMs: Map<RtpClock, number> | undefined;
  readonly #now: () => number;
  readonly #basePts: number;
  #originMs: number | undefined;
  readonly #tracks: RtpClock[] = [];
  /** Each track's latest sender report (NTP ms, RTP timestamp of that instant) and whether it agreed with the one before. */
  readonly #reports = new Map<RtpClock, { ntpMs: number; rtp: number; consistent: boolean }>();

  constructor(options: SessionClockOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#basePts = options.basePts ?? SESSION_BASE_PTS;
  }

  /** A clock for one track of the session, e.g. track(90_000) for H.264, track(48_000) for Opus. */
  track(clockRate: number): RtpClock {
    const clock = new RtpClock(clockRate, () => {
      const now = this.#now();
      this.#originMs ??= now;
      return this.#basePts + Math.round((now - this.#originMs) * PTS_TICKS_PER_MS);
    });
    this.#tracks.push(clock);
    return clock;
  }

  /** A sender report for `track`: NTP time (ms since 1970) and the RTP timestamp of that instant. */
  senderReport(track: RtpClock, ntpMs: number, rtpTimestamp: number): void {
    const previous = this.#reports.get(track);
    const rtpElapsedMs = previous ? (signed32(rtpTimestamp - previous.rtp) / track.clockRate) * 1000 : Infinity;
    const consistent = previous !== undefined && Math.abs(ntpMs - previous.ntpMs - rtpElapsedMs) <= SR_CONSISTENCY_MS;
    this.#reports.set(track, { ntpMs, rtp: rtpTimestamp, consistent });
    if (!this.srCorrectionMs && this.#tracks.length > 1) this.#alignBySenderReports();
  }

  /** Each track's PTS minus its first packet's capture time (90 kHz); equal for all once aligned. */
  #alignBySenderReports(): void {
    const offsets = new Map<RtpClock, number>();
    for (const track of this.#tracks) {
      const report = this.#reports.get(track);
      const first = track.first;
      if (!report?.consistent || !first) return; // not every track has a first packet and trusted reports yet
      const captureMs = report.ntpMs + (signed32(first.rtp - report.rtp) / track.clockRate) * 1000;
      offsets.set(track, first.pts - captureMs * PTS_TICKS_PER_MS);
    }
    const latest = Math.max(...offsets.values());
    const corrections = new Map(
      [...offsets].map(([track, offset]) => [track, (latest - offset) / PTS_TICKS_PER_MS] as const),
    );
    this.srCorrectionMs = corrections;
    if (Math.max(...corrections.values()) > MAX_SR_CORRECTION_MS) return; // reports that far off arrival are not trusted
    for (const [track, ms] of corrections) track.shift(Math.round(ms * PTS_TICKS_PER_MS));
  }
}

/** A 32-bit difference as a signed distance (RTP timestamps near each other). */
function signed32(difference: number): number {
  return difference | 0;
}
