import { randomInt } from "node:crypto";
import type { RtpPayload } from "../rtp/rtpPayload.ts";
import type { RtpSendPath } from "./directRtpSender.ts";

const UINT32 = 2 ** 32;

/**
 * One viewer's RTP state for one track: its own sequence numbers and timestamp
 * offset (RFC 3550 5.1: both start random), applied to the stream's shared
 * payloads, which are never modified.
 */
export class OutgoingTrack {
  packetsSent = 0;
  /** RFC 3711 3.3.1 packet index: rollover counter (starts at 0) * 65536 + sequence number (starts random). */
  #packetIndex = randomInt(0, 0x10000);
  #timestampOffset = randomInt(0, 0xffffffff);
  #lastTimestamp: number | undefined;
  #rebasePending = false;

  /** `frameStep`: RTP ticks of a typical frame, used to join two sessions (3000 at 90 kHz 30 fps, 960 for 20 ms Opus). */
  constructor(
    readonly path: RtpSendPath,
    readonly frameStep: number,
  ) {}

  /**
   * After a source switch (publisher reconnect, new request ID) the next frame
   * continues one frame after the last one sent, so the viewer's timeline stays
   * monotonic and the decoder just sees the next keyframe.
   */
  rebase(): void {
    this.#rebasePending = this.#lastTimestamp !== undefined;
  }

  /**
   * Sends one frame's payloads, synchronously. `timestampShift` moves this
   * frame's timestamps later (fast-start catch-up). `mediaTimeMs`: the
   * frame's time on the stream's media clock, for sender reports; omitted
   * for catch-up frames, whose squeezed timestamps are off that clock.
   */
  send(packets: RtpPayload[], timestampShift = 0, mediaTimeMs?: number): void {
    let timestamp = 0;
    for (const payload of packets) {
      timestamp = this.#timestamp(payload.timestamp, timestampShift);
      this.#packetIndex++;
      if (this.path.send(this.#packetIndex, timestamp, payload.marker, payload.payload)) this.packetsSent++;
    }
    if (packets.length > 0 && mediaTimeMs !== undefined) this.path.markSent(timestamp, mediaTimeMs);
  }

  #timestamp(source: number, shift: number): number {
    if (this.#rebasePending) {
      this.#timestampOffset = mod32(this.#lastTimestamp! + this.frameStep - source);
      this.#rebasePending = false;
    }
    const timestamp = mod32(source + this.#timestampOffset + shift);
    this.#lastTimestamp = timestamp;
    return timestamp;
  }
}

function mod32(value: number): number {
  return ((value % UINT32) + UINT32) % UINT32;
}
