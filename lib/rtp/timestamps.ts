import { PTS_WRAP } from "../accessUnit.ts";
import { modulo, RTP_TIMESTAMP_WRAP } from "../wrapArithmetic.ts";

/** A step of more than half the 33-bit PTS range is taken as a wrap, not a jump. */
const HALF_PTS_RANGE = PTS_WRAP / 2;
/** Opus RTP clock (RFC 7587 4.1) over the MPEG-TS clock: 48000 / 90000 = 8 / 15. */
const OPUS_TICKS_PER_PTS_NUMERATOR = 8;
const OPUS_TICKS_PER_PTS_DENOMINATOR = 15;

function checkInteger(what: string, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what}: expected an integer 90 kHz timestamp, got ${value}`);
}

/**
 * 33-bit 90 kHz PTS -> 32-bit 90 kHz RTP timestamp (RFC 6184 5.1: 90 kHz).
 * Truncation is exact: 2^33 is a multiple of 2^32, so the RTP timeline runs on
 * seamlessly across the PTS wrap (2^33 - 1 -> 2^32 - 1, then 0 -> 0).
 * Unwrapped (larger or negative) values map the same way.
 */
export function videoRtpTimestamp(pts: number): number {
  checkInteger("videoRtpTimestamp", pts);
  return modulo(pts, RTP_TIMESTAMP_WRAP);
}

/**
 * Makes 33-bit PTS values continuous across the wrap (ISO/IEC 13818-1
 * 2.4.3.7: PTS counts modulo 2^33). Each value is placed nearest to the
 * previous one: a difference of more than 2^32 either way is a wrap, anything
 * smaller is a real step (B-frame reordering, interleaved tracks), so a value
 * from just before the wrap arriving after one from just after it is not
 * mistaken for a wrap. Inputs outside 0 .. 2^33 - 1 are taken modulo 2^33.
 */
export class PtsUnwrapper {
  #last: number | undefined;

  unwrap(pts33: number): number {
    checkInteger("PtsUnwrapper.unwrap", pts33);
    const pts = modulo(pts33, PTS_WRAP);
    if (this.#last === undefined) {
      this.#last = pts;
      return pts;
    }
    let delta = pts - modulo(this.#last, PTS_WRAP); // -(2^33 - 1) .. 2^33 - 1
    if (delta < -HALF_PTS_RANGE) delta += PTS_WRAP; // wrapped forward: 2^33 - 10 -> 5
    else if (delta > HALF_PTS_RANGE) delta -= PTS_WRAP; // a late value from before the wrap
    this.#last += delta;
    return this.#last;
  }
}

/**
 * Opus RTP timestamps (48 kHz, RFC 7587 4.1) from 33-bit 90 kHz PTS: unwrap
 * first, then scale by 8/15, then truncate to 32 bits. Scaling the wrapped PTS
 * instead jumps at every 33-bit wrap (go-livepeer's bug), because
 * 2^33 * 8/15 is not a multiple of 2^32 (nor even an integer).
 *
 * Rounding is to the nearest 48 kHz tick and cannot tie: pts * 8 / 15 has a
 * fractional part k/15, never 1/2. So two PTS values 1800 apart (20 ms) always
 * map exactly 960 apart. The arithmetic is exact: pts * 8 stays far below
 * 2^53 for centuries of unwrapped PTS, and the float quotient is at least 1/30
 * away from any rounding boundary.
 */
export class OpusTimestampMapper {
  readonly #unwrapper = new PtsUnwrapper();

  rtpTimestamp(pts33: number): number {
    const pts = this.#unwrapper.unwrap(pts33);
    const ticks48k = Math.round((pts * OPUS_TICKS_PER_PTS_NUMERATOR) / OPUS_TICKS_PER_PTS_DENOMINATOR);
    return modulo(ticks48k, RTP_TIMESTAMP_WRAP);
  }
}
