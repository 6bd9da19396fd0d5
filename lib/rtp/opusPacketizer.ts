import type { AudioAccessUnit } from "../accessUnit.ts";
import type { RtpPayload } from "./rtpPayload.ts";
import { OpusTimestampMapper } from "./timestamps.ts";

/**
 * RFC 7587: one Opus packet per RTP payload, timestamp at 48 kHz. The marker
 * bit stays clear (it may only flag the first packet after DTX, 4.1). The
 * payload is the demuxer's bytes, not a copy.
 */
export class OpusPacketizer {
  readonly #timestamps = new OpusTimestampMapper();

  packetize(unit: AudioAccessUnit): RtpPayload[] {
    return [{ payload: unit.payload, marker: false, timestamp: this.#timestamps.rtpTimestamp(unit.pts) }];
  }
}
