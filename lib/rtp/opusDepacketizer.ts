import type { AudioAccessUnit } from "../accessUnit.ts";
import { opusPacketSamples } from "../codec/opus.ts";
import { isGap, type RtpItem } from "./jitterBuffer.ts";
import type { RtpClock } from "./rtpClock.ts";

export interface OpusDepacketizerOptions {
  /** Malformed Opus packets (also counted in stats.malformed); they are dropped. */
  onDecodeError?: (message: string) => void;
}

export interface OpusDepacketizerStats {
  accessUnits: number;
  malformed: number;
  /** RTP packets reported missing by the jitter buffer. */
  lost: number;
}

/**
 * RFC 7587: each RTP payload is exactly one Opus packet (4.2), on a 48 kHz
 * RTP clock whatever the audio's real sample rate (4.1). Its duration comes
 * from the TOC byte (RFC 6716 3.1). Lost packets are not filled in: the gap
 * shows as a jump in PTS, and Opus decoders conceal it (RFC 6716 4.4).
 */
export class OpusDepacketizer {
  readonly stats: OpusDepacketizerStats = { accessUnits: 0, malformed: 0, lost: 0 };
  readonly #clock: RtpClock;
  readonly #onDecodeError: (message: string) => void;

  constructor(clock: RtpClock, options: OpusDepacketizerOptions = {}) {
    this.#clock = clock;
    this.#onDecodeError = options.onDecodeError ?? (() => {});
  }

  push(item: RtpItem): AudioAccessUnit[] {
    if (isGap(item)) {
      this.stats.lost += item.gap;
      return [];
    }
    const { payload: buffer, header } = item;
    if (buffer.byteLength === 0) return []; // padding only (RFC 3550 5.1 P bit)
    const payload = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength).slice();
    const samples = opusPacketSamples(payload);
    if (samples === undefined) {
      this.stats.malformed++;
      const toc = `0x${payload[0]!.toString(16).padStart(2, "0")}`;
      this.#onDecodeError(`Opus packet of ${payload.length} bytes, TOC ${toc}, has no valid duration (RFC 6716 3.1)`);
      return [];
    }
    this.stats.accessUnits++;
    return [{ track: "audio", pid: 0, pts: this.#clock.pts(header.timestamp), samples, payload }];
  }
}
