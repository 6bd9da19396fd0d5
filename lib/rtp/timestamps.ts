import { PTS_WRAP } from "../accessUnit.ts";

const UINT32 = 2 ** 32;

/**
 * 33-bit 90 kHz PTS -> 32-bit 90 kHz RTP timestamp. Truncation is exact: 2^33
 * is a multiple of 2^32, so the RTP timeline continues seamlessly across the
 * PTS wrap.
 */
export function videoRtpTimestamp(pts: number): number {
  return pts % UINT32;
}

/**
 * Makes 33-bit PTS values continuous across the wrap: a step back of more
 * than half the range (2^32) is a wrap, anything smaller is reordering.
 */
export class PtsUnwrapper {
  #last: number | undefined;
  #wraps = 0;

  unwrap(pts33: number): number {
    if (this.#last !== undefined) {
      const delta = pts33 - this.#last;
      if (delta < -(PTS_WRAP / 2)) this.#wraps++;
      else if (delta > PTS_WRAP / 2) this.#wraps--;
    }
    this.#last = pts33;
    return pts33 + this.#wraps * PTS_WRAP;
  }
}

/**
 * Opus RTP timestamps (48 kHz, RFC 7587 4.1) from 33-bit PTS: unwrap first,
 * then scale by 48000/90000 = 8/15, then truncate to 32 bits. Scaling the
 * wrapped value instead would jump at every 33-bit wrap (go-livepeer's bug),
 * because 2^33 * 8/15 is not a multiple of 2^32.
 */
export class OpusTimestampMapper {
  readonly #unwrapper = new PtsUnwrapper();

  rtpTimestamp(pts33: number): number {
    const ticks48k = Math.round((this.#unwrapper.unwrap(pts33) * 8) / 15);
    return ((ticks48k % UINT32) + UINT32) % UINT32;
  }
}
