import type { AudioAccessUnit } from "../accessUnit.ts";
import type { RtpPayload } from "./rtpPayload.ts";
import { OpusTimestampMapper } from "./timestamps.ts";

/**
 * Opus RTP packetizer, RFC 7587: one Opus packet per RTP payload (4.2), the
 * timestamp on the 48 kHz clock whatever the coded rate (4.1). The marker bit
 * may only flag the first packet after DTX (4.1); we do not track DTX, so it
 * stays clear. The payload is the demuxer's bytes, not a copy: it is shared by
 * every viewer and must never be mutated.
 */
export class OpusPacketizer {
  readonly #timestamps = new OpusTimestampMapper();

  packetize(unit: AudioAccessUnit): RtpPayload[] {
    return [{ payload: unit.payload, marker: false, timestamp: this.#timestamps.rtpTimestamp(unit.pts) }];
  }
}
