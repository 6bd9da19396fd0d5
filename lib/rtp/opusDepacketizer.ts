import type { AudioAccessUnit } from "../accessUnit.ts";
import { opusPacketSamples } from "../codec/opus.ts";
import type { RtpItem } from "./jitterBuffer.ts";
import type { TrackClock } from "./rtpClock.ts";

/** RFC 7587: each RTP payload is one Opus packet; its duration comes from the TOC (RFC 6716 3.1). */
export class OpusDepacketizer {
  malformed = 0;
  readonly #clock: TrackClock;

  constructor(clock: TrackClock) {
    this.#clock = clock;
  }

  push(item: RtpItem): AudioAccessUnit[] {
    if ("gap" in item) return []; // Opus decoders conceal a gap on their own
    const payload = new Uint8Array(item.payload.buffer, item.payload.byteOffset, item.payload.byteLength).slice();
    const samples = opusPacketSamples(payload);
    if (samples === undefined) {
      this.malformed++;
      return [];
    }
    return [{ track: "audio", pid: 0, pts: this.#clock.pts(item.header.timestamp), samples, payload }];
  }
}
