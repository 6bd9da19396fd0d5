import { PTS_WRAP } from "../accessUnit.ts";
import { nearestDistance } from "../wrapArithmetic.ts";

const PTS_PER_MS = 90;
/** A frame this much later than the clock says is a jump in the source (or drift): the clock starts again. */
const MAX_LATENESS_MS = 2000;

/** Wall-clock milliseconds (the Date.now() epoch) with performance.now()'s resolution. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * One stream's media clock: the wall-clock time each PTS stands for, shared
 * by its tracks. Anchored on the earliest-arriving frames (a frame that
 * arrives before its time moves the anchor back), so any frame's lateness,
 * arrival minus mediaTime(pts), is >= 0 and says how long after the stream's
 * most punctual frames it came: ~0 for video, tens of ms for audio that
 * ffmpeg packs several packets to a PES.
 *
 * Sender reports need it (RFC 3550 6.4.1): their RTP timestamp must be the
 * one that corresponds to the NTP time "now" on a clock common to audio and
 * video, not that of whatever packet went last, or the receiver's lip sync
 * is off by the difference in the tracks' lateness.
 */
export class MediaClock {
  #anchorPts: number | undefined;
  #anchorMs = 0;

  /** The wall-clock time of `pts` on this clock, learning from a frame that arrived at `arrivalMs`. */
  observe(pts: number, arrivalMs = wallClockMs()): number {
    if (this.#anchorPts === undefined) return this.#anchor(pts, arrivalMs);
    const mediaTime = this.#anchorMs + ptsDelta(pts, this.#anchorPts) / PTS_PER_MS;
    const lateness = arrivalMs - mediaTime;
    if (lateness < 0 || lateness > MAX_LATENESS_MS) return this.#anchor(pts, arrivalMs);
    return mediaTime;
  }

  #anchor(pts: number, arrivalMs: number): number {
    this.#anchorPts = pts;
    this.#anchorMs = arrivalMs;
    return arrivalMs;
  }
}

/** a - b in 90 kHz ticks across the 33-bit wrap (ISO/IEC 13818-1 2.4.3.7), the nearest way round. */
function ptsDelta(a: number, b: number): number {
  return nearestDistance(b, a, PTS_WRAP);
}
